package dev.flyer.bench.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Waits for the machine's disks to go quiet: no sector written or discarded for a while, per
 * {@code /proc/diskstats}. A benchmark row that follows a write row would otherwise share the
 * disk with the deletes and discards the writes left behind (a file system's chunk garbage
 * collection, a mount with {@code discard}), and whichever side ran next would pay for them.
 *
 * <p>Fields follow the kernel's Documentation/admin-guide/iostats.rst: per device, the 10th value
 * is sectors written and the 17th sectors discarded. Where the file is missing (not Linux) this
 * waits for nothing.
 */
public final class DiskQuiet {
    private static final Path STATS = Path.of("/proc/diskstats");

    private DiskQuiet() {}

    /**
     * Returns once no sector was written or discarded for {@code quietMs}, or after
     * {@code maxMs}; the answer is the milliseconds waited.
     */
    public static long await(long quietMs, long maxMs) {
        long start = System.nanoTime();
        long end = start + TimeUnit.MILLISECONDS.toNanos(maxMs);
        long last = sectorsMoved();
        if (last < 0) {
            return 0;
        }
        while (System.nanoTime() < end) {
            sleep(quietMs);
            long now = sectorsMoved();
            if (now == last) {
                break;
            }
            last = now;
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    /** Sectors written plus discarded over all whole devices, or -1 when unknown. */
    static long sectorsMoved() {
        try {
            long total = 0;
            for (String line : Files.readAllLines(STATS)) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 14 || !isWholeDevice(f[2])) {
                    continue;
                }
                total += Long.parseLong(f[9]);
                if (f.length >= 17) {
                    total += Long.parseLong(f[16]);
                }
            }
            return total;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Disks, not their partitions, loop or RAM devices: vda, sda, nvme0n1 (a partition is vda1, nvme0n1p1). */
    static boolean isWholeDevice(String name) {
        if (name.startsWith("loop") || name.startsWith("ram") || name.startsWith("zram")) {
            return false;
        }
        return name.startsWith("nvme") ? !name.matches(".*p\\d+") : !name.matches(".*\\d");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
