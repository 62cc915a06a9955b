package dev.flyer.fs.nio;

import dev.flyer.fs.client.FsFile;
import dev.flyer.fs.meta.FsException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;

/**
 * A {@link SeekableByteChannel} over an {@link FsFile}. Writes are gathered into a 4 MiB buffer
 * and sent as one batched write (many small writes, as {@code Files.write} issues, would otherwise
 * each cross the chain); a read, a seek away from the buffer's end, or close sends it first.
 */
final class FlyerChannel implements SeekableByteChannel {
    private static final int BUFFER = 4 << 20;

    private final FsFile file;
    private final boolean writable;
    private final boolean append;
    private final byte[] pending;
    private long pendingAt;
    private int pendingLength;
    private long position;
    private boolean open = true;

    FlyerChannel(FsFile file, boolean writable, boolean append) {
        this.file = file;
        this.writable = writable;
        this.append = append;
        this.pending = writable ? new byte[BUFFER] : null;
        this.position = append ? file.length() : 0;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        ensureOpen();
        flush();
        int want = dst.remaining();
        if (position >= file.length()) {
            return want == 0 ? 0 : -1;
        }
        byte[] b = new byte[Math.min(want, 8 << 20)];
        int n = io(() -> file.read(position, b, 0, b.length));
        dst.put(b, 0, n);
        position += n;
        return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        ensureOpen();
        if (!writable) {
            throw new NonWritableChannelException();
        }
        if (append) {
            position = Math.max(position, file.length() + pendingLength);
        }
        int n = src.remaining();
        while (src.hasRemaining()) {
            if (pendingLength == pending.length || (pendingLength > 0 && pendingAt + pendingLength != position)) {
                flush();
            }
            if (pendingLength == 0) {
                pendingAt = position;
            }
            int k = Math.min(src.remaining(), pending.length - pendingLength);
            src.get(pending, pendingLength, k);
            pendingLength += k;
            position += k;
        }
        return n;
    }

    private void flush() throws IOException {
        if (pendingLength > 0) {
            long at = pendingAt;
            int len = pendingLength;
            io(() -> {
                file.write(at, pending, 0, len);
                return 0;
            });
            pendingLength = 0;
        }
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public SeekableByteChannel position(long newPosition) throws IOException {
        ensureOpen();
        if (newPosition < 0) {
            throw new IllegalArgumentException("negative position " + newPosition);
        }
        position = newPosition;
        return this;
    }

    @Override
    public long size() throws IOException {
        ensureOpen();
        return pendingLength > 0 ? Math.max(file.length(), pendingAt + pendingLength) : file.length();
    }

    @Override
    public SeekableByteChannel truncate(long size) throws IOException {
        ensureOpen();
        if (!writable) {
            throw new NonWritableChannelException();
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        flush();
        if (size < file.length()) {
            io(() -> {
                file.truncate(size);
                return 0;
            });
        }
        position = Math.min(position, size);
        return this;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() throws IOException {
        if (!open) {
            return;
        }
        try {
            flush();
        } finally {
            open = false;
            io(() -> {
                file.close();
                return 0;
            });
        }
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!open) {
            throw new ClosedChannelException();
        }
    }

    interface Io {
        int run();
    }

    static int io(Io op) throws IOException {
        try {
            return op.run();
        } catch (FsException e) {
            throw FlyerFileSystemProvider.toIo(e, null);
        }
    }
}
