package dev.flyer.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs DeepSeek's {@code inference/model.py} through Flyer's driver script
 * ({@code model_py_peer.py}, a resource) with the first Python on this machine that imports torch,
 * and reads back {@code {"decode_tok_s", "prefill_tok_s"}}.
 */
final class ModelPyPeer {
    private ModelPyPeer() {}

    /** {decode tok/s, prefill tok/s}, or NaNs with a note in the report when it cannot run. */
    static double[] run(Path inference, Path checkpoint, boolean quick, BenchReport report) throws IOException {
        double[] none = {Double.NaN, Double.NaN};
        if (!Files.isRegularFile(inference.resolve("model.py"))) {
            report.note("no model.py in " + inference + ": the PyTorch peer is skipped");
            return none;
        }
        String python = pythonWithTorch();
        if (python == null) {
            report.note("no Python with torch found (apt install python3-torch): the PyTorch peer is skipped");
            return none;
        }
        Path script = Files.createTempFile("model_py_peer", ".py");
        try (InputStream in = ModelPyPeer.class.getResourceAsStream("model_py_peer.py")) {
            Files.copy(in, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        try {
            Process p = new ProcessBuilder(python, script.toString(), "--inference", inference.toString(), "--checkpoint",
                    checkpoint.toString(), "--prompt-len", "256", "--steps", quick ? "8" : "24")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(20, TimeUnit.MINUTES) || p.exitValue() != 0) {
                report.note("model.py peer failed: " + out.strip().lines().reduce((a, b) -> b).orElse(""));
                return none;
            }
            String last = out.strip().lines().reduce((a, b) -> b).orElse("{}");
            JsonNode json = new ObjectMapper().readTree(last);
            report.note("model.py peer: PyTorch " + json.path("torch").asText() + " via " + python);
            return new double[] {json.path("decode_tok_s").asDouble(Double.NaN), json.path("prefill_tok_s").asDouble(Double.NaN)};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return none;
        } finally {
            Files.deleteIfExists(script);
        }
    }

    private static String pythonWithTorch() {
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            try {
                Process p = new ProcessBuilder(candidate, "-c", "import torch").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return candidate;
                }
            } catch (IOException e) {
                // not installed under this name: try the next one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }
}
