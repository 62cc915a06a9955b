package dev.flyer.ep;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A port of DeepEP's {@code tests/legacy/test_intranode.py} and {@code test_internode.py} at small
 * sizes: rank-valued tokens identify their source, layouts and counts match the all-reduced
 * references, worst-token padding and cached dispatches agree, and combine(dispatch(x)) returns
 * x times the number of ranks each token reached.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NormalModeTest {
    private static final int TOKENS = 40;
    private static final int HIDDEN = 256;
    private static final int EXPERTS = 16;
    private static final int TOPK = 4;

    static Stream<Arguments> jobs() {
        return Stream.of(Arguments.of("one node of 4, shared memory", 4, 4, true),
                Arguments.of("2 nodes x 2 over TCP, two-hop", 4, 2, true),
                Arguments.of("2 nodes x 2 over TCP, flat", 4, 2, false));
    }

    private static EpJob job(int ranks, int perNode, boolean twoHop) throws Exception {
        return EpJob.nodes(ranks, perNode, twoHop);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("jobs")
    void rankValuedTokensRoundTrip(String name, int ranks, int perNode, boolean twoHop) throws Exception {
        long seed = System.nanoTime();
        System.out.println("NormalModeTest seed=" + seed + " (" + name + ")");
        List<Routing> routings = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            routings.add(EpJob.routing(seed + r, TOKENS, TOPK, EXPERTS, 10));
        }
        try (EpJob job = job(ranks, perNode, twoHop)) {
            job.onAll(rank -> {
                check(job.buffers.get(rank), rank, ranks, routings);
                return null;
            });
        }
    }

    private static void check(EpBuffer buffer, int rank, int ranks, List<Routing> routings) {
        int local = EXPERTS / ranks;
        Routing routing = routings.get(rank);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = EpJob.bf16(arena, TOKENS, HIDDEN, (t, c) -> rank);
            DispatchLayout layout = buffer.dispatchLayout(routing, EXPERTS);
            DispatchResult d = buffer.dispatch(DispatchRequest.of(x, routing, EXPERTS).into(arena)).await();
            // counts equal the all-reduced layouts
            int expected = 0;
            int[] perExpert = new int[local];
            for (int s = 0; s < ranks; s++) {
                DispatchLayout other = DispatchLayout.of(routings.get(s), EXPERTS, ranks, buffer.ranksPerNode());
                expected += other.numTokensPerRank()[rank];
                for (int i = 0; i < local; i++) {
                    perExpert[i] += other.numTokensPerExpert()[rank * local + i];
                }
                int[] prefix = d.handle().recvPrefix();
                int[] src = d.handle().recvSrcIdx();
                assertThat(Arrays.copyOfRange(src, prefix[s], prefix[s + 1])).as("tokens from rank " + s)
                        .containsExactly(other.tokensFor(rank));
                for (int row = prefix[s]; row < prefix[s + 1]; row++) {
                    assertThat(d.recvX().getFloat(row, 0)).isEqualTo((float) s);
                    assertThat(d.recvX().getFloat(row, HIDDEN - 1)).isEqualTo((float) s);
                    for (int k = 0; k < TOPK; k++) {
                        int e = routings.get(s).expert(src[row], k);
                        boolean mine = e >= rank * local && e < (rank + 1) * local;
                        assertThat(d.recvTopkIdx()[row * TOPK + k]).isEqualTo(mine ? e - rank * local : -1);
                        assertThat(d.recvTopkWeights()[row * TOPK + k])
                                .isEqualTo(mine ? routings.get(s).topkWeights()[src[row] * TOPK + k] : 0f);
                    }
                }
            }
            assertThat(d.numRecvTokens()).isEqualTo(expected);
            assertThat(d.numRecvTokensPerExpert()).containsExactly(perExpert);
            for (int i = 0; i < local; i++) {
                int fi = i;
                assertThat(Arrays.stream(d.recvTopkIdx()).filter(v -> v == fi).count()).isEqualTo(perExpert[i]);
            }
            // worst-token padding
            int worst = TOKENS * ranks;
            DispatchResult pad = buffer.dispatch(DispatchRequest.of(x, routing, EXPERTS).withLayout(layout)
                    .withWorstTokens(worst).into(arena)).await();
            assertThat(pad.recvX().size(0)).isEqualTo(worst);
            assertThat(pad.numRecvTokensPerExpert()).isEmpty();
            assertThat(EpJob.floats(pad.recvX(), expected)).containsExactly(EpJob.floats(d.recvX(), expected));
            assertThat(Arrays.copyOf(pad.recvTopkIdx(), expected * TOPK)).containsExactly(d.recvTopkIdx());
            assertThat(Arrays.copyOfRange(pad.recvTopkIdx(), expected * TOPK, worst * TOPK)).containsOnly(-1);
            // cached dispatch moves the same rows
            DispatchResult again = buffer.dispatch(DispatchRequest.cached(x, d.handle()).into(arena)).await();
            assertThat(EpJob.floats(again.recvX(), expected)).containsExactly(EpJob.floats(d.recvX(), expected));
            // combine: unweighted sum over the ranks each token reached
            CombineResult c = buffer.combine(CombineRequest.of(d.recvX(), d.handle()).withWeights(d.recvTopkWeights())
                    .into(arena)).await();
            int[] reached = d.handle().ranksPerToken();
            float[] back = EpJob.floats(c.combinedX(), TOKENS);
            float[] want = new float[TOKENS * HIDDEN];
            float[] scaled = new float[TOKENS * HIDDEN];
            for (int t = 0; t < TOKENS; t++) {
                for (int h = 0; h < HIDDEN; h++) {
                    want[t * HIDDEN + h] = reached[t] == 0 ? 0 : rank;
                    scaled[t * HIDDEN + h] = reached[t] == 0 ? 0 : back[t * HIDDEN + h] / reached[t];
                }
            }
            assertThat(EpJob.calcDiff(scaled, want)).isLessThan(5e-6);
            float[] wantWeights = routing.topkWeights().clone();
            for (int i = 0; i < wantWeights.length; i++) {
                wantWeights[i] = routing.topkIdx()[i] < 0 ? 0 : wantWeights[i];
            }
            assertThat(EpJob.calcDiff(c.combinedTopkWeights(), wantWeights)).isLessThan(1e-9);
            // biases are added once at the source
            Tensor b0 = EpJob.bf16(arena, TOKENS, HIDDEN, (t, h) -> 0.5f * h / HIDDEN);
            Tensor b1 = EpJob.bf16(arena, TOKENS, HIDDEN, (t, h) -> -0.25f * t / TOKENS);
            CombineResult cb = buffer.combine(CombineRequest.of(d.recvX(), d.handle()).withBias(b0, b1).into(arena))
                    .await();
            float[] withBias = EpJob.floats(cb.combinedX(), TOKENS);
            for (int i = 0; i < withBias.length; i++) {
                float ref = Bf16.decode(Bf16.encode(b0.getFloat(i / HIDDEN, i % HIDDEN) + b1.getFloat(i / HIDDEN, i % HIDDEN)
                        + back[i]));
                assertThat(withBias[i]).as("element " + i).isCloseTo(ref, org.assertj.core.data.Offset.offset(0.02f + Math.abs(ref) / 64));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("jobs")
    void fp8RandomTokensRoundTrip(String name, int ranks, int perNode, boolean twoHop) throws Exception {
        long seed = System.nanoTime();
        System.out.println("NormalModeTest.fp8 seed=" + seed + " (" + name + ")");
        try (EpJob job = job(ranks, perNode, twoHop)) {
            List<byte[]> combined = job.onAll(rank -> {
                java.util.Random rnd = new java.util.Random(seed * 7 + rank);
                Routing routing = EpJob.routing(seed + rank, TOKENS, TOPK, EXPERTS, 5);
                EpBuffer buffer = job.buffers.get(rank);
                try (Arena arena = Arena.ofShared()) {
                    Tensor x = EpJob.bf16(arena, TOKENS, HIDDEN, (t, c) -> (float) rnd.nextGaussian());
                    Fp8Tokens fp8 = Fp8Tokens.cast(x, false, arena);
                    DispatchResult d = buffer.dispatch(DispatchRequest.of(fp8.values(), routing, EXPERTS)
                            .withScales(fp8.scales()).into(arena)).await();
                    assertThat(d.recvX().dtype()).isEqualTo(DType.F8_E4M3);
                    int n = d.numRecvTokens();
                    float[] back = new Fp8Tokens(d.recvX(), d.recvScales()).dequantize();
                    Tensor rows = EpJob.bf16(arena, Math.max(n, 1), HIDDEN, (t, c) -> t < n ? back[t * HIDDEN + c] : 0);
                    CombineResult c = buffer.combine(CombineRequest.of(rows, d.handle()).into(arena)).await();
                    int[] reached = d.handle().ranksPerToken();
                    float[] got = EpJob.floats(c.combinedX(), TOKENS);
                    float[] want = EpJob.floats(x, TOKENS);
                    for (int t = 0; t < TOKENS; t++) {
                        for (int h = 0; h < HIDDEN; h++) {
                            got[t * HIDDEN + h] = reached[t] == 0 ? 0 : got[t * HIDDEN + h] / reached[t];
                            want[t * HIDDEN + h] = reached[t] == 0 ? 0 : want[t * HIDDEN + h];
                        }
                    }
                    assertThat(EpJob.calcDiff(got, want)).isLessThan(5e-4);
                    byte[] bytes = new byte[(int) c.combinedX().byteSize()];
                    java.lang.foreign.MemorySegment.copy(c.combinedX().data(), java.lang.foreign.ValueLayout.JAVA_BYTE, 0,
                            bytes, 0, bytes.length);
                    return bytes;
                }
            });
            assertThat(combined).hasSize(ranks);
        }
    }

    @org.junit.jupiter.api.Test
    void asyncCallsChainedThroughPreviousGiveTheBlockingResult() throws Exception {
        long seed = System.nanoTime();
        System.out.println("NormalModeTest.async seed=" + seed);
        try (EpJob job = EpJob.shm(3, EpConfig.defaults())) {
            job.onAll(rank -> {
                Routing routing = EpJob.routing(seed + rank, TOKENS, TOPK, 12, 3);
                EpBuffer buffer = job.buffers.get(rank);
                try (Arena arena = Arena.ofShared()) {
                    Tensor x = EpJob.bf16(arena, TOKENS, HIDDEN, (t, c) -> rank + c / 1024f);
                    DispatchResult blocking = buffer.dispatch(DispatchRequest.of(x, routing, 12).into(arena)).await();
                    CombineResult want = buffer.combine(CombineRequest.of(blocking.recvX(), blocking.handle())
                            .into(arena)).await();
                    // async: both calls queued at once on the communication thread, the second after the first
                    EpFuture<DispatchResult> d = buffer.dispatch(DispatchRequest.of(x, routing, 12).into(arena)
                            .withAsync(true));
                    EpFuture<CombineResult> c = buffer.combine(CombineRequest.of(blocking.recvX(), blocking.handle())
                            .into(arena).withAsync(true).after(d));
                    assertThat(c.await().combinedX().data().mismatch(want.combinedX().data())).isEqualTo(-1L);
                    assertThat(d.isDone()).isTrue();
                    assertThat(d.await().recvX().data().mismatch(blocking.recvX().data())).isEqualTo(-1L);
                }
                return null;
            });
        }
    }
}
