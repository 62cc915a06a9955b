package dev.flyer.core.safetensors.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flyer.core.safetensors.SafetensorsException;
import dev.flyer.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates a safetensors header before any tensor is made.
 *
 * <p>Checks, each with its own message: the file holds the 8-byte length; the length is at most
 * {@link #MAX_HEADER_BYTES} and fits the file; the header is a JSON object; every entry has a known
 * dtype, a shape of non-negative integers and {@code data_offsets [begin, end]} with
 * {@code 0 <= begin <= end <= data length}; {@code end - begin} equals the shape's element count
 * times the dtype size; no two entries' byte ranges overlap; {@code __metadata__} maps strings to
 * strings. (The reference implementation also rejects gaps between tensors; Flyer accepts them.)
 */
public final class HeaderParser {
    /** The reference implementation's limit on the header size. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor's header entry; offsets relative to the data buffer. */
    public record Entry(String name, DType dtype, long[] shape, long beginBytes, long endBytes) {}

    /** A validated header. */
    public record Header(List<Entry> entries, Map<String, String> metadata, long dataStartBytes) {}

    private HeaderParser() {}

    public static Header parse(String source, MemorySegment file) throws SafetensorsException {
        if (file.byteSize() < 8) {
            throw new SafetensorsException(source + ": file has " + file.byteSize()
                    + " bytes, too short for the 8-byte header length");
        }
        long headerBytes = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerBytes < 0 || headerBytes > MAX_HEADER_BYTES) {
            throw new SafetensorsException(source + ": header length " + Long.toUnsignedString(headerBytes)
                    + " exceeds the " + MAX_HEADER_BYTES + "-byte limit");
        }
        if (headerBytes > file.byteSize() - 8) {
            throw new SafetensorsException(source + ": header length " + headerBytes + " is larger than the "
                    + (file.byteSize() - 8) + " bytes that follow it");
        }
        byte[] text = file.asSlice(8, headerBytes).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (java.io.IOException e) {
            String why = e instanceof JacksonException je ? je.getOriginalMessage() : e.getMessage();
            throw new SafetensorsException(source + ": header is not valid JSON: " + why, e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(source + ": header must be a JSON object");
        }
        long dataBytes = file.byteSize() - 8 - headerBytes;
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals("__metadata__")) {
                readMetadata(source, field.getValue(), metadata);
            } else {
                entries.add(readEntry(source, field.getKey(), field.getValue(), dataBytes));
            }
        }
        checkOverlap(source, entries);
        return new Header(entries, metadata, 8 + headerBytes);
    }

    private static Entry readEntry(String source, String name, JsonNode node, long dataBytes)
            throws SafetensorsException {
        String where = source + ": tensor \"" + name + "\"";
        if (!node.isObject()) {
            throw new SafetensorsException(where + " is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsException(where + " has no \"dtype\" string");
        }
        DType dtype;
        try {
            dtype = DType.fromSafetensorsName(dtypeNode.asText());
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(where + ": " + e.getMessage(), e);
        }
        long[] shape = longs(where, "shape", node.get("shape"), -1);
        long[] offsets = longs(where, "data_offsets", node.get("data_offsets"), 2);
        if (offsets[0] > offsets[1] || offsets[1] > dataBytes) {
            throw new SafetensorsException(where + ": data_offsets [" + offsets[0] + ", " + offsets[1]
                    + "] are out of range of the " + dataBytes + "-byte data buffer");
        }
        long expected;
        try {
            expected = dtype.byteSize();
            for (long s : shape) {
                expected = Math.multiplyExact(expected, s);
            }
        } catch (ArithmeticException e) {
            throw new SafetensorsException(where + ": shape " + java.util.Arrays.toString(shape) + " overflows", e);
        }
        if (expected != offsets[1] - offsets[0]) {
            throw new SafetensorsException(where + ": " + dtype + java.util.Arrays.toString(shape) + " needs "
                    + expected + " bytes but data_offsets span " + (offsets[1] - offsets[0]));
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] longs(String where, String field, JsonNode node, int length) throws SafetensorsException {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new SafetensorsException(where + ": \"" + field + "\" must be an array"
                    + (length >= 0 ? " of " + length + " integers" : " of integers"));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.canConvertToExactIntegral() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new SafetensorsException(where + ": \"" + field + "\"[" + i + "] = " + v
                        + " is not a non-negative integer");
            }
            out[i] = v.asLong();
        }
        return out;
    }

    private static void readMetadata(String source, JsonNode node, Map<String, String> metadata)
            throws SafetensorsException {
        if (!node.isObject()) {
            throw new SafetensorsException(source + ": __metadata__ must be an object of strings");
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(source + ": __metadata__[\"" + e.getKey() + "\"] is not a string");
            }
            metadata.put(e.getKey(), e.getValue().asText());
        }
    }

    private static void checkOverlap(String source, List<Entry> entries) throws SafetensorsException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::beginBytes).thenComparingLong(Entry::endBytes));
        for (int i = 1; i < sorted.size(); i++) {
            Entry previous = sorted.get(i - 1);
            Entry current = sorted.get(i);
            if (current.beginBytes() < previous.endBytes()) {
                throw new SafetensorsException(source + ": tensors \"" + previous.name() + "\" [" + previous.beginBytes()
                        + ", " + previous.endBytes() + ") and \"" + current.name() + "\" [" + current.beginBytes()
                        + ", " + current.endBytes() + ") overlap");
            }
        }
    }
}
