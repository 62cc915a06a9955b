package dev.flyer.dist.internal;

import dev.flyer.dist.IoVector;
import dev.flyer.dist.TcpStore;
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
 * messages are not copied in Java.
 *
 * <p>Implementation notes: every rank listens on an ephemeral port published in the store as
 * {@code tcp/<rank>}; a sender connects, says its rank, and the receiver's acceptor hands the
 * channel to whoever waits for that peer. A peer that closes mid-message is reported as such.
 */
public final class TcpLinks implements Links.Factory {
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
        return new Links.Out() {
            @Override
            public void send(IoVector payload, int tag) throws IOException {
                header.clear();
                header.putInt(tag).putLong(payload.byteSize()).flip();
                writeFully(ch, header);
                for (int i = 0; i < payload.count(); i++) {
                    writeFully(ch, payload.segment(i).asSlice(payload.offset(i), payload.length(i)).asByteBuffer());
                }
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
                for (int i = 0; i < dst.count(); i++) {
                    readFully(ch, dst.segment(i).asSlice(dst.offset(i), dst.length(i)).asByteBuffer(), peer);
                }
            }

            @Override
            public void close() {
                closeQuietly(ch);
            }
        };
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
