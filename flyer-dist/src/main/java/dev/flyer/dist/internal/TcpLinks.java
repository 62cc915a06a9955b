package dev.flyer.dist.internal;

import dev.flyer.dist.IoVector;
import dev.flyer.dist.TcpStore;
import java.lang.foreign.MemorySegment;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * TCP links: one connection per ordered pair of ranks, opened by the sender. Payloads go from
 * the caller's {@link MemorySegment} to the socket through its {@code ByteBuffer} view, so large
 * messages are not copied in Java; small pieces of a gather/scatter message (rows) are coalesced
 * through a 1 MiB staging buffer per link, so a message costs a few system calls however many
 * pieces it has.
 *
 * <p>Implementation notes: every rank listens on an ephemeral port published in the store as
 * {@code tcp/<rank>}; a sender connects, says its rank, and the receiver's acceptor hands the
 * channel to whoever waits for that peer. A peer that closes mid-message is reported as such.
 */
public final class TcpLinks implements Links.Factory {
    /** Pieces below this size are coalesced through a per-link staging buffer: one syscall, not one per row. */
    private static final int DIRECT_BYTES = 64 << 10;
    private static final int STAGING_BYTES = 1 << 20;

    private final int rank;
    private final TcpStore store;
    private final Duration timeout;
    private final ServerSocketChannel server;
    private final ConcurrentHashMap<Integer, CompletableFuture<SocketChannel>> inbound = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public TcpLinks(int rank, TcpStore store, String advertiseHost, Duration timeout) throws IOException {
        this.rank = rank;
        this.store = store;
        this.timeout = timeout;
        this.server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(0));
        store.set("tcp/" + rank, advertiseHost + ":" + ((InetSocketAddress) server.getLocalAddress()).getPort());
        Thread.ofPlatform().daemon().name("flyer-tcp-accept-" + rank).start(this::acceptLoop);
    }

    @Override
    public String name() {
        return "tcp";
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SocketChannel ch = server.accept();
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ByteBuffer hello = ByteBuffer.allocate(4);
                readFully(ch, hello, -1);
                int peer = hello.flip().getInt();
                inbound.computeIfAbsent(peer, p -> new CompletableFuture<>()).complete(ch);
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("flyer dist: rank " + rank + " failed to accept a connection: " + e.getMessage());
                }
                return;
            }
        }
    }

    @Override
    public Links.Out connect(int peer) throws IOException {
        String address = store.getString("tcp/" + peer, timeout);
        int colon = address.lastIndexOf(':');
        SocketChannel ch = SocketChannel.open();
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.connect(new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))));
        ch.write(ByteBuffer.allocate(4).putInt(0, rank));
        ByteBuffer header = ByteBuffer.allocate(Links.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer staging = ByteBuffer.allocateDirect(STAGING_BYTES);
        MemorySegment stage = MemorySegment.ofBuffer(staging);
        return new Links.Out() {
            @Override
            public void send(IoVector payload, int tag) throws IOException {
                header.clear();
                header.putInt(tag).putLong(payload.byteSize()).flip();
                writeFully(ch, header);
                staging.clear();
                for (int i = 0; i < payload.count(); i++) {
                    long length = payload.length(i);
                    if (length >= DIRECT_BYTES) {
                        flush(ch, staging);
                        writeFully(ch, payload.segment(i).asSlice(payload.offset(i), length).asByteBuffer());
                        continue;
                    }
                    for (long done = 0; done < length; ) {
                        if (!staging.hasRemaining()) {
                            flush(ch, staging);
                        }
                        int n = (int) Math.min(length - done, staging.remaining());
                        MemorySegment.copy(payload.segment(i), payload.offset(i) + done, stage, staging.position(), n);
                        staging.position(staging.position() + n);
                        done += n;
                    }
                }
                flush(ch, staging);
            }

            @Override
            public void close() {
                closeQuietly(ch);
            }
        };
    }

    @Override
    public Links.In accept(int peer) throws IOException {
        SocketChannel ch;
        try {
            ch = inbound.computeIfAbsent(peer, p -> new CompletableFuture<>()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("rank " + peer + " did not connect to rank " + rank + " within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException(e.getCause());
        }
        ByteBuffer header = ByteBuffer.allocate(Links.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer staging = ByteBuffer.allocateDirect(STAGING_BYTES);
        MemorySegment stage = MemorySegment.ofBuffer(staging);
        return new Links.In() {
            @Override
            public void recv(IoVector dst, int tag) throws IOException {
                header.clear();
                readFully(ch, header, peer);
                header.flip();
                int gotTag = header.getInt();
                long bytes = header.getLong();
                if (gotTag != tag || bytes != dst.byteSize()) {
                    throw Links.mismatch(peer, tag, dst.byteSize(), gotTag, bytes);
                }
                long left = bytes;
                staging.clear().limit(0);
                for (int i = 0; i < dst.count(); i++) {
                    long length = dst.length(i);
                    if (length >= DIRECT_BYTES && !staging.hasRemaining()) {
                        readFully(ch, dst.segment(i).asSlice(dst.offset(i), length).asByteBuffer(), peer);
                        left -= length;
                        continue;
                    }
                    for (long done = 0; done < length; ) {
                        if (!staging.hasRemaining()) {
                            int chunk = (int) Math.min(left, STAGING_BYTES);
                            staging.clear().limit(chunk);
                            readFully(ch, staging, peer);
                            staging.flip();
                            left -= chunk;
                        }
                        int n = (int) Math.min(length - done, staging.remaining());
                        MemorySegment.copy(stage, staging.position(), dst.segment(i), dst.offset(i) + done, n);
                        staging.position(staging.position() + n);
                        done += n;
                    }
                }
            }

            @Override
            public void close() {
                closeQuietly(ch);
            }
        };
    }

    /** Writes what {@code staging} holds and empties it. */
    private static void flush(SocketChannel ch, ByteBuffer staging) throws IOException {
        staging.flip();
        writeFully(ch, staging);
        staging.clear();
    }

    private static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void readFully(SocketChannel ch, ByteBuffer b, int peer) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException(peer < 0 ? "connection closed during handshake"
                        : "rank " + peer + " closed the connection (did it exit or crash?)");
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        inbound.values().forEach(f -> f.thenAccept(TcpLinks::closeQuietly));
    }
}
