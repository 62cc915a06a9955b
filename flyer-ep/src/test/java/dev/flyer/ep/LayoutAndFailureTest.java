package dev.flyer.ep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.core.tensor.Tensor;
import dev.flyer.dist.DistException;
import dev.flyer.dist.ProcessGroup;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The layout against a naive reference, the flat and two-hop paths against each other, and the failure paths. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LayoutAndFailureTest {
    @Test
    void layoutEqualsNaiveReference() {
        long seed = System.nanoTime();
        System.out.println("LayoutAndFailureTest.layout seed=" + seed);
        Random rnd = new Random(seed);
        for (int trial = 0; trial < 50; trial++) {
            int ranks = 1 << rnd.nextInt(4);
            int perNode = Math.max(1, ranks >> rnd.nextInt(2));
            int experts = ranks * (1 + rnd.nextInt(8));
            int topk = 1 + rnd.nextInt(Math.min(8, experts));
            int tokens = rnd.nextInt(100);
            Routing r = trial == 0 ? allToOne(tokens, topk)
                    : EpJob.routing(rnd.nextLong(), tokens, topk, experts, rnd.nextInt(tokens + 1));
            DispatchLayout l = DispatchLayout.of(r, experts, ranks, perNode);
            for (int rank = 0; rank < ranks; rank++) {
                int n = 0;
                for (int t = 0; t < tokens; t++) {
                    boolean in = false;
                    for (int k = 0; k < topk; k++) {
                        in |= r.expert(t, k) >= 0 && r.expert(t, k) / (experts / ranks) == rank;
                    }
                    assertThat(l.inRank(t, rank)).isEqualTo(in);
                    n += in ? 1 : 0;
                }
                assertThat(l.numTokensPerRank()[rank]).isEqualTo(n);
            }
            for (int node = 0; node < ranks / perNode; node++) {
                int n = 0;
                for (int t = 0; t < tokens; t++) {
                    boolean in = false;
                    for (int rank = node * perNode; rank < (node + 1) * perNode; rank++) {
                        in |= l.inRank(t, rank);
                    }
                    n += in ? 1 : 0;
                }
                assertThat(l.numTokensPerNode()[node]).isEqualTo(n);
            }
            for (int e = 0; e < experts; e++) {
                int fe = e;
                assertThat(l.numTokensPerExpert()[e]).isEqualTo((int) java.util.Arrays.stream(r.topkIdx())
                        .filter(v -> v == fe).count());
            }
        }
    }

    private static Routing allToOne(int tokens, int topk) {
        int[] idx = new int[tokens * topk];
        java.util.Arrays.fill(idx, -1);
        for (int t = 0; t < tokens; t++) {
            idx[t * topk] = 0;
        }
        return new Routing(tokens, topk, idx, null);
    }

    @Test
    void layoutRejectsBadExperts() {
        Routing r = new Routing(1, 2, new int[] {0, 16}, null);
        assertThatThrownBy(() -> DispatchLayout.of(r, 16, 4, 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("topkIdx[0, 1] = 16 is outside [-1, 16)");
        assertThatThrownBy(() -> DispatchLayout.of(r, 18, 4, 4)).hasMessageContaining("cannot be split evenly");
    }

    @Test
    void twoHopAndFlatCombineBitIdentically() throws Exception {
        long seed = System.nanoTime();
        System.out.println("LayoutAndFailureTest.twoHop seed=" + seed);
        byte[][][] out = new byte[2][][];
        for (int path = 0; path < 2; path++) {
            try (EpJob job = EpJob.nodes(4, 2, path == 0)) {
                out[path] = job.onAll(rank -> {
                    Random rnd = new Random(seed * 3 + rank);
                    Routing routing = EpJob.routing(seed + rank, 30, 3, 8, 4);
                    try (Arena arena = Arena.ofShared()) {
                        Tensor x = EpJob.bf16(arena, 30, 128, (t, c) -> (float) rnd.nextGaussian());
                        Tensor b = EpJob.bf16(arena, 30, 128, (t, c) -> 0.1f * c);
                        EpBuffer buf = job.buffers.get(rank);
                        DispatchResult d = buf.dispatch(DispatchRequest.of(x, routing, 8).into(arena)).await();
                        CombineResult c = buf.combine(CombineRequest.of(d.recvX(), d.handle()).withBias(b, null)
                                .withWeights(d.recvTopkWeights()).into(arena)).await();
                        return c.combinedX().data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                    }
                }).toArray(byte[][]::new);
            }
        }
        for (int r = 0; r < 4; r++) {
            assertThat(out[0][r]).as("rank " + r).isEqualTo(out[1][r]);
        }
    }

    @Test
    void aRankThatNeverComesGivesTheOthersATimeout() throws Exception {
        ProcessGroup.Options o = ProcessGroup.Options.defaults().withTransport(ProcessGroup.Transport.SHM)
                .withTimeout(Duration.ofSeconds(2));
        try (EpJob job = new EpJob(3, o, EpConfig.defaults())) {
            List<String> errors = job.onAll(rank -> {
                if (rank == 2) {
                    return "absent";
                }
                try (Arena arena = Arena.ofShared()) {
                    Tensor x = EpJob.bf16(arena, 4, 128, (t, c) -> 1f);
                    Routing routing = EpJob.routing(rank, 4, 2, 6, 0);
                    long t0 = System.nanoTime();
                    try {
                        job.buffers.get(rank).dispatch(DispatchRequest.of(x, routing, 6).into(arena)).await();
                        return "no error";
                    } catch (DistException e) {
                        assertThat(System.nanoTime() - t0).isLessThan(10_000_000_000L);
                        return e.getMessage();
                    }
                }
            });
            assertThat(errors.get(0)).contains("rank 2").contains("within");
            assertThat(errors.get(1)).contains("rank 2");
        }
    }

    @Test
    void tooSmallBuffersAndTooManyTokensAreRejectedBeforeSending() throws Exception {
        try (EpJob job = EpJob.shm(2, EpConfig.defaults().withNormalBytes(1000).withLowLatencyBytes(1000))) {
            List<String> errors = job.onAll(rank -> {
                try (Arena arena = Arena.ofShared()) {
                    Tensor x = EpJob.bf16(arena, 8, 128, (t, c) -> 1f);
                    Routing routing = EpJob.routing(rank, 8, 2, 4, 0);
                    EpBuffer b = job.buffers.get(rank);
                    String tooMany = message(() -> b.lowLatencyDispatch(LowLatencyDispatchRequest.of(x, routing, 4, 4)));
                    String tooSmall = message(() -> b.lowLatencyDispatch(LowLatencyDispatchRequest.of(x, routing, 8, 4)));
                    String normal = message(() -> b.dispatch(DispatchRequest.of(x, routing, 4).into(arena)).await());
                    return tooMany + "\n" + tooSmall + "\n" + normal;
                }
            });
            for (String e : errors) {
                assertThat(e).contains("more than maxTokensPerRank = 4 (nothing was sent)")
                        .contains("low-latency mode needs " + EpBuffer.lowLatencySizeHint(8, 128, 2, 4, 2) + " bytes")
                        .containsPattern("normal dispatch on rank \\d needs \\d+ bytes of receive buffer but the buffer has 1000");
            }
        }
    }

    private static String message(Runnable r) {
        try {
            r.run();
            return "no error";
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }
}
