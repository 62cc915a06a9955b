package dev.flyer.fs.rpc;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Registered I/O buffers in shared memory: what RDMA gives 3FS between hosts, for peers on the
 * same host. A process owns one region (a file in {@code /dev/shm}, mapped) cut into slots; it
 * names a slot in a request ({@link Ref}) and the peer maps the region and reads or writes the
 * bytes in place, so a chunk's data crosses between processes with one copy and no socket.
 * 3FS does the same with RDMA READ/WRITE on buffers it registered (src/common/net/ib/RDMABuf.h)
 * and, for applications, with USRBIO's shared-memory iovs (src/lib/api/UsrbIo.md).
 *
 * <pre>
 *   /dev/shm/flyer-shm-PID-RANDOM
 *   0      u64 token   random; a Ref carries it, so a peer that maps another file fails cleanly
 *   4096   slot 0 | slot 1 | ... | slot n-1      (slotBytes each)
 * </pre>
 *
 * <p>Invariants: a slot belongs to one request from {@link #acquire} until {@link Slot#release};
 * {@link Slot#retire} (a call that timed out, so a late peer may still touch it) keeps it out of
 * use for {@link #QUARANTINE_NS}. Payloads carry a CRC32C, so bytes a late peer changed are
 * detected rather than used. The owner deletes its file at exit; a region whose owner died
 * (kill -9) is deleted by the next process that opens the pool. Peers map regions lazily and drop
 * the mappings of dead owners. Acquire and release allocate nothing (a bit mask).
 */
public final class SharedBuffers {
    /** How long a retired slot stays unused: longer than any call timeout a peer could still be inside. */
    public static final long QUARANTINE_NS = 120_000_000_000L;
    static final String PREFIX = "flyer-shm-";
    private static final Pattern NAME = Pattern.compile("flyer-shm-(\\d{1,10})-([0-9a-f]{16})");
    private static final long HEADER_BYTES = 4096;
    private static final Map<String, MemorySegment> PEERS = new ConcurrentHashMap<>();

    private final String region;
    private final Path file;
    private final long token;
    private final MemorySegment segment;
    private final int slotBytes;
    private final AtomicLong free;
    private final AtomicLong retired = new AtomicLong();
    private final long[] retiredAtNs;
    private final Slot[] slotObjects;
    private final MemorySegment[] slices;

    /** A slot's address for a peer: region name, token, byte offset of the slot. */
    public record Ref(String region, long token, long offset) {}

    /** One slot, held by one request. */
    public final class Slot {
        private final int index;
        private final Ref ref;

        private Slot(int index) {
            this.index = index;
            this.ref = new Ref(region, token, HEADER_BYTES + (long) index * slotBytes);
        }

        /** The slot's bytes ({@link #slotBytes()} long). */
        public MemorySegment segment() {
            return slices[index];
        }

        public Ref ref() {
            return ref;
        }

        /** Returns the slot to the pool. */
        public void release() {
            free.getAndUpdate(m -> m | (1L << index));
        }

        /** Returns the slot but keeps it out of use for {@link #QUARANTINE_NS} (a peer may still write it). */
        public void retire() {
            retiredAtNs[index] = System.nanoTime();
            retired.getAndUpdate(m -> m | (1L << index));
            release();
        }
    }

    private SharedBuffers(Path dir, int slots, int slotBytes) throws IOException {
        if (slots < 1 || slots > 64) {
            throw new IllegalArgumentException("slots must be 1..64, got " + slots);
        }
        sweepDeadOwners(dir);
        long random = new SecureRandom().nextLong();
        this.region = PREFIX + ProcessHandle.current().pid() + "-" + String.format("%016x", random);
        this.file = dir.resolve(region);
        this.slotBytes = slotBytes;
        this.token = random ^ System.nanoTime();
        this.free = new AtomicLong(slots == 64 ? -1L : (1L << slots) - 1);
        this.retiredAtNs = new long[slots];
        this.slotObjects = new Slot[slots];
        for (int i = 0; i < slots; i++) {
            slotObjects[i] = new Slot(i);
        }
        long size = HEADER_BYTES + (long) slots * slotBytes;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, Arena.global());
        }
        segment.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, token);
        slices = new MemorySegment[slots];
        for (int i = 0; i < slots; i++) {
            slices[i] = segment.asSlice(HEADER_BYTES + (long) i * slotBytes, slotBytes);
        }
        file.toFile().deleteOnExit();
    }

    /**
     * The process's pool, created on first use: 32 slots of {@code 4 MiB + 128 KiB} (a chunk piece
     * plus the checksum blocks around it) in {@code -Dflyer.fs.shmDir} (default {@code /dev/shm});
     * null when {@code -Dflyer.fs.shm=false} or the directory cannot hold it (then calls use sockets).
     */
    public static SharedBuffers local() {
        return LocalPool.POOL;
    }

    /**
     * The lazily created process pool (class initialisation makes it safe to race for: every
     * caller sees the finished pool; a double-checked flag set before the pool once handed
     * concurrent first callers null, and with it sockets for good).
     */
    private static final class LocalPool {
        static final SharedBuffers POOL = open();

        private static SharedBuffers open() {
            if (!Boolean.parseBoolean(System.getProperty("flyer.fs.shm", "true"))) {
                return null;
            }
            try {
                return new SharedBuffers(dir(), 32, (4 << 20) + (128 << 10));
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    }

    /** A private pool (tests). */
    public static SharedBuffers create(Path dir, int slots, int slotBytes) throws IOException {
        return new SharedBuffers(dir, slots, slotBytes);
    }

    /** Where regions live: {@code -Dflyer.fs.shmDir}, default {@code /dev/shm}. */
    public static Path dir() {
        return Path.of(System.getProperty("flyer.fs.shmDir", "/dev/shm"));
    }

    public int slotBytes() {
        return slotBytes;
    }

    /**
     * Removes the region's file: no new peer can map it (those that did keep their mapping). The
     * memory stays mapped here until exit; call it when the pool's user is closed.
     */
    public void delete() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // deleted at exit, or by the next process's sweep once this one is gone
        }
    }

    /** The region's file name. */
    public String region() {
        return region;
    }

    /** A free slot with room for {@code bytes}, or null (too large, or all slots busy: use the socket). */
    public Slot acquire(int bytes) {
        if (bytes > slotBytes) {
            return null;
        }
        while (true) {
            long cur = free.get();
            long usable = cur & ~quarantined();
            if (usable == 0) {
                return null;
            }
            int i = Long.numberOfTrailingZeros(usable); // lowest first: the pages already touched
            if (free.compareAndSet(cur, cur & ~(1L << i))) {
                return slotObjects[i];
            }
        }
    }

    /** Retired slots still in quarantine; those past it are cleared on the way. */
    private long quarantined() {
        long mask = retired.get();
        long out = 0;
        for (long m = mask; m != 0; m &= m - 1) {
            int i = Long.numberOfTrailingZeros(m);
            if (System.nanoTime() - retiredAtNs[i] < QUARANTINE_NS) {
                out |= 1L << i;
            } else {
                retired.getAndUpdate(r -> r & ~(1L << i));
            }
        }
        return out;
    }

    /**
     * A peer's slot bytes [offset, offset + length) of {@code ref}, mapping its region on first use.
     * Throws {@link RpcException} {@code rpc/SHM_UNAVAILABLE} when the region cannot be mapped here
     * (another host, another /dev/shm) or its token differs, and {@code rpc/BAD_SHM_REF} for a
     * malformed name or a range outside the region.
     */
    public static MemorySegment peer(Ref ref, long length) {
        MemorySegment seg = PEERS.get(ref.region()); // names in PEERS were checked when mapped
        if (seg == null) {
            if (!NAME.matcher(ref.region()).matches()) {
                throw new RpcException("rpc", "BAD_SHM_REF", "not a shared buffer region name: " + ref.region());
            }
            seg = mapPeer(ref.region());
        }
        if (seg.get(ValueLayout.JAVA_LONG_UNALIGNED, 0) != ref.token()) {
            throw new RpcException("rpc", "SHM_UNAVAILABLE", "region " + ref.region() + " here is not the caller's (token differs)");
        }
        if (ref.offset() < HEADER_BYTES || length < 0 || ref.offset() + length > seg.byteSize()) {
            throw new RpcException("rpc", "BAD_SHM_REF", "range " + ref.offset() + "+" + length + " is outside region "
                    + ref.region() + " of " + seg.byteSize() + " bytes");
        }
        return seg.asSlice(ref.offset(), length);
    }

    private static synchronized MemorySegment mapPeer(String region) {
        MemorySegment seg = PEERS.get(region);
        if (seg != null) {
            return seg;
        }
        PEERS.keySet().removeIf(r -> !ownerAlive(r)); // mappings of dead owners go (their memory with them)
        Path f = dir().resolve(region);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            seg = ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size(), Arena.ofAuto());
        } catch (IOException | UnsupportedOperationException e) {
            throw new RpcException("rpc", "SHM_UNAVAILABLE", "cannot map " + f + ": " + e.getMessage());
        }
        PEERS.put(region, seg);
        return seg;
    }

    private static boolean ownerAlive(String region) {
        Matcher m = NAME.matcher(region);
        return m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void sweepDeadOwners(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (NAME.matcher(name).matches() && !ownerAlive(name)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }
}
