package dev.flyer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    record Result(int status, String out, String err) {}

    static synchronized Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int status = Main.run(args);
            return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void versionAndHelpEverywhere() {
        Result version = run("--version");
        assertThat(version.status()).isZero();
        assertThat(version.out()).startsWith("flyer ").contains("Java 25");
        for (String[] args : new String[][] {{"--help"}, {"demo", "--help"}, {"bench", "--help"},
            {"bench", "machine", "--help"}, {"bench", "numerics", "--help"}, {"bench", "jmh", "--help"},
            {"safetensors", "--help"}, {"generate", "--help"}, {"model", "init", "--help"}, {"bench", "mla", "--help"}, {"serve", "--help"}, {"chat", "--help"},
            {"fs", "--help"}, {"fs", "up", "--help"}, {"fs", "put", "--help"}, {"fs", "storage", "--help"}}) {
            Result r = run(args);
            assertThat(r.status()).as(String.join(" ", args)).isZero();
            assertThat(r.out()).as(String.join(" ", args)).contains("Usage: flyer");
        }
    }

    @Test
    void usageErrorsExitWith2() {
        Result r = run("bench", "--no-such-option");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option: '--no-such-option'");
    }

    @Test
    void badInputGivesOneLineErrorAndStatus1(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        Result r = run("safetensors", bad.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("flyer: error: ").contains("too short").doesNotContain("\n");
        Result missing = run("safetensors", dir.resolve("nope").toString());
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).contains("flyer: error:");
    }

    @Test
    void eplbPrintsTheOriginalsOutputAndRejectsBadInput(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("in.json");
        Files.writeString(in, "{\"weight\": [[90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86], "
                + "[20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27]], \"num_replicas\": 16, "
                + "\"num_groups\": 4, \"num_nodes\": 2, \"num_gpus\": 8}");
        Result r = run("eplb", in.toString());
        assertThat(r.status()).isZero();
        assertThat(r.out()).startsWith("{\"phy2log\":[[5,6,5,7,8,4,3,4,10,9,10,2,0,1,11,1],")
                .contains("\"logcnt\":[[1,2,1,1,2,2,1,1,1,1,2,1],[1,2,1,1,1,2,2,1,2,1,1,1]]}");
        Files.writeString(dir.resolve("two.json"), "[" + Files.readString(in) + "," + Files.readString(in) + "]");
        Result two = run("eplb", dir.resolve("two.json").toString());
        assertThat(two.out()).startsWith("[{\"phy2log\"");
        Result report = run("eplb", "--report", in.toString());
        assertThat(report.out()).contains("max/mean before").contains("hierarchical policy");

        Files.writeString(dir.resolve("bad.json"), "{\"weight\": [[1, 2]");
        Result bad = run("eplb", dir.resolve("bad.json").toString());
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).startsWith("flyer: error: input is not valid JSON");
        Files.writeString(dir.resolve("params.json"), "{\"weight\": [[1, 2]], \"num_replicas\": 3, "
                + "\"num_groups\": 1, \"num_nodes\": 1, \"num_gpus\": 2}");
        Result params = run("eplb", dir.resolve("params.json").toString());
        assertThat(params.status()).isEqualTo(1);
        assertThat(params.err().strip()).isEqualTo("flyer: error: num_replicas (3) must be a multiple of num_gpus (2)");
        Files.writeString(dir.resolve("field.json"), "{\"weight\": [[1, \"x\"]], \"num_replicas\": 2, "
                + "\"num_groups\": 1, \"num_nodes\": 1, \"num_gpus\": 2}");
        assertThat(run("eplb", dir.resolve("field.json").toString()).err()).contains("weight[0][1] = \"x\" is not a number");
    }

    @Test
    void profileAnalyzePrintsTableJsonAndSvg(@TempDir Path dir) throws Exception {
        Path train = Path.of(System.getProperty("flyer.fixtures", "../../shared/fixtures")).resolve("profile/train.json");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(train));
        Result table = run("profile", "analyze", train.toString());
        assertThat(table.status()).isZero();
        assertThat(table.out()).contains("overlapped").contains("109.263 ms").contains("attn(B)").contains("stream 27");
        Path svg = dir.resolve("t.svg");
        Result json = run("profile", "analyze", train.toString(), "--json", "--svg", svg.toString());
        assertThat(json.status()).isZero();
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
        for (String field : new String[] {"window_ms", "compute_ms", "comm_ms", "overlap_ms", "exposed_comm_ms",
            "idle_ms", "overlap_ratio", "annotations", "lanes"}) {
            assertThat(node.has(field)).as(field).isTrue();
        }
        assertThat(Files.readString(svg)).startsWith("<svg");
        Result custom = run("profile", "analyze", train.toString(), "--json", "--comm-pattern", "nothing-matches");
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(custom.out()).get("comm_ms").asDouble()).isZero();
        Files.writeString(dir.resolve("bad.json"), "{\"traceEvents\": [");
        Result bad = run("profile", "analyze", dir.resolve("bad.json").toString());
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).startsWith("flyer: error: ").contains("not valid JSON");
        Result regex = run("profile", "analyze", train.toString(), "--comm-pattern", "(");
        assertThat(regex.status()).isEqualTo(1);
        assertThat(regex.err()).contains("--comm-pattern is not a valid regular expression");
    }

    @Test
    void dualpipeScheduleTextJsonSvgAndErrors(@TempDir Path dir) throws Exception {
        Result text = run("dualpipe", "schedule", "--method", "dualpipe", "--ranks", "4", "--chunks", "8");
        assertThat(text.status()).isZero();
        assertThat(text.out()).contains("rank 0: F0 F0 F0 F1 B1z W F1 F0&B1").contains("bubble per rank [2.0, 2.0, 2.0, 2.0]");
        Path svg = dir.resolve("s.svg");
        Result json = run("dualpipe", "schedule", "--method", "zb1p", "--ranks", "4", "--chunks", "8", "--json",
                "--svg", svg.toString());
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
        assertThat(node.get("method").asText()).isEqualTo("zb1p");
        assertThat(node.get("ranks").size()).isEqualTo(4);
        assertThat(node.get("bubble").get(0).asDouble()).isEqualTo(3.0);
        assertThat(node.get("peak_activations").get(0).asInt()).isEqualTo(4);
        assertThat(node.has("makespan")).isTrue();
        assertThat(Files.readString(svg)).startsWith("<svg").contains("rank 3");
        Result odd = run("dualpipe", "schedule", "--ranks", "3", "--chunks", "8");
        assertThat(odd.status()).isEqualTo(1);
        assertThat(odd.err()).contains("even number of ranks");
        assertThat(run("dualpipe", "schedule", "--method", "dualpipev", "--ranks", "3", "--chunks", "6").status()).isZero();
        assertThat(run("dualpipe", "schedule", "--costs", "1,2,oops,3").err()).contains("is not a number");
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
    void launchStartsRanksAsProcessesAndStopsAllWhenOneFails() {
        Result ok = run("launch", "-n", "2", "--", "dist", "check", "--mib", "1");
        assertThat(ok.status()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out()).contains("[rank 0] rank 0 of 2").contains("[rank 1] rank 1 of 2").contains("via shm ok");
        long t0 = System.nanoTime();
        Result failed = run("launch", "-n", "3", "--", "dist", "check", "--fail-rank", "2");
        assertThat(failed.status()).isEqualTo(3);
        assertThat(failed.out()).contains("[rank 2] failing on purpose");
        assertThat(System.nanoTime() - t0).as("the others are stopped, not waited for").isLessThan(60_000_000_000L);
        assertThat(run("launch", "-n", "2", "--nodes", "2", "--", "dist", "check").err())
                .contains("needs --master host:port");
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
    void epCheckRunsDispatchAndCombineAcrossTwoNodesOfProcesses() {
        Result ok = run("launch", "-n", "4", "--", "ep", "check", "--ranks-per-node", "2", "--tokens", "16");
        assertThat(ok.status()).as(ok.out() + ok.err()).isZero();
        for (int r = 0; r < 4; r++) {
            assertThat(ok.out()).contains("[rank " + r + "] rank " + r + " of 4: normal");
        }
        assertThat(ok.out()).contains("via tcp").contains("via shm");
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 180, unit = java.util.concurrent.TimeUnit.SECONDS)
    void dualpipeTrainMatchesTheReferenceInProcessAndAcrossProcesses(@TempDir Path dir) throws Exception {
        Result threads = run("dualpipe", "train", "--ranks", "2", "--chunks", "4", "--hidden", "16", "--rows", "4",
                "--steps", "1", "--in-process");
        assertThat(threads.status()).as(threads.out() + threads.err()).isZero();
        assertThat(threads.out()).contains("losses: 4 of 4 bit-equal to the sequential reference: yes")
                .contains("bubble ms simulated");
        Result processes = run("dualpipe", "train", "--method", "dualpipev", "--ranks", "3", "--chunks", "6",
                "--hidden", "16", "--rows", "4", "--steps", "1", "--trace", dir.toString());
        assertThat(processes.status()).as(processes.out() + processes.err()).isZero();
        assertThat(processes.out()).contains("[rank 0] losses: 6 of 6 bit-equal to the sequential reference: yes")
                .contains("gradients: max").contains("(limit 1e-13): ok").contains("rank2.json");
        assertThat(dir.resolve("rank1.json")).exists();
        Result four = run("dualpipe", "train", "--ranks", "4", "--chunks", "8", "--hidden", "16", "--rows", "4",
                "--steps", "1");
        assertThat(four.status()).as(four.out() + four.err()).isZero();
        assertThat(four.out()).contains("[rank 0] losses: 8 of 8 bit-equal to the sequential reference: yes");
        Result odd = run("dualpipe", "train", "--ranks", "3");
        assertThat(odd.status()).isEqualTo(1);
        assertThat(odd.err()).contains("DualPipe needs an even number of ranks, got 3");
    }

    @Test
    @org.junit.jupiter.api.Tag("slow")
    @org.junit.jupiter.api.Timeout(value = 600, unit = java.util.concurrent.TimeUnit.SECONDS)
    void dualpipeTrainsOnEightProcesses() {
        Result eight = run("dualpipe", "train", "--ranks", "8", "--chunks", "16", "--hidden", "16", "--rows", "4",
                "--steps", "1");
        assertThat(eight.status()).as(eight.out() + eight.err()).isZero();
        assertThat(eight.out()).contains("[rank 0] losses: 16 of 16 bit-equal to the sequential reference: yes");
    }

    @Test
    void listsTheTinyDeepSeekFixture() {
        Path model = Path.of(System.getProperty("flyer.fixtures", "../../shared/fixtures")).resolve("tiny-v3");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(model));
        Result r = run("safetensors", model.toString());
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("model.embed_tokens.weight").contains("BF16").contains("139 tensors");
    }

    @Test
    void generateWritesTheGoldenLayoutAndModelInitRoundTrips(@TempDir Path dir) throws Exception {
        Path fixture = Path.of(System.getProperty("flyer.fixtures", "../../shared/fixtures")).resolve("tiny-v3");
        Path logits = dir.resolve("logits.json");
        Result r = run("generate", "--model", fixture.toString(), "--tokens", "203,339,321,318,423,29,235",
                "--max-tokens", "4", "--logits-out", logits.toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo("494,353,71,336");
        com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(logits.toFile());
        assertThat(json.get("decode")).hasSize(4);
        assertThat(json.get("prefill_last_logits")).hasSize(512);
        assertThat(json.get("decode").get(0).get("logits")).isEqualTo(json.get("prefill_last_logits"));
        Path model = dir.resolve("v2");
        assertThat(run("model", "init", "--preset", "tiny-v2lite", "--layers", "2", "--out", model.toString()).status()).isZero();
        Result info = run("model", "info", "--model", model.toString());
        assertThat(info.out()).contains("deepseek_v2: 2 layers (1 dense)").contains("softmax/greedy");
        Result bad = run("generate", "--model", model.toString(), "--tokens", "1,2,9999");
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("token 9999 at 2 is outside the vocabulary of 512");
        assertThat(run("model", "init", "--preset", "gpt", "--out", model.toString()).err())
                .contains("preset must be tiny-v3, tiny-v2lite or v2lite-shaped, got gpt");
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 180, unit = java.util.concurrent.TimeUnit.SECONDS)
    void fsUpPutGetLsMvRmDown(@TempDir Path dir) throws Exception {
        Path cluster = dir.resolve("cluster");
        String d = cluster.toString();
        Result up = run("fs", "up", "--dir", d, "--nodes", "2", "--targets-per-node", "1", "--replicas", "2",
                "--heartbeat-ms", "100", "--failure-ms", "1000", "--kv-process"); // the default, KV in meta, is ProcessClusterTest's
        try {
            assertThat(up.status()).as(up.err()).isZero();
            assertThat(up.out()).contains("cluster up:").contains("storage").contains("meta");
            assertThat(Files.readString(cluster.resolve("cluster.json"))).contains("\"role\" : \"mgmtd\"").contains("\"pid\"")
                    .contains("\"role\" : \"kv\"");
            byte[] data = new byte[3_000_000];
            new java.util.Random(3).nextBytes(data);
            Path local = dir.resolve("in.bin");
            Files.write(local, data);
            assertThat(run("fs", "mkdir", "-p", "/a/b", "--dir", d).status()).isZero();
            assertThat(run("fs", "put", local.toString(), "/a/b/f", "--dir", d).status()).isZero();
            assertThat(run("fs", "ls", "-l", "/a/b", "--dir", d).out()).contains("3000000").contains("f");
            assertThat(run("fs", "mv", "/a/b/f", "/a/g", "--dir", d).status()).isZero();
            Path back = dir.resolve("out.bin");
            assertThat(run("fs", "get", "/a/g", back.toString(), "--dir", d).status()).isZero();
            assertThat(Files.readAllBytes(back)).isEqualTo(data);
            assertThat(run("fs", "chains", "--dir", d).out()).contains("SERVING");
            assertThat(run("fs", "df", "--dir", d).out()).contains("total 6000000 bytes");
            Result missing = run("fs", "cat", "/nope", "--dir", d);
            assertThat(missing.status()).isEqualTo(1);
            assertThat(missing.err()).contains("flyer: error: ENOENT: /nope");
            assertThat(run("fs", "rm", "/a", "--dir", d).err()).contains("EISDIR");
            assertThat(run("fs", "rm", "-r", "/a", "--dir", d).status()).isZero();
            assertThat(run("fs", "ls", "/", "--dir", d).out()).isEmpty();
        } catch (AssertionError | RuntimeException e) { // up stops what it started when it fails; down must not hide why
            run("fs", "down", "--dir", d);
            throw e;
        }
        Result down = run("fs", "down", "--dir", d);
        assertThat(down.out()).as(down.err()).contains("stopped 6 processes");
    }
}
