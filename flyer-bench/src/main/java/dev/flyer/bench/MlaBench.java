package dev.flyer.bench;

import dev.flyer.bench.internal.MlaPeers;
import dev.flyer.bench.internal.OpenBlas;
import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.mla.Attention;
import dev.flyer.mla.DecodeOptions;
import dev.flyer.mla.FlashMla;
import dev.flyer.mla.KvCacheFormat;
import dev.flyer.mla.MlaMetadata;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * {@code flyer bench mla}: FlashMLA decode on FlashMLA's benchmark shapes (d = 576, dv = 512,
 * mean seqlen 4096 with variation, and ragged batches of lengths 1..8192) beside the
 * OpenBLAS-composed peer and a straightforward Java implementation, against this machine's FMA peak
 * and memory bandwidth.
 *
 * <p>Memory-bound shapes ({@code s_q·h_q <= 2}) use at least 16 sequences (75 MB of cache) so the
 * cache cannot sit in L3. FLOPs are FlashMLA's count {@code 2·s_q·h_q·Σseqlen·(d + dv)}; bytes are the cache bytes
 * read plus q and out. The straightforward peer is timed on the first sequences only (it is
 * ~100x slower) and reported as a rate. Row names carry {@code b=… s_q=… h_q=… seqlen=… cache=…}.
 */
public final class MlaBench {
    static final int D = 576;
    static final int DV = 512;

