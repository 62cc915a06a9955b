package dev.flyer.bench.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Waiting for a quiet disk: which /proc/diskstats rows count, and that the wait is bounded. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DiskQuietTest {
    @Test
    void countsWholeDisksOnly() {
        assertThat(DiskQuiet.isWholeDevice("vda")).isTrue();
        assertThat(DiskQuiet.isWholeDevice("sda")).isTrue();
        assertThat(DiskQuiet.isWholeDevice("nvme0n1")).isTrue();
        assertThat(DiskQuiet.isWholeDevice("vda1")).isFalse();
        assertThat(DiskQuiet.isWholeDevice("nvme0n1p2")).isFalse();
        assertThat(DiskQuiet.isWholeDevice("loop3")).isFalse();
        assertThat(DiskQuiet.isWholeDevice("zram0")).isFalse();
    }

    @Test
    void readsTheCountersAndNeverWaitsPastItsBound() {
        if (Files.isReadable(Path.of("/proc/diskstats"))) {
            assertThat(DiskQuiet.sectorsMoved()).isGreaterThanOrEqualTo(0);
        }
        long waitedMs = DiskQuiet.await(50, 300);
        assertThat(waitedMs).isLessThan(2_000);
    }
}
