package dev.flyer.fs.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RocksKvEngineTest extends KvEngineContract {
    @TempDir
    Path tmp;

    private Path dir;

    @Override
    protected KvEngine open(long windowNs) {
        try {
            dir = Files.createTempDirectory(tmp, "rocks");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new RocksKvEngine(dir, false, windowNs);
    }

    @Test
    void dataAndVersionSurviveReopen() {
        put("a", "1");
        put("b", "2");
        long version = kv.committedVersion();
        kv.close();
        kv = new RocksKvEngine(dir);
        assertThat(kv.committedVersion()).isEqualTo(version);
        assertThat(read("a")).isEqualTo("1");
        put("c", "3");
        assertThat(kv.committedVersion()).isEqualTo(version + 1);
    }
}
