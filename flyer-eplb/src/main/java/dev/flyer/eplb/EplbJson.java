package dev.flyer.eplb;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The JSON form of {@code rebalance_experts}' inputs and outputs, as {@code flyer eplb} reads and
 * writes them: input {@code {"weight": [[...]], "num_replicas": R, "num_groups": G, "num_nodes": N,
 * "num_gpus": P}} (or an array of such objects), output {@code {"phy2log", "log2phy", "logcnt"}}.
 */
public final class EplbJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One rebalance request. */
    public record Request(double[][] weight, int numReplicas, int numGroups, int numNodes, int numGpus) {
        public Placement solve(ExpertLoadBalancer.Options options) {
            return ExpertLoadBalancer.rebalance(weight, numReplicas, numGroups, numNodes, numGpus, options);
        }
    }

    /** Parsed input: the requests and whether they came as an array. */
    public record Input(List<Request> requests, boolean array) {}

    private EplbJson() {}

    /** Reads one object or an array of objects; bad JSON or fields give an exception naming them. */
    public static Input read(InputStream in) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(in);
        } catch (JacksonException e) {
            throw new IOException("input is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || root.isMissingNode()) {
            throw new IOException("input is empty; expected a JSON object or an array of them");
        }
        List<Request> requests = new ArrayList<>();
        if (root.isArray()) {
            for (int i = 0; i < root.size(); i++) {
                requests.add(request(root.get(i), "[" + i + "]"));
            }
            return new Input(requests, true);
        }
        requests.add(request(root, ""));
        return new Input(requests, false);
    }

    private static Request request(JsonNode node, String where) {
        if (!node.isObject()) {
            throw new IllegalArgumentException("input" + where + " must be a JSON object");
        }
        JsonNode weight = node.get("weight");
        if (weight == null || !weight.isArray() || weight.isEmpty()) {
            throw new IllegalArgumentException("input" + where + ".weight must be a non-empty array of rows [layers][experts]");
        }
        double[][] w = new double[weight.size()][];
        for (int l = 0; l < w.length; l++) {
            JsonNode row = weight.get(l);
            if (!row.isArray()) {
                throw new IllegalArgumentException("input" + where + ".weight[" + l + "] must be an array of numbers");
            }
            w[l] = new double[row.size()];
            for (int e = 0; e < w[l].length; e++) {
                if (!row.get(e).isNumber()) {
                    throw new IllegalArgumentException("input" + where + ".weight[" + l + "][" + e + "] = " + row.get(e)
                            + " is not a number");
                }
                w[l][e] = row.get(e).asDouble();
            }
        }
        return new Request(w, integer(node, "num_replicas", where), integer(node, "num_groups", where),
                integer(node, "num_nodes", where), integer(node, "num_gpus", where));
    }

    private static int integer(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException("input" + where + "." + field + " must be an integer, got " + v);
        }
        return v.asInt();
    }

    /** The output object of one placement. */
    public static ObjectNode toJson(Placement p) {
        ObjectNode out = JSON.createObjectNode();
        out.set("phy2log", matrix(p.phy2log()));
        ArrayNode log2phy = out.putArray("log2phy");
        for (int[][] layer : p.log2phy()) {
            log2phy.add(matrix(layer));
        }
        out.set("logcnt", matrix(p.logcnt()));
        return out;
    }

    /** Compact JSON text of a node. */
    public static String text(JsonNode node) throws IOException {
        return JSON.writeValueAsString(node);
    }

    /** An empty array node, for writing several outputs. */
    public static ArrayNode array() {
        return JSON.createArrayNode();
    }

    private static ArrayNode matrix(int[][] rows) {
        ArrayNode out = JSON.createArrayNode();
        for (int[] row : rows) {
            ArrayNode r = out.addArray();
            for (int v : row) {
                r.add(v);
            }
        }
        return out;
    }
}
