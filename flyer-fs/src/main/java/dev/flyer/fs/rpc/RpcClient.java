package dev.flyer.fs.rpc;

import dev.flyer.fs.rpc.internal.Frames;
import dev.flyer.fs.rpc.internal.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A connection to one RPC server, shared by many threads: requests are multiplexed by id over one
 * channel, each waits for its response up to its timeout ({@code rpc/TIMEOUT}); a closed or
 * refused connection fails its calls with {@code rpc/UNREACHABLE} and the next call reconnects.
 * Get instances from {@link #to(String)}.
 */
public final class RpcClient {
    private static final Map<String, RpcClient> CLIENTS = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();

    private final String address;
    private final Map<Long, CompletableFuture<ByteBuf>> pending = new ConcurrentHashMap<>();
    private volatile Channel channel;

    private RpcClient(String address) {
        this.address = address;
    }

    /** The shared client for {@code host:port}. */
    public static RpcClient to(String address) {
        return CLIENTS.computeIfAbsent(address, RpcClient::new);
    }

    public String address() {
        return address;
    }

    /** Calls {@code method}; {@code body} writes the request; {@code parse} reads the response. */
    public <T> T call(int method, Consumer<MessageWriter> body, Function<MessageReader, T> parse, long timeoutNs) {
        Channel ch = connect(timeoutNs);
        long id = IDS.incrementAndGet();
        CompletableFuture<ByteBuf> f = new CompletableFuture<>();
        pending.put(id, f);
        ByteBuf out = Frames.start(ByteBufAllocator.DEFAULT, 256);
        try {
            body.accept(new MessageWriter(out));
        } catch (RuntimeException e) {
            out.release();
            pending.remove(id);
            throw e;
        }
        ch.writeAndFlush(Frames.seal(out, Frames.REQUEST, method, id)).addListener(w -> {
            if (!w.isSuccess()) {
                fail(id, new RpcException("rpc", "UNREACHABLE", "send to " + address + " failed: " + w.cause()));
            }
        });
        ByteBuf frame;
        try {
            frame = f.get(timeoutNs, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.remove(id);
            throw new RpcException("rpc", "TIMEOUT", "method " + method + " on " + address + " took longer than "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pending.remove(id);
            throw new RpcException("rpc", "INTERRUPTED", "call to " + address + " interrupted");
        } catch (ExecutionException e) {
            throw (RuntimeException) e.getCause();
        }
        try {
            MessageReader r = new MessageReader(frame.slice(Frames.HEADER, frame.getInt(16)));
            if (frame.getByte(3) == Frames.ERROR) {
                throw new RpcException(r.getString(), r.getString(), r.getString());
            }
            return parse.apply(r);
        } finally {
            frame.release();
        }
    }

    /** Sends a request and does not wait: its response, if any, is dropped (e.g. releasing server state). */
    public void send(int method, Consumer<MessageWriter> body, long timeoutNs) {
        Channel ch = connect(timeoutNs);
        ByteBuf out = Frames.start(ByteBufAllocator.DEFAULT, 64);
        try {
            body.accept(new MessageWriter(out));
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
        ch.writeAndFlush(Frames.seal(out, Frames.REQUEST, method, IDS.incrementAndGet()));
    }

    private Channel connect(long timeoutNs) {
        Channel ch = channel;
        if (ch != null && ch.isActive()) {
            return ch;
        }
        synchronized (this) {
            if (channel != null && channel.isActive()) {
                return channel;
            }
            int colon = address.lastIndexOf(':');
            if (colon < 0) {
                throw new RpcException("rpc", "UNREACHABLE", "address must be host:port, got " + address);
            }
            Bootstrap b = new Bootstrap().group(Transports.group()).channel(Transports.channel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.RECVBUF_ALLOCATOR, new io.netty.channel.AdaptiveRecvByteBufAllocator(4096, 65536, 4 << 20))
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, Math.min(10_000, timeoutNs / 1_000_000)))
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(Transports.flushConsolidation(), Frames.decoder(), new Responses());
                        }
                    });
            try {
                var cf = b.connect(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))).await();
                if (!cf.isSuccess()) {
                    throw new RpcException("rpc", "UNREACHABLE", "cannot connect to " + address + ": " + cf.cause());
                }
                channel = cf.channel();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RpcException("rpc", "INTERRUPTED", "connect to " + address + " interrupted");
            }
            return channel;
        }
    }

    private void fail(long id, RpcException e) {
        CompletableFuture<ByteBuf> f = pending.remove(id);
        if (f != null) {
            f.completeExceptionally(e);
        }
    }

    private final class Responses extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            long id = frame.getLong(8);
            int length = frame.getInt(16);
            if (Frames.crc(frame, Frames.HEADER, length) != frame.getInt(20)) {
                fail(id, new RpcException("rpc", "BAD_FRAME", "response body CRC32C mismatch from " + address));
                return;
            }
            CompletableFuture<ByteBuf> f = pending.remove(id);
            if (f != null && !f.complete(frame.retain())) {
                frame.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            for (Long id : pending.keySet()) {
                fail(id, new RpcException("rpc", "UNREACHABLE", "connection to " + address + " closed"));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
