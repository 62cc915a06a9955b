package dev.flyer.ep;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A port of DeepEP's {@code tests/legacy/test_low_latency.py} at small sizes: tokens carry
 * {@code rank - 128} in the body and their index in the last 128 channels; per-expert counts,
 * layout ranges, source indices and payloads are checked for every mode (BF16, FP8, rounded
 * scales, UE8M0, hook), and combine with identity experts returns {@code x · Σ valid weights}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LowLatencyTest {
    private static final int RANKS = 4;
    private static final int TOKENS = 24;
    private static final int MAX_TOKENS = 32;
    private static final int HIDDEN = 512;
    private static final int EXPERTS = 16;
    private static final int TOPK = 4;

    private record Mode(boolean fp8, boolean round, boolean ue8m0, boolean hook) {}

    static List<Mode> modes() {
        List<Mode> m = new ArrayList<>();
        for (boolean hook : new boolean[] {false, true}) {
            m.add(new Mode(false, false, false, hook));
            m.add(new Mode(true, false, false, hook));
            m.add(new Mode(true, true, false, hook));
            m.add(new Mode(true, true, true, hook));
        }
        return m;
    }

    @Test
    void everyModeOnSharedMemory() throws Exception {
        runAll(EpJob.shm(RANKS, EpConfig.defaults().withLowLatencyBytes(1L << 30).withCommThreads(2)), false);
    }

    @Test
    void everyModeAcrossTwoNodesOverTcp() throws Exception {
        runAll(EpJob.nodes(RANKS, 2, true), false);
    }

    @Test
    void heavyImbalanceAllTokensToRankZero() throws Exception {
        runAll(EpJob.shm(RANKS, EpConfig.defaults().withLowLatencyBytes(1L << 30)), true);
    }

    @Test
    void deterministicAndHookEqualsBlocking() throws Exception {
        long seed = System.nanoTime();
        System.out.println("LowLatencyTest.deterministic seed=" + seed);
        try (EpJob job = EpJob.shm(RANKS, EpConfig.defaults().withLowLatencyBytes(1L << 30))) {
            job.onAll(rank -> {
                Routing routing = EpJob.routing(seed + rank, TOKENS, TOPK, EXPERTS, 10);
                java.util.Random rnd = new java.util.Random(seed ^ rank);
                try (Arena arena = Arena.ofShared()) {
                    Tensor x = EpJob.bf16(arena, TOKENS, HIDDEN, (t, c) -> (float) rnd.nextGaussian());
                    byte[] first = null;
                    for (int rep = 0; rep < 20; rep++) {
                        boolean hook = rep % 2 == 1;
                        LowLatencyDispatchResult d = buffer(job, rank).lowLatencyDispatch(
                                LowLatencyDispatchRequest.of(x, routing, MAX_TOKENS, EXPERTS).withHook(hook)).await();
                        Tensor expertOut = Tensor.allocate(arena, DType.BF16, EXPERTS / RANKS, (long) RANKS * MAX_TOKENS,
                                HIDDEN);
                        for (int i = 0; i < EXPERTS / RANKS; i++) {
                            float[] v = rows(d, i, d.recvCount()[i], new Mode(true, false, false, hook));
                            for (int j = 0; j < v.length; j++) {
                                expertOut.setFloat(v[j], i, j / HIDDEN, j % HIDDEN);
                            }
                        }
                        Tensor out = buffer(job, rank).lowLatencyCombine(LowLatencyCombineRequest.of(expertOut, routing,
                                d.handle()).withHook(hook)).await();
                        byte[] bytes = out.data().toArray(ValueLayout.JAVA_BYTE);
                        if (first == null) {
                            first = bytes;
                        }
                        assertThat(bytes).as("repetition " + rep + (hook ? " (hook)" : "")).isEqualTo(first);
                    }
                }
                return null;
            });
        }
    }

    private static EpBuffer buffer(EpJob job, int rank) {
        return job.buffers.get(rank);
    }

    private void runAll(EpJob job, boolean imbalanced) throws Exception {
        long seed = System.nanoTime();
        System.out.println("LowLatencyTest seed=" + seed);
        List<Routing> routings = new ArrayList<>();
        for (int r = 0; r < RANKS; r++) {
            routings.add(imbalanced ? EpJob.routing(seed + r, TOKENS, TOPK, EXPERTS / RANKS, 3)
                    : EpJob.routing(seed + r, TOKENS, TOPK, EXPERTS, 10));
        }
        try (job) {
            job.onAll(rank -> {
                for (Mode mode : modes()) {
                    check(job.buffers.get(rank), rank, routings, mode);
                }
                return null;
            });
        }
    }

    private static void check(EpBuffer buffer, int rank, List<Routing> routings, Mode mode) {
        int local = EXPERTS / RANKS;
        Routing routing = routings.get(rank);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = EpJob.bf16(arena, TOKENS, HIDDEN, (t, c) -> c >= HIDDEN - 128 ? t : rank - 128);
            LowLatencyDispatchRequest req = LowLatencyDispatchRequest.of(x, routing, MAX_TOKENS, EXPERTS)
                    .withFp8(mode.fp8(), mode.round(), mode.ue8m0()).withHook(mode.hook());
            int[] stats = new int[local];
            EpFuture<LowLatencyDispatchResult> pending = buffer.lowLatencyDispatch(req.withStats(stats));
            LowLatencyDispatchResult d = pending.await();
            assertThat(d.recvX().dtype()).isEqualTo(mode.fp8() ? DType.F8_E4M3 : DType.BF16);
            assertThat(stats).containsExactly(d.recvCount());
            float[][] values = new float[local][];
            for (int i = 0; i < local; i++) {
                int e = rank * local + i;
                int global = 0;
                for (Routing other : routings) {
                    global += (int) Arrays.stream(other.topkIdx()).filter(v -> v == e).count();
                }
                assertThat(d.recvCount()[i]).as(mode + " expert " + e).isEqualTo(global);
                int sum = 0;
                for (int s = 0; s < RANKS; s++) {
                    long range = d.handle().layoutRange(i, s);
                    int begin = (int) (range >>> 32);
                    int count = (int) range;
                    assertThat(begin).isEqualTo(sum);
                    sum += count;
                    Routing src = routings.get(s);
                    int[] want = new int[TOKENS * TOPK];
                    int n = 0;
                    for (int t = 0; t < TOKENS; t++) {
                        for (int k = 0; k < TOPK; k++) {
                            if (src.expert(t, k) == e) {
                                want[n++] = t;
                            }
                        }
                    }
                    assertThat(count).isEqualTo(n);
                    for (int row = begin; row < begin + count; row++) {
                        assertThat(d.handle().srcInfo(i, row)).isEqualTo(want[row - begin]);
                    }
                }
                assertThat(sum).isEqualTo(d.recvCount()[i]);
                values[i] = rows(d, i, d.recvCount()[i], mode);
                for (int row = 0; row < d.recvCount()[i]; row++) {
                    int srcToken = d.handle().srcInfo(i, row);
                    int srcRank = sourceOf(d, i, row);
                    float body = values[i][row * HIDDEN];
                    float tail = values[i][row * HIDDEN + HIDDEN - 1];
                    if (!mode.round()) {
                        assertThat(Bf16.decode(Bf16.encode(body))).isEqualTo(srcRank - 128f);
                        assertThat(Bf16.decode(Bf16.encode(tail))).isEqualTo((float) srcToken);
                    } else {
                        assertThat(Math.abs(tail - srcToken)).isLessThanOrEqualTo(0.07f * Math.max(1, srcToken));
                    }
                }
            }
            // combine with identity experts: x · Σ valid weights; zero-copy gives the same bytes
            Tensor expertOut = Tensor.allocate(arena, DType.BF16, local, (long) RANKS * MAX_TOKENS, HIDDEN);
            for (int i = 0; i < local; i++) {
                for (int row = 0; row < d.recvCount()[i]; row++) {
                    for (int c = 0; c < HIDDEN; c++) {
                        expertOut.setFloat(values[i][row * HIDDEN + c], i, row, c);
                    }
                }
            }
            Tensor out = Tensor.allocate(arena, DType.BF16, TOKENS, HIDDEN);
            buffer.lowLatencyCombine(LowLatencyCombineRequest.of(expertOut, routing, d.handle()).withHook(mode.hook())
                    .into(out)).await();
            float[] got = EpJob.floats(out, TOKENS);
            float[] want = new float[TOKENS * HIDDEN];
            for (int t = 0; t < TOKENS; t++) {
                float sumW = 0;
                for (int k = 0; k < TOPK; k++) {
                    sumW += routing.expert(t, k) >= 0 ? routing.topkWeights()[t * TOPK + k] : 0;
                }
                for (int c = 0; c < HIDDEN; c++) {
                    want[t * HIDDEN + c] = x.getFloat(t, c) * sumW;
                }
            }
            if (!mode.round()) {
                assertThat(EpJob.calcDiff(got, want)).as(mode.toString()).isLessThan(mode.fp8() ? 9e-4 : 1e-5);
            }
            Tensor zc = buffer.nextLowLatencyCombineBuffer(d.handle());
            MemorySegment.copy(expertOut.data(), 0, zc.data(), 0, expertOut.byteSize());
            Tensor out2 = Tensor.allocate(arena, DType.BF16, TOKENS, HIDDEN);
            buffer.lowLatencyCombine(LowLatencyCombineRequest.of(null, routing, d.handle()).withZeroCopy(true)
                    .into(out2)).await();
            assertThat(out2.data().mismatch(out.data())).isEqualTo(-1L);
        }
    }

    /** The rank whose layout range holds {@code row}. */
    private static int sourceOf(LowLatencyDispatchResult d, int expert, int row) {
        for (int s = 0; s < RANKS; s++) {
            long range = d.handle().layoutRange(expert, s);
            if (row >= range >>> 32 && row < (range >>> 32) + (int) range) {
                return s;
            }
        }
        throw new AssertionError("row " + row + " is in no source's range");
    }

    /** The received rows of one expert as floats (dequantised for FP8, UE8M0 unpacked). */
    static float[] rows(LowLatencyDispatchResult d, int expert, int count, Mode mode) {
        float[] out = new float[count * HIDDEN];
        for (int row = 0; row < count; row++) {
            for (int c = 0; c < HIDDEN; c++) {
                if (!mode.fp8()) {
                    out[row * HIDDEN + c] = d.recvX().getFloat(expert, row, c);
                    continue;
                }
                byte code = d.recvX().data().get(ValueLayout.JAVA_BYTE, d.recvX().byteOffset(expert, row, c));
                float scale;
                if (mode.ue8m0()) {
                    long at = d.recvScales().byteOffset(expert, row, c / 512) + (c / 128) % 4;
                    int exp = d.recvScales().data().get(ValueLayout.JAVA_BYTE, at) & 0xFF;
                    scale = Float.intBitsToFloat(exp << 23);
                } else {
                    scale = d.recvScales().getFloat(expert, row, c / 128);
                }
                out[row * HIDDEN + c] = Bf16.decode(Bf16.encode(Fp8Format.E4M3FN.decode(code) * scale));
            }
        }
        return out;
    }
}
