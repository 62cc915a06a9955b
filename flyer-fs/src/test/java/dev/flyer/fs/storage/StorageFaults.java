package dev.flyer.fs.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/** Faults a bad disk would make, in place in a target's pack files (no metadata changes, no stamp moves). */
public final class StorageFaults {
    private StorageFaults() {}

    /** Flips bit {@code mask} of byte {@code at} of the chunk's committed version, where it lies on disk. */
    public static void flipCommittedByte(ChunkEngine engine, ChunkId chunk, long at, int mask) {
        ChunkEngine.Location where = engine.location(chunk, engine.meta(chunk).committedVersion());
        try (FileChannel ch = FileChannel.open(where.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, where.offset() + at);
            one.put(0, (byte) (one.get(0) ^ mask)).rewind();
            ch.write(one, where.offset() + at);
            ch.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