    /** One benchmark shape; {@code seqlen = -1} means ragged (uniform 1..8192). */
    record Shape(int b, int sQ, int hQ, int seqlen, KvCacheFormat format) {
        String name() {
            return "b=" + b + " s_q=" + sQ + " h_q=" + hQ + " seqlen=" + (seqlen < 0 ? "1..8192" : seqlen + "±1024")
                    + " cache=" + format.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private MlaBench() {}

    public static int steps(boolean quick) {
        return shapes(quick).size() + 1;
    }

    static List<Shape> shapes(boolean quick) {
        List<Shape> out = new ArrayList<>();
        int b = quick ? 4 : 32;
        if (quick) {
            out.add(new Shape(16, 1, 1, 4096, KvCacheFormat.BF16));
            out.add(new Shape(16, 2, 1, 4096, KvCacheFormat.BF16));
            out.add(new Shape(b, 1, 16, 4096, KvCacheFormat.BF16));
            out.add(new Shape(b, 2, 64, 4096, KvCacheFormat.BF16));
            out.add(new Shape(b, 1, 128, 4096, KvCacheFormat.BF16));
            out.add(new Shape(b, 1, 128, 4096, KvCacheFormat.FP8));
            out.add(new Shape(8, 1, 128, -1, KvCacheFormat.BF16));
            out.add(new Shape(8, 1, 16, -1, KvCacheFormat.BF16));
            return out;
        }
        for (int sQ : new int[] {1, 2}) {
            out.add(new Shape(b, sQ, 1, 4096, KvCacheFormat.BF16));
            for (int hQ : new int[] {16, 32, 64, 128}) {
                out.add(new Shape(b, sQ, hQ, 4096, KvCacheFormat.BF16));
            }
        }
        out.add(new Shape(b, 1, 64, 4096, KvCacheFormat.FP8));
        out.add(new Shape(b, 1, 128, 4096, KvCacheFormat.FP8));
        for (int hQ : new int[] {16, 64, 128}) {
            out.add(new Shape(b, 1, hQ, -1, KvCacheFormat.BF16));
        }
        return out;
    }

    public static BenchReport run(boolean quick, Progress progress) {
        MachineLimits limits = MachineBench.quickLimits();
        Optional<OpenBlas> blas = OpenBlas.load();
        blas.ifPresent(o -> o.setThreads(ComputePool.shared().threads()));
        BenchReport report = new BenchReport("flyer bench mla (FlashMLA decode, d=576 dv=512, paged cache of 64-token blocks)");
        progress.step("warming up the kernels");
        warmUp();
        progress.done();
        for (Shape s : shapes(quick)) {
            progress.step(s.name());
            measure(s, blas, limits, quick, report);
            progress.done();
        }
        report.note("FLOPs = 2·s_q·h_q·Σseqlen·(576+512) (FlashMLA's count); bytes = cache bytes read + q + out");
        report.note("straightforward Java peer timed on its first sequences only; OpenBLAS peer on FP32 copies made beforehand");
        if (blas.isEmpty()) {
            report.note("OpenBLAS (libopenblas0) is not installed: the composed peer is missing");
        }
        return report;
    }

    private static void measure(Shape s, Optional<OpenBlas> blas, MachineLimits limits, boolean quick, BenchReport report) {
        SplittableRandom random = new SplittableRandom(s.hashCode());
        int[] seqlens = new int[s.b()];
        long total = 0;
        for (int i = 0; i < s.b(); i++) {
            seqlens[i] = s.seqlen() < 0 ? 1 + random.nextInt(8192) : s.seqlen() - 1024 + random.nextInt(2049);
            total += seqlens[i];
        }
        int rows = s.sQ() * s.hQ();
        try (Arena arena = Arena.ofShared()) {
            Problem p = Problem.build(arena, seqlens, rows, s, random);
            float scale = (float) Math.pow(D, -0.5);
            DecodeOptions options = DecodeOptions.mla().withScale(scale).withFormat(s.format());
            MlaMetadata meta = FlashMla.metadata(seqlens, s.sQ(), s.hQ());
            Attention result = FlashMla.decode(p.q, p.cache, p.blockTable, seqlens, meta, options);
            double flops = 2.0 * rows * total * (D + DV);
            double bytes = total * s.format().tokenBytes(D) + 2.0 * rows * s.b() * (D + DV);
            long warm = quick ? 300_000_000L : 1_000_000_000L;
            int samples = quick ? 3 : 5;
            Runnable peerRun = blas.map(o -> {
                MlaPeers.Fp32Copies c = MlaPeers.copies(arena, p.bf16Cache, p.blockTable, p.maxBlocks, seqlens, p.qFloats,
                        rows, D, DV);
                return (Runnable) () -> MlaPeers.openBlas(o, c, seqlens, rows, D, DV, scale);
            }).orElse(null);
            double[] seconds = Measure.bestSecondsAlternating(2, warm, samples, () -> FlashMla.decode(p.q, p.cache,
                    p.blockTable, seqlens, meta, options, result.out(), result.lse()), peerRun);
            double ours = seconds[0];
            double peer = seconds[1];
            report.add(new BenchRow(s.name(), "GFLOP/s", flops / ours / 1e9, flops / peer / 1e9, "OpenBLAS-composed",
                    limits.fmaGflopsAll()));
            int count = naiveCount(seqlens, rows);
            long naiveTokens = 0;
            for (int i = 0; i < count; i++) {
                naiveTokens += seqlens[i];
            }
            double naiveFlops = 2.0 * rows * naiveTokens * (D + DV);
            double naive = Measure.bestSeconds(() -> MlaPeers.naive(p.bf16Cache, p.blockTable, p.maxBlocks, seqlens, count,
                    p.qFloats, rows, D, DV, scale), 0, 1);
            report.add(new BenchRow(s.name() + " vs plain Java", "GFLOP/s", flops / ours / 1e9, naiveFlops / naive / 1e9,
                    "straightforward Java", limits.fmaGflopsAll()));
            report.add(new BenchRow(s.name() + " memory", "GB/s", bytes / ours / 1e9, Double.NaN, "", limits.copyGBsAll()));
        }
    }

    /** Sequences the straightforward peer runs: about 0.3 GFLOP of work, at least one sequence. */
    private static int naiveCount(int[] seqlens, int rows) {
        double budget = 3e8;
        int count = 0;
        double work = 0;
        while (count < seqlens.length && (count == 0 || work < budget)) {
            work += 2.0 * rows * seqlens[count] * (D + DV);
            count++;
        }
        return count;
    }

    /** The cache (BF16, and FP8 when asked), a shuffled block table and BF16 queries. */
    private record Problem(Tensor q, float[] qFloats, Tensor cache, MemorySegment bf16Cache, int[] blockTable,
                           int maxBlocks) {
        static Problem build(Arena arena, int[] seqlens, int rows, Shape s, SplittableRandom random) {
            int maxBlocks = 1;
            int blocks = 0;
            for (int len : seqlens) {
                maxBlocks = Math.max(maxBlocks, (len + 63) / 64);
                blocks += (len + 63) / 64;
            }
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < blocks; i++) {
                ids.add(i);
            }
            Collections.shuffle(ids, new java.util.Random(random.nextLong()));
            int[] table = new int[seqlens.length * maxBlocks];
            int next = 0;
            for (int i = 0; i < seqlens.length; i++) {
                for (int j = 0; j < (seqlens[i] + 63) / 64; j++) {
                    table[i * maxBlocks + j] = ids.get(next++);
                }
            }
            Tensor bf16 = Tensor.allocate(arena, DType.BF16, Math.max(1, blocks), 64, 1, D);
            MemorySegment seg = bf16.data();
            for (long i = 0; i < bf16.numel(); i++) {
                seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Bf16.encode((float) (random.nextDouble() * 2 - 1)));
            }
            Tensor cache = bf16;
            if (s.format() == KvCacheFormat.FP8) {
                cache = Tensor.allocate(arena, DType.U8, Math.max(1, blocks), 64, 1, KvCacheFormat.FP8_TOKEN_BYTES);
                float[] token = new float[D];
                for (long t = 0; t < (long) Math.max(1, blocks) * 64; t++) {
                    for (int c = 0; c < D; c++) {
                        token[c] = Bf16.decode(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, t * D + c));
                    }
                    KvCacheFormat.quantizeToken(token, cache.data(), t * KvCacheFormat.FP8_TOKEN_BYTES);
                }
            }
            Tensor q = Tensor.allocate(arena, DType.BF16, seqlens.length, s.sQ(), s.hQ(), D);
            float[] qFloats = new float[seqlens.length * rows * D];
            for (int i = 0; i < qFloats.length; i++) {
                short bits = Bf16.encode((float) random.nextGaussian());
                q.data().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, bits);
                qFloats[i] = Bf16.decode(bits);
            }
            return new Problem(q, qFloats, cache, seg, table, maxBlocks);
        }
    }

    /** Many small calls of every tile shape so C2 compiles the kernels before any timed shape. */
    private static void warmUp() {
        try (Arena arena = Arena.ofShared()) {
            SplittableRandom random = new SplittableRandom(3);
            for (int hQ : new int[] {1, 16, 32, 64, 128}) {
                int[] seqlens = {300, 129};
                Shape s = new Shape(2, 1, hQ, 300, KvCacheFormat.BF16);
                Problem p = Problem.build(arena, seqlens, hQ, s, random);
                MlaMetadata meta = FlashMla.metadata(seqlens, 1, hQ);
                DecodeOptions options = DecodeOptions.mla();
                Attention r = FlashMla.decode(p.q, p.cache, p.blockTable, seqlens, meta, options);
                for (int i = 0; i < 300; i++) {
                    FlashMla.decode(p.q, p.cache, p.blockTable, seqlens, meta, options, r.out(), r.lse());
                }
            }
        }
    }
}
