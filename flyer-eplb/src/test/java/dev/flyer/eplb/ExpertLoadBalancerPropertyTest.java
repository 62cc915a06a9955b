package dev.flyer.eplb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Invariants on seeded random inputs, and the original's asserts as clear errors. */
class ExpertLoadBalancerPropertyTest {
    record Config(int layers, int experts, int replicas, int groups, int nodes, int gpus) {}

    static Config randomConfig(Random r) {
        int nodes = 1 + r.nextInt(4);
        int gpusPerNode = 1 + r.nextInt(4);
        int gpus = nodes * gpusPerNode;
        int groupsPerNode = 1 + r.nextInt(3);
        int groups = r.nextInt(4) == 0 ? nodes * groupsPerNode + 1 : nodes * groupsPerNode;
        int groupSize = 1 + r.nextInt(4);
        int experts = groups * groupSize;
        int perGpu = (experts + gpus - 1) / gpus + r.nextInt(3);
        return new Config(1 + r.nextInt(3), experts, perGpu * gpus, groups, nodes, gpus);
    }

    static double[][] randomWeight(Random r, Config c) {
        double[][] w = new double[c.layers()][c.experts()];
        for (double[] row : w) {
            for (int e = 0; e < row.length; e++) {
                row[e] = r.nextInt(4) == 0 ? 7 : r.nextInt(200);
            }
        }
        return w;
    }

    @Test
    void invariantsHoldOnRandomInputs() {
        long seed = System.nanoTime();
        System.out.println("ExpertLoadBalancerPropertyTest seed=" + seed);
        Random r = new Random(seed);
        for (int trial = 0; trial < 300; trial++) {
            Config c = randomConfig(r);
            double[][] w = randomWeight(r, c);
            boolean avoid = r.nextBoolean();
            Placement p = ExpertLoadBalancer.rebalance(w, c.replicas(), c.groups(), c.nodes(), c.gpus(),
                    new ExpertLoadBalancer.Options(avoid));
            String where = "trial " + trial + " " + c + " avoid=" + avoid;
            for (int l = 0; l < c.layers(); l++) {
                int sum = 0;
                for (int e = 0; e < c.experts(); e++) {
                    assertThat(p.logcnt()[l][e]).as(where).isGreaterThanOrEqualTo(1);
                    sum += p.logcnt()[l][e];
                    for (int k = 0; k < p.log2phy()[l][e].length; k++) {
                        int slot = p.log2phy()[l][e][k];
                        if (k < p.logcnt()[l][e]) {
                            assertThat(p.phy2log()[l][slot]).as(where + " inverse").isEqualTo(e);
                            assertThat(p.phyRank()[l][slot]).isEqualTo(k);
                        } else {
                            assertThat(slot).as(where + " padding").isEqualTo(-1);
                        }
                    }
                }
                assertThat(sum).as(where).isEqualTo(c.replicas());
                if (c.groups() % c.nodes() == 0) {
                    int groupSize = c.experts() / c.groups();
                    int slotsPerNode = c.replicas() / c.nodes();
                    int[] nodeOfGroup = new int[c.groups()];
                    java.util.Arrays.fill(nodeOfGroup, -1);
                    for (int slot = 0; slot < c.replicas(); slot++) {
                        int group = p.phy2log()[l][slot] / groupSize;
                        int node = slot / slotsPerNode;
                        assertThat(nodeOfGroup[group] == -1 || nodeOfGroup[group] == node)
                                .as(where + ": group " + group + " replicas stay on one node").isTrue();
                        nodeOfGroup[group] = node;
                    }
                }
            }
        }
    }

    @Test
    void avoidingColocationNeverRaisesMaxLoadAndHelpsWhereItCan() {
        long seed = System.nanoTime();
        System.out.println("avoidingColocation seed=" + seed);
        Random r = new Random(seed);
        int improved = 0;
        for (int trial = 0; trial < 200; trial++) {
            Config c = randomConfig(r);
            double[][] w = randomWeight(r, c);
            Placement plain = ExpertLoadBalancer.rebalance(w, c.replicas(), c.groups(), c.nodes(), c.gpus());
            Placement avoid = ExpertLoadBalancer.rebalance(w, c.replicas(), c.groups(), c.nodes(), c.gpus(),
                    new ExpertLoadBalancer.Options(true));
            LoadReport a = LoadReport.of(w, plain, c.gpus());
            LoadReport b = LoadReport.of(w, avoid, c.gpus());
            for (int l = 0; l < c.layers(); l++) {
                assertThat(max(b.after()[l])).as("trial %d %s", trial, c).isLessThanOrEqualTo(max(a.after()[l]) * (1 + 1e-6));
                if (b.colocated()[l] < a.colocated()[l]) {
                    improved++;
                }
            }
        }
        assertThat(improved).as("co-location avoided in some layers").isPositive();
    }

    @Test
    void replicasMoveApartAtEqualMaxLoad() {
        double[][] w = {{21, 19, 10, 15, 11, 9, 2, 3}};
        Placement plain = ExpertLoadBalancer.rebalance(w, 12, 1, 1, 4);
        Placement avoid = ExpertLoadBalancer.rebalance(w, 12, 1, 1, 4, new ExpertLoadBalancer.Options(true));
        assertThat(plain.phy2log()[0]).containsExactly(0, 3, 4, 0, 3, 4, 2, 5, 7, 1, 1, 6);
        assertThat(avoid.phy2log()[0]).containsExactly(0, 3, 4, 0, 3, 4, 2, 1, 6, 1, 5, 7);
        LoadReport a = LoadReport.of(w, plain, 4);
        LoadReport b = LoadReport.of(w, avoid, 4);
        assertThat(a.colocated()[0]).isEqualTo(1);
        assertThat(b.colocated()[0]).isZero();
        assertThat(max(b.after()[0])).isEqualTo(max(a.after()[0])).isEqualTo(23.5);
        assertThat(LoadReport.imbalance(b.after()[0])).isLessThan(LoadReport.imbalance(b.before()[0]));
    }

    static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double x : v) {
            m = Math.max(m, x);
        }
        return m;
    }

    @Test
    void theOriginalsAssertsBecomeClearErrors() {
        double[][] w = {{1, 2, 3, 4, 5, 6, 7, 8}};
        assertThatThrownBy(() -> ExpertLoadBalancer.rebalance(w, 8, 3, 3, 3))
                .hasMessageContaining("num_logical_experts (8) must be a multiple of num_groups (3)");
        assertThatThrownBy(() -> ExpertLoadBalancer.rebalance(w, 12, 4, 2, 3))
                .hasMessageContaining("num_gpus (3) must be a multiple of num_nodes (2)");
        assertThatThrownBy(() -> ExpertLoadBalancer.rebalance(w, 10, 4, 2, 4))
                .hasMessageContaining("num_replicas (10) must be a multiple of num_gpus (4)");
        assertThatThrownBy(() -> ExpertLoadBalancer.rebalance(w, 4, 4, 2, 4))
                .hasMessageContaining("num_replicas (4) must be at least num_logical_experts (8)");
        assertThatThrownBy(() -> ExpertLoadBalancer.rebalance(w, 8, 0, 1, 1)).hasMessageContaining("num_groups must be positive");
        assertThatThrownBy(() -> ExpertLoadBalancer.rebalance(new double[][] {{1, 2}, {3}}, 2, 1, 1, 1))
                .hasMessageContaining("row 1 has 1 experts");
        assertThatThrownBy(() -> ExpertLoadBalancer.rebalance(new double[][] {{1, Double.NaN}}, 2, 1, 1, 1))
                .hasMessageContaining("not finite");
    }
}
