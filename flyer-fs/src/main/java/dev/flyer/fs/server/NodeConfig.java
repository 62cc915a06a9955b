package dev.flyer.fs.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * One fs process's configuration file (JSON), for {@code flyer fs kv|mgmtd|meta|storage --config FILE}.
 * Fields a role does not use are ignored; unknown fields are ignored too (newer files, older binaries).
 *
 * <pre>
 *   {"role": "storage", "id": 1, "host": "127.0.0.1", "port": 0,
 *    "targets": ["/data/t1", "/data/t2"], "mgmtd": ["127.0.0.1:7001", "127.0.0.1:7002"],
 *    "heartbeatMs": 200, "failureMs": 1000, "fsync": false}
 * </pre>
 * kv: {@code dir} (RocksDB directory); mgmtd and meta: {@code kv} (the KV service's host:port);
 * meta: {@code gcDelayMs}, and either {@code kv} or {@code dir} (the meta process holds the KV in
 * that RocksDB directory and serves it at its own address).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record NodeConfig(String role, int id, String host, int port, String dir, List<String> targets, String kv,
        List<String> mgmtd, long heartbeatMs, long failureMs, long gcDelayMs, boolean fsync) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static NodeConfig read(Path file) throws IOException {
        NodeConfig c = JSON.readValue(file.toFile(), NodeConfig.class);
        if (c.role == null) {
            throw new IllegalArgumentException(file + ": \"role\" is required (kv, mgmtd, meta or storage)");
        }
        return c;
    }

    public void write(Path file) throws IOException {
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), this);
    }

    public String hostOrDefault() {
        return host == null ? "127.0.0.1" : host;
    }
}
