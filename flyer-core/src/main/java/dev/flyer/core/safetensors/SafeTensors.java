package dev.flyer.core.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flyer.core.safetensors.internal.HeaderParser;
import dev.flyer.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The tensors of a safetensors checkpoint, memory-mapped: one {@code .safetensors} file, or a
 * sharded checkpoint through its {@code model.safetensors.index.json}.
 *
 * <p>Contract: tensors are zero-copy views of the mapped files and stay valid until
 * {@link #close()}; afterwards any access throws {@link IllegalStateException}. Opening validates
 * the whole header first (see {@link SafetensorsException} cases: header length beyond the file,
 * non-JSON header, unknown dtype, shape not matching the byte range, offsets out of range or
 * overlapping), so no tensor can read outside its file.
 *
 * <p>Implementation notes: the format (huggingface/safetensors {@code docs}): 8-byte little-endian
 * header length N, N bytes of JSON {@code {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {str: str}}}, then the byte buffer the offsets index. One shared {@link Arena}
 * owns every mapping so tensors may be read from any thread.
 */
public final class SafeTensors implements AutoCloseable {
    /** The index file name of a sharded Hugging Face checkpoint. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Arena arena;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(Arena arena, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.arena = arena;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens a {@code .safetensors} file, an index json, or a directory holding
     * {@code model.safetensors.index.json} or {@code model.safetensors}.
     */
    public static SafeTensors open(Path path) throws IOException {
        Path target = path;
        if (Files.isDirectory(path)) {
            target = Files.exists(path.resolve(INDEX_FILE)) ? path.resolve(INDEX_FILE) : path.resolve("model.safetensors");
        }
        if (!Files.isRegularFile(target)) {
            throw new java.nio.file.NoSuchFileException(target.toString(), null, "no safetensors file or index here");
        }
        Arena arena = Arena.ofShared();
        try {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            if (target.getFileName().toString().endsWith(".json")) {
                openSharded(target, arena, tensors, metadata);
            } else {
                mapFile(target, arena, tensors, metadata);
            }
            return new SafeTensors(arena, tensors, metadata);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Tensor names in file order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor called {@code name}; {@link IllegalArgumentException} naming it when absent. */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor named \"" + name + "\" (" + tensors.size() + " tensors)");
        }
        return t;
    }

    /** All tensors by name, in file order. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} strings (merged over shards). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Unmaps every file; tensors from this object become unusable. */
    @Override
    public void close() {
        arena.close();
    }

    private static void mapFile(Path file, Arena arena, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        MemorySegment mapped;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        }
        HeaderParser.Header header = HeaderParser.parse(file.toString(), mapped);
        MemorySegment data = mapped.asSlice(header.dataStartBytes());
        for (HeaderParser.Entry e : header.entries()) {
            MemorySegment bytes = data.asSlice(e.beginBytes(), e.endBytes() - e.beginBytes());
            if (tensors.putIfAbsent(e.name(), Tensor.wrap(bytes, e.dtype(), e.shape())) != null) {
                throw new SafetensorsException(file + ": tensor \"" + e.name() + "\" appears in more than one shard");
            }
        }
        metadata.putAll(header.metadata());
    }

    private static void openSharded(Path index, Arena arena, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(index.toFile());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new SafetensorsException(index + ": index is not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsException(index + ": index has no \"weight_map\" object");
        }
        Map<String, String> shardOf = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(index + ": weight_map[\"" + e.getKey() + "\"] is not a file name");
            }
            shardOf.put(e.getKey(), e.getValue().asText());
        }
        Map<String, Tensor> all = new LinkedHashMap<>();
        Path folder = index.toAbsolutePath().getParent();
        for (String shard : new java.util.LinkedHashSet<>(shardOf.values())) {
            Path file = folder.resolve(shard).normalize();
            if (!file.startsWith(folder)) {
                throw new SafetensorsException(index + ": shard \"" + shard + "\" lies outside the checkpoint folder");
            }
            mapFile(file, arena, all, metadata);
        }
        for (Map.Entry<String, String> e : shardOf.entrySet()) {
            Tensor t = all.get(e.getKey());
            if (t == null) {
                throw new SafetensorsException(index + ": weight_map names \"" + e.getKey() + "\" in " + e.getValue()
                        + " but that shard has no such tensor");
            }
            tensors.put(e.getKey(), t);
        }
    }
}
