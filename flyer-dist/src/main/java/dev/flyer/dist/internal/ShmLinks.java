package dev.flyer.dist.internal;

import dev.flyer.dist.IoVector;
import dev.flyer.dist.TcpStore;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Shared-memory links between processes of one host: one {@link ShmRing} per ordered pair, in a
 * file under {@code /dev/shm} that both processes map through FFM.
 *
 * <p>Implementation notes: the sender creates {@code /dev/shm/flyer-<job>-<from>-<to>}, sized to
 * the ring, and publishes its path in the store; the receiver maps it and deletes the name at
 * once (the mapping lives on), so a finished or crashed job leaves no files once its receivers
 * have mapped. Messages are a 12-byte header (tag, length) and the payload, streamed through the
 * ring in pieces when larger than it.
 */
public final class ShmLinks implements Links.Factory {
    private static final ValueLayout.OfInt TAG = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LENGTH = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int rank;
    private final String job;
    private final TcpStore store;
    private final Duration timeout;
    private final long ringBytes;
    private final Path dir;
    private final Arena arena = Arena.ofShared();
    private final List<ShmRing> rings = new ArrayList<>();

    public ShmLinks(int rank, String job, TcpStore store, Duration timeout, long ringBytes, Path dir) {
        this.rank = rank;
        this.job = job;
        this.store = store;
        this.timeout = timeout;
        this.ringBytes = ringBytes;
        this.dir = dir;
    }

    @Override
    public String name() {
        return "shm";
    }

    @Override
    public Links.Out connect(int peer) throws IOException {
        Path file = dir.resolve("flyer-" + job + "-" + rank + "-" + peer);
        MemorySegment mapped = map(file, true);
        store.set("shm/" + rank + "/" + peer, file.toString());
        ShmRing ring = register(new ShmRing(mapped, true, timeout.toNanos(), "rank " + peer));
        MemorySegment header = arena.allocate(Links.HEADER_BYTES);
        return new Links.Out() {
            @Override
            public void send(IoVector payload, int tag) throws IOException {
                header.set(TAG, 0, tag);
                header.set(LENGTH, 4, payload.byteSize());
                ring.write(header, 0, Links.HEADER_BYTES);
                for (int i = 0; i < payload.count(); i++) {
                    ring.write(payload.segment(i), payload.offset(i), payload.length(i));
                }
            }

            @Override
            public void close() {
                ring.markClosed();
            }
        };
    }

    @Override
    public Links.In accept(int peer) throws IOException {
        Path file = Path.of(store.getString("shm/" + peer + "/" + rank, timeout));
        MemorySegment mapped = map(file, false);
        Files.deleteIfExists(file);
        ShmRing ring = register(new ShmRing(mapped, false, timeout.toNanos(), "rank " + peer));
        MemorySegment header = arena.allocate(Links.HEADER_BYTES);
        return new Links.In() {
            @Override
            public void recv(IoVector dst, int tag) throws IOException {
                ring.read(header, 0, Links.HEADER_BYTES);
                int gotTag = header.get(TAG, 0);
                long bytes = header.get(LENGTH, 4);
                if (gotTag != tag || bytes != dst.byteSize()) {
                    throw Links.mismatch(peer, tag, dst.byteSize(), gotTag, bytes);
                }
                for (int i = 0; i < dst.count(); i++) {
                    ring.read(dst.segment(i), dst.offset(i), dst.length(i));
                }
            }

            @Override
            public void close() {
                ring.markClosed();
            }
        };
    }

    private synchronized ShmRing register(ShmRing ring) {
        rings.add(ring);
        return ring;
    }

    private MemorySegment map(Path file, boolean create) throws IOException {
        long size = ShmRing.HEADER_BYTES + ringBytes;
        try (FileChannel ch = create
                ? FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (create) {
                ch.truncate(size);
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), size - 1);
            } else if (ch.size() != size) {
                throw new IOException(file + " has " + ch.size() + " bytes, expected " + size);
            }
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
        }
    }

    @Override
    public synchronized void close() {
        rings.forEach(ShmRing::markClosed);
        arena.close();
    }
}
