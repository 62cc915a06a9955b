package dev.flyer.bench;

import dev.flyer.bench.internal.NativePeers;
import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.gemm.Gemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The FP8 decode GEMV (one activation row, E4M3 weight with 128x128 scales) from DRAM, as a
 * decode step meets its weights: flyer-gemm's {@link Gemm#weightOnlyNt} beside the same loop
 * compiled by C ({@code flyer_fp8_gemv} in {@code peers.c}), both on every core of the pool.
 *
 * <p>Implementation notes: the weight is copied until the copies fill 256 MiB and the calls cycle
 * through them, so no call finds its weight in cache (a decode token reads every weight once).
 * Codes are random with the bits {@code 0x77} (no NaN codes); scales are 1; A is random (the C
 * loop takes it in quarter order, which changes the sums, not the work; {@code Fp8GemvPeerTest}
 * checks the two agree on equal inputs). The C peer gets the same rows split evenly over the
 * pool's threads. Rates are bytes of codes per second, the best of rounds that alternate the two
 * after one untimed pass of each.
 */
final class ColdGemv {
    private static final long WORKING_SET_BYTES = 256L << 20;

    private ColdGemv() {}

    /** {ours GB/s, C peer GB/s (NaN without a C compiler)} for an {@code n x k} weight. */
    static double[] measure(int n, int k, boolean quick) {
        long bytes = (long) n * k;
        int copies = (int) Math.max(2, WORKING_SET_BYTES / bytes);
        int threads = ComputePool.shared().threads();
        Optional<NativePeers> peer = NativePeers.load();
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom random = new SplittableRandom(7);
            QuantizedTensor[] w = new QuantizedTensor[copies];
            Tensor scales = Tensor.allocate(arena, DType.F32, (n + 127) / 128, k / 128);
            MemorySegment peerScales = arena.allocate(scales.byteSize(), 64);
            for (long i = 0; i < scales.numel(); i++) {
                scales.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f);
                peerScales.setAtIndex(ValueLayout.JAVA_FLOAT, i, 0x1p120f);
            }
            for (int c = 0; c < copies; c++) {
                Tensor codes = Tensor.allocate(arena, DType.F8_E4M3, n, k);
                for (long i = 0; i < bytes; i += 8) {
                    codes.data().set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong() & 0x7777_7777_7777_7777L);
                }
                w[c] = new QuantizedTensor(codes, scales, 128, 128);
            }
            Tensor a = Tensor.allocate(arena, DType.F32, 1, k);
            for (int i = 0; i < k; i++) {
                a.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
            }
            Tensor out = Tensor.allocate(arena, DType.F32, 1, n);
            Runnable ours = () -> {
                for (QuantizedTensor q : w) {
                    Gemm.weightOnlyNt(a, q, out);
                }
            };
            Runnable c = () -> {
                for (QuantizedTensor q : w) {
                    ComputePool.shared().parallelFor(threads, (t, worker) -> peer.orElseThrow().fp8Gemv(a.data(), k,
                            peerScales, q.values().data(), (long) n * t / threads, (long) n * (t + 1) / threads,
                            out.data()));
                }
            };
            ours.run();
            if (peer.isPresent()) {
                c.run();
            }
            double[] best = {0, peer.isPresent() ? 0 : Double.NaN};
            for (int r = 0; r < (quick ? 4 : 8); r++) { // alternating, so a drift of the machine hits both
                best[0] = Math.max(best[0], rate(ours, copies * bytes));
                if (peer.isPresent()) {
                    best[1] = Math.max(best[1], rate(c, copies * bytes));
                }
            }
            return best;
        }
    }

    private static double rate(Runnable body, long bytes) {
        long t0 = System.nanoTime();
        body.run();
        return bytes / ((System.nanoTime() - t0) / 1e9) / 1e9;
    }
}
