package dev.flyer.fs.rpc;

import dev.flyer.fs.rpc.internal.Frames;
import dev.flyer.fs.rpc.internal.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A Netty RPC server: frames in, one handler call per request on a virtual thread (handlers may
 * block: a storage write waits for its chain), the response or error frame out. Errors are mapped
 * to (domain, code, message) by the registered {@link RpcErrorMapper}s; anything unmapped is
 * "internal".
 */
public final class RpcServer implements AutoCloseable {
    /** Handles one request: reads its body, writes the response body. */
    @FunctionalInterface
    public interface Handler {
        void handle(MessageReader request, MessageWriter response) throws Exception;
    }

    private final Map<Integer, Handler> handlers = new ConcurrentHashMap<>();
    private final java.util.Set<Integer> inline = ConcurrentHashMap.newKeySet();
    private final List<RpcErrorMapper> mappers = new CopyOnWriteArrayList<>();
    private final ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
    private Channel channel;

    public RpcServer handle(int method, Handler h) {
        if (handlers.putIfAbsent(method, h) != null) {
            throw new IllegalStateException("method " + method + " already has a handler");
        }
        return this;
    }

    /**
     * Like {@link #handle}, but the handler runs on the I/O thread that read the request: for short
     * handlers that never block (no RPC, no lock held across I/O), it saves two thread hand-offs.
     */
    public RpcServer handleInline(int method, Handler h) {
        handle(method, h);
        inline.add(method);
        return this;
    }

    public RpcServer errors(RpcErrorMapper m) {
        mappers.add(m);
        return this;
    }

    /** Binds {@code host:port} (port 0 picks one) and returns the bound address. */
    public InetSocketAddress start(String host, int port) {
        ServerBootstrap b = new ServerBootstrap().group(Transports.group()).channel(Transports.serverChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.RECVBUF_ALLOCATOR, new io.netty.channel.AdaptiveRecvByteBufAllocator(4096, 65536, 4 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(Transports.flushConsolidation(), Frames.decoder(), new Dispatch());
                    }
                });
        try {
            channel = b.bind(host, port).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RpcException("rpc", "INTERRUPTED", "bind interrupted");
        } catch (Exception e) {
            throw new RpcException("rpc", "BIND_FAILED", "cannot listen on " + host + ":" + port + ": " + e.getMessage());
        }
        return (InetSocketAddress) channel.localAddress();
    }

    private final class Dispatch extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            int kind = frame.getByte(3);
            int method = frame.getUnsignedShort(4);
            long id = frame.getLong(8);
            int length = frame.getInt(16);
            if (kind != Frames.REQUEST) {
                return;
            }
            if (Frames.crc(frame, Frames.HEADER, length) != frame.getInt(20)) {
                reply(ctx, Frames.ERROR, method, id, w -> w.putString("rpc").putString("BAD_FRAME").putString("request body CRC32C mismatch"));
                return;
            }
            ByteBuf body = frame.retainedSlice(Frames.HEADER, length);
            Runnable task = () -> {
                try {
                    Handler h = handlers.get(method);
                    if (h == null) {
                        reply(ctx, Frames.ERROR, method, id, w -> w.putString("rpc").putString("NO_SUCH_METHOD").putString("method " + method));
                        return;
                    }
                    ByteBuf out = Frames.start(ctx.alloc(), 256);
                    try {
                        h.handle(new MessageReader(body), new MessageWriter(out));
                    } catch (Throwable t) {
                        out.release();
                        String[] dc = map(t);
                        reply(ctx, Frames.ERROR, method, id, w -> w.putString(dc[0]).putString(dc[1]).putString(String.valueOf(t.getMessage())));
                        return;
                    }
                    ctx.writeAndFlush(Frames.seal(out, Frames.RESPONSE, method, id));
                } finally {
                    body.release();
                }
            };
            if (inline.contains(method)) {
                task.run();
            } else {
                workers.execute(task);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private String[] map(Throwable t) {
        for (RpcErrorMapper m : mappers) {
            String[] dc = m.map(t);
            if (dc != null) {
                return dc;
            }
        }
        if (t instanceof RpcException r) {
            return new String[] {r.domain(), r.code()};
        }
        return new String[] {"internal", t.getClass().getSimpleName()};
    }

    private static void reply(ChannelHandlerContext ctx, int kind, int method, long id, java.util.function.Consumer<MessageWriter> body) {
        ByteBuf out = Frames.start(ctx.alloc(), 128);
        body.accept(new MessageWriter(out));
        ctx.writeAndFlush(Frames.seal(out, kind, method, id));
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        workers.shutdownNow();
    }
}
