package dev.flyer.eplb;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every case of ../shared/fixtures/eplb/cases.json, computed by deepseek-ai/EPLB's eplb.py. */
class ExpertLoadBalancerFixtureTest {
    static Path fixture() {
        return Path.of(System.getProperty("flyer.fixtures", "../../shared/fixtures")).resolve("eplb/cases.json");
    }

    static double[][] doubles(JsonNode rows) {
        double[][] out = new double[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new double[rows.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = rows.get(i).get(j).asDouble();
            }
        }
        return out;
    }

    static int[][] ints(JsonNode rows) {
        int[][] out = new int[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new int[rows.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = rows.get(i).get(j).asInt();
            }
        }
        return out;
    }

    @TestFactory
    List<DynamicTest> matchesTheOriginalOnEveryCase() throws Exception {
        Assumptions.assumeTrue(Files.exists(fixture()), "fixture at " + fixture());
        JsonNode cases = new ObjectMapper().readTree(fixture().toFile()).get("cases");
        assertThat(cases.size()).isGreaterThanOrEqualTo(2);
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            JsonNode c = cases.get(i);
            String name = "case " + i + ": replicas=" + c.get("num_replicas") + " groups=" + c.get("num_groups")
                    + " nodes=" + c.get("num_nodes") + " gpus=" + c.get("num_gpus");
            tests.add(DynamicTest.dynamicTest(name, () -> {
                Placement p = ExpertLoadBalancer.rebalance(doubles(c.get("weight")), c.get("num_replicas").asInt(),
                        c.get("num_groups").asInt(), c.get("num_nodes").asInt(), c.get("num_gpus").asInt());
                assertThat(p.phy2log()).as("phy2log").isEqualTo(ints(c.get("phy2log")));
                assertThat(p.logcnt()).as("logcnt").isEqualTo(ints(c.get("logcnt")));
                JsonNode log2phy = c.get("log2phy");
                assertThat(p.log2phy().length).isEqualTo(log2phy.size());
                for (int l = 0; l < log2phy.size(); l++) {
                    assertThat(p.log2phy()[l]).as("log2phy layer %d", l).isEqualTo(ints(log2phy.get(l)));
                }
            }));
        }
        return tests;
    }

    @Test
    void readmeExample() {
        double[][] weight = {
            {90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
            {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
        Placement p = ExpertLoadBalancer.rebalance(weight, 16, 4, 2, 8);
        assertThat(p.phy2log()).isEqualTo(new int[][] {
            {5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
            {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}});
    }
}
