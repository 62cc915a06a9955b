package dev.flyer.dualpipe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SchedulesTest {
    static List<String> ops(Schedule s, int rank) {
        return s.ops().get(rank).stream().map(Op::toString).toList();
    }

    @Test
    void dualPipeFourRanksEightChunksFollowsTheOriginalProgram() {
        // worked through dualpipe.py's step() by hand: rank 0 (n=2, r=0) and middle rank 1 (r=1)
        Schedule s = Schedules.build(Method.DUALPIPE, 4, 8);
        assertThat(String.join(" ", ops(s, 0)))
                .isEqualTo("F0 F0 F0 F1 B1z W F1 F0&B1 F1&B0 B1 F1&B0 B1 B0z W B0z W");
        assertThat(String.join(" ", ops(s, 1)))
                .isEqualTo("F0 F1 F0 F1 F0 B1 F1&B0 F0&B1 F1&B0 B1 B0 B1z B0z W W");
        assertThat(ops(s, 3)).as("mirror ranks run the same program").isEqualTo(ops(s, 0));
        assertThat(ops(s, 2)).isEqualTo(ops(s, 1));
    }

    @Test
    void everyChunkIsForwardedAndBackwardedOnceAndEveryDeferredWeightRuns() {
        for (Method m : Method.values()) {
            for (int ranks = 1; ranks <= 8; ranks++) {
                if (m == Method.DUALPIPE && ranks % 2 == 1) {
                    continue;
                }
                for (int chunks : new int[] {2 * ranks, 2 * ranks + 2, 4 * ranks}) {
                    Schedule s = Schedules.build(m, ranks, chunks);
                    int perPhase = m == Method.DUALPIPE ? chunks / 2 : chunks;
                    for (int r = 0; r < ranks; r++) {
                        int[] forwards = new int[2];
                        int[] backwards = new int[2];
                        int deferred = 0;
                        for (Op op : s.ops().get(r)) {
                            switch (op.kind()) {
                                case F -> forwards[op.phase()]++;
                                case B -> {
                                    backwards[op.phase()]++;
                                    deferred += op.zeroBubble() ? 1 : 0;
                                }
                                case FB -> {
                                    forwards[op.phase()]++;
                                    backwards[op.backwardPhase()]++;
                                }
                                case W -> {
                                    deferred--;
                                    assertThat(deferred).as("%s W before its B", m).isGreaterThanOrEqualTo(0);
                                }
                            }
                        }
                        String where = m + " ranks=" + ranks + " chunks=" + chunks + " rank " + r;
                        int phases = m == Method.ONE_F_ONE_B || m == Method.ZB1P ? 1 : 2;
                        for (int p = 0; p < phases; p++) {
                            assertThat(forwards[p]).as(where + " forwards of phase " + p).isEqualTo(perPhase);
                            assertThat(backwards[p]).as(where + " backwards of phase " + p).isEqualTo(perPhase);
                        }
                        assertThat(deferred).as(where + " deferred weights left").isZero();
                    }
                }
            }
        }
    }

    @Test
    void simulatorReproducesTheReadmeTable() {
        Costs c = Costs.readme();
        for (int pp : new int[] {2, 4, 6, 8, 16}) {
            for (int chunks : new int[] {2 * pp, 3 * pp, 5 * pp}) {
                Simulation oneF = Simulator.run(Schedules.build(Method.ONE_F_ONE_B, pp, chunks), c);
                Simulation zb = Simulator.run(Schedules.build(Method.ZB1P, pp, chunks), c);
                Simulation dual = Simulator.run(Schedules.build(Method.DUALPIPE, pp, chunks + chunks % 2), c);
                for (int r = 0; r < pp; r++) {
                    assertThat(oneF.bubble()[r]).as("1F1B PP=%d rank %d", pp, r).isEqualTo((pp - 1) * (1 + 2));
                    assertThat(zb.bubble()[r]).as("ZB1P PP=%d rank %d", pp, r).isEqualTo((pp - 1) * (1 + 2 - 2 * 1));
                    assertThat(dual.bubble()[r]).as("DualPipe PP=%d rank %d", pp, r)
                            .isEqualTo((pp / 2 - 1) * (3 + 2 - 3 * 1));
                }
                assertThat(Arrays.stream(oneF.peakActivations()).max().orElseThrow()).isEqualTo(pp);
                assertThat(Arrays.stream(zb.peakActivations()).max().orElseThrow()).isEqualTo(pp);
                assertThat(Arrays.stream(dual.peakActivations()).max().orElseThrow()).isEqualTo(pp + 1);
            }
        }
    }

    @Test
    void dualPipeVMatchesTheTableForItsStageCountIncludingOddRanks() {
        for (int ranks = 1; ranks <= 8; ranks++) {
            int pp = 2 * ranks;
            Simulation v = Simulator.run(Schedules.build(Method.DUALPIPEV, ranks, 2 * pp), Costs.readme());
            for (int r = 0; r < ranks; r++) {
                assertThat(v.bubble()[r]).as("DualPipeV %d ranks rank %d", ranks, r).isEqualTo((pp / 2 - 1) * 2.0);
            }
            assertThat(Arrays.stream(v.peakActivations()).max().orElseThrow()).isEqualTo(pp + 1);
        }
    }

    @Test
    void latencyDelaysCrossRankDependencies() {
        Schedule s = Schedules.build(Method.ONE_F_ONE_B, 2, 2);
        Simulation none = Simulator.run(s, new Costs(1, 2, 1, 3, 0));
        Simulation slow = Simulator.run(s, new Costs(1, 2, 1, 3, 0.5));
        // rank 1's first forward waits for rank 0's plus one transfer; its backward result comes back with another
        assertThat(slow.timeline().get(1).get(0).start()).isEqualTo(1.5);
        assertThat(slow.makespan()).isGreaterThan(none.makespan());
    }

    @Test
    void badInputIsRejectedBeforeAnythingRuns() {
        assertThatThrownBy(() -> Schedules.build(Method.DUALPIPE, 3, 12)).hasMessageContaining("even number of ranks, got 3");
        assertThatThrownBy(() -> Schedules.build(Method.DUALPIPE, 4, 6)).hasMessageContaining("chunks >= 2 x ranks = 8, got 6");
        assertThatThrownBy(() -> Schedules.build(Method.DUALPIPE, 4, 9)).hasMessageContaining("even number of chunks");
        assertThatThrownBy(() -> Schedules.build(Method.DUALPIPEV, 3, 5)).hasMessageContaining("chunks >= 2 x ranks = 6");
        assertThatThrownBy(() -> Schedules.build(Method.ONE_F_ONE_B, 0, 5)).hasMessageContaining("ranks must be >= 1");
        assertThatThrownBy(() -> Method.fromCliName("gpipe")).hasMessageContaining("unknown method \"gpipe\"");
        assertThatThrownBy(() -> Costs.parse("1,2,x,3")).hasMessageContaining("\"x\"");
        assertThatThrownBy(() -> Costs.parse("1,2")).hasMessageContaining("F,B,W,FB");
        assertThatThrownBy(() -> new Costs(1, 1, 2, 3, 0)).hasMessageContaining("W <= B");
        assertThatThrownBy(() -> Op.parse("X1")).hasMessageContaining("not an op");
        assertThat(Op.parse("F1&B0")).isEqualTo(Op.forwardBackward(1, 0));
        assertThat(Op.parse("B0z").toString()).isEqualTo("B0z");
    }

    @Test
    void simulatorReportsDeadlocksAndImpossibleSchedules() {
        Schedule backwardFirst = new Schedule(Method.ONE_F_ONE_B, 2, 1,
                List.of(List.of(Op.backward(0, false), Op.forward(0)), List.of(Op.forward(0), Op.backward(0, false))));
        assertThatThrownBy(() -> Simulator.run(backwardFirst, Costs.readme())).hasMessageContaining("deadlocks");
        Schedule orphanW = new Schedule(Method.ONE_F_ONE_B, 1, 1, List.of(List.of(Op.weight())));
        assertThatThrownBy(() -> Simulator.run(orphanW, Costs.readme())).hasMessageContaining("no deferred");
    }
}
