package dev.flyer.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.bench.internal.NativePeers;
import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.gemm.Gemm;
import dev.flyer.gemm.internal.SkinnyKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The C peer of the FP8 decode GEMV ({@code flyer_fp8_gemv}) computes what flyer-gemm's one-row
 * kernel computes (where a C compiler is installed): the same products, summed in another order.
 */
class Fp8GemvPeerTest {
    @Test
    void cLoopAgreesWithFlyersOneRowFp8Gemv() {
        Optional<NativePeers> peers = NativePeers.load();
        Assumptions.assumeTrue(peers.isPresent(), "no C compiler");
        int n = 200; // two scale rows, the second partial
        int k = 384;
        long seed = 11;
        System.out.println("Fp8GemvPeerTest seed " + seed);
        Random random = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            Tensor codes = Tensor.allocate(arena, DType.F8_E4M3, n, k);
            for (long i = 0; i < codes.numel(); i++) {
                codes.data().set(ValueLayout.JAVA_BYTE, i, (byte) (random.nextInt(256) & 0xF7)); // no NaN codes
            }
            Tensor scales = Tensor.allocate(arena, DType.F32, 2, k / 128);
            MemorySegment peerScales = arena.allocate(scales.byteSize(), 64);
            for (long i = 0; i < scales.numel(); i++) {
                float s = (float) Math.scalb(1.0 + random.nextDouble(), random.nextInt(8) - 10);
                scales.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, s);
                peerScales.setAtIndex(ValueLayout.JAVA_FLOAT, i, s * 0x1p120f);
            }
            Tensor a = Tensor.allocate(arena, DType.F32, 1, k);
            float[] values = new float[k];
            for (int i = 0; i < k; i++) {
                values[i] = (float) random.nextGaussian();
                a.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, values[i]);
            }
            float[] quartered = new float[k];
            SkinnyKernel.toQuarterOrder(values, 1, k, quartered);
            MemorySegment peerA = arena.allocate(4L * k, 64);
            MemorySegment.copy(quartered, 0, peerA, ValueLayout.JAVA_FLOAT, 0, k);
            Tensor ours = Tensor.allocate(arena, DType.F32, 1, n);
            Gemm.weightOnlyNt(a, new QuantizedTensor(codes, scales, 128, 128), ours);
            MemorySegment theirs = arena.allocate(4L * n, 64);
            peers.get().fp8Gemv(peerA, k, peerScales, codes.data(), 0, 120, theirs);
            peers.get().fp8Gemv(peerA, k, peerScales, codes.data(), 120, n, theirs);
            for (int j = 0; j < n; j++) {
                float x = ours.data().getAtIndex(ValueLayout.JAVA_FLOAT, j);
                float y = theirs.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                assertThat((double) y).as("column %d", j).isCloseTo(x, org.assertj.core.data.Offset.offset(
                        1e-4 * (1 + Math.abs(x))));
            }
        }
    }
}
