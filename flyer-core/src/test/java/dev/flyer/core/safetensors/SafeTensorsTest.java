package dev.flyer.core.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void randomTensorsOfEveryDtypeRoundTrip() throws IOException {
        long seed = System.nanoTime();
        System.out.println("SafeTensorsTest.randomTensorsOfEveryDtypeRoundTrip seed=" + seed);
        Random random = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 20; trial++) {
                Map<String, Tensor> written = new LinkedHashMap<>();
                int count = 1 + random.nextInt(6);
                for (int i = 0; i < count; i++) {
                    DType dtype = DType.values()[random.nextInt(DType.values().length)];
                    long[] shape = new long[random.nextInt(4)];
                    for (int d = 0; d < shape.length; d++) {
                        shape[d] = random.nextInt(5);
                    }
                    Tensor t = Tensor.allocate(arena, dtype, shape);
                    byte[] bytes = new byte[(int) t.byteSize()];
                    random.nextBytes(bytes);
                    if (dtype == DType.BOOL) {
                        for (int b = 0; b < bytes.length; b++) {
                            bytes[b] &= 1;
                        }
                    }
                    MemorySegment.copy(bytes, 0, t.segment(), ValueLayout.JAVA_BYTE, 0, bytes.length);
                    written.put("t" + i + "." + dtype, t);
                }
                Path file = dir.resolve("trial" + trial + ".safetensors");
                SafetensorsWriter.write(file, written, Map.of("format", "pt", "trial", Integer.toString(trial)));
                try (SafeTensors read = SafeTensors.open(file)) {
                    assertThat(read.names()).containsExactlyElementsOf(written.keySet());
                    assertThat(read.metadata()).containsEntry("trial", Integer.toString(trial));
                    for (var e : written.entrySet()) {
                        Tensor back = read.get(e.getKey());
                        assertThat(back.dtype()).isEqualTo(e.getValue().dtype());
                        assertThat(back.shape()).isEqualTo(e.getValue().shape());
                        assertThat(back.data().toArray(ValueLayout.JAVA_BYTE))
                                .as("bytes of %s", e.getKey()).isEqualTo(e.getValue().data().toArray(ValueLayout.JAVA_BYTE));
                    }
                }
            }
        }
    }

    @Test
    void stridedTensorsAreWrittenContiguously() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.ofFloats(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);
            Path file = dir.resolve("t.safetensors");
            SafetensorsWriter.write(file, Map.of("t", t), Map.of());
            try (SafeTensors read = SafeTensors.open(file)) {
                assertThat(read.get("t").toFloatArray()).containsExactly(1, 4, 2, 5, 3, 6);
            }
            assertThat((Files.size(file) - 8) % 8).as("header padded to 8").isZero();
        }
    }

    @Test
    void shardedCheckpointThroughIndex() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter.write(dir.resolve("a.safetensors"),
                    Map.of("x", Tensor.ofFloats(arena, new float[] {1, 2})), Map.of());
            SafetensorsWriter.write(dir.resolve("b.safetensors"),
                    Map.of("y", Tensor.ofFloats(arena, new float[] {3})), Map.of());
            Files.writeString(dir.resolve(SafeTensors.INDEX_FILE),
                    "{\"metadata\":{},\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\"}}");
            try (SafeTensors read = SafeTensors.open(dir)) {
                assertThat(read.names()).containsExactly("x", "y");
                assertThat(read.get("y").getFloat(0)).isEqualTo(3f);
            }
            Files.writeString(dir.resolve(SafeTensors.INDEX_FILE), "{\"weight_map\":{\"z\":\"a.safetensors\"}}");
            assertThatThrownBy(() -> SafeTensors.open(dir)).isInstanceOf(SafetensorsException.class)
                    .hasMessageContaining("names \"z\" in a.safetensors but that shard has no such tensor");
            Files.writeString(dir.resolve(SafeTensors.INDEX_FILE), "{\"weight_map\":{\"x\":\"../a.safetensors\"}}");
            assertThatThrownBy(() -> SafeTensors.open(dir)).hasMessageContaining("outside the checkpoint folder");
        }
    }

    @Test
    void closedFileRejectsAccess() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Path file = dir.resolve("c.safetensors");
            SafetensorsWriter.write(file, Map.of("x", Tensor.ofFloats(arena, new float[] {1})), Map.of());
            Tensor x;
            try (SafeTensors read = SafeTensors.open(file)) {
                x = read.get("x");
                assertThatThrownBy(() -> read.get("nope")).hasMessageContaining("no tensor named \"nope\"");
            }
            assertThatThrownBy(() -> x.getFloat(0)).isInstanceOf(IllegalStateException.class);
        }
    }

    private Path raw(String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Path file = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(file, b.array());
        return file;
    }

    private void assertCorrupt(Path file, String message) {
        assertThatThrownBy(() -> SafeTensors.open(file)).isInstanceOf(SafetensorsException.class)
                .hasMessageContaining(message);
    }

    @Test
    void corruptFilesGiveClearErrors() throws IOException {
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertCorrupt(tiny, "too short");

        Path longHeader = dir.resolve("long.safetensors");
        Files.write(longHeader, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array());
        assertCorrupt(longHeader, "is larger than the 8 bytes that follow");

        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).array());
        assertCorrupt(huge, "exceeds the 100000000-byte limit");

        assertCorrupt(raw("not json at all", 0), "header is not valid JSON");
        assertCorrupt(raw("[1, 2]", 0), "header must be a JSON object");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "unknown dtype \"F7\"");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
                "F32[2] needs 8 bytes but data_offsets span 4");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 4), "out of range");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8), "out of range");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "overlap");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), "not a non-negative");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "\"shape\" must be an array");
        assertCorrupt(raw("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "has no \"dtype\"");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "array of 2 integers");
        assertCorrupt(raw("{\"__metadata__\":{\"k\":1}}", 0), "is not a string");
        assertCorrupt(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904, 4],\"data_offsets\":[0,4]}}", 4),
                "overflows");
    }

    @Test
    void opensTheTinyDeepSeekV3Fixture() throws IOException {
        Path fixtures = Path.of(System.getProperty("flyer.fixtures", "../../shared/fixtures"));
        Path model = fixtures.resolve("tiny-v3");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(model), "fixtures at " + model);
        try (SafeTensors read = SafeTensors.open(model)) {
            assertThat(read.names()).isNotEmpty();
            Tensor embed = read.get("model.embed_tokens.weight");
            assertThat(embed.dtype()).isEqualTo(DType.BF16);
            assertThat(embed.rank()).isEqualTo(2);
            float sum = 0;
            for (long i = 0; i < embed.size(1); i++) {
                sum += Math.abs(embed.getFloat(0, i));
            }
            assertThat(sum).isGreaterThan(0f);
        }
        try (SafeTensors fp8 = SafeTensors.open(fixtures.resolve("tiny-v3-fp8"))) {
            Tensor kva = fp8.get("model.layers.0.self_attn.kv_a_proj_with_mqa.weight");
            assertThat(kva.dtype()).isEqualTo(DType.F8_E4M3);
            assertThat(fp8.get("model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv").shape())
                    .containsExactly(2, 2);
        }
    }
}
