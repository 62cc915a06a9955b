package dev.flyer.fs.rpc.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.DefaultThreadFactory;

/** Netty transport choice: native epoll where it loads, NIO otherwise; one shared I/O group per process. */
public final class Transports {
    private static final boolean EPOLL = Epoll.isAvailable() && !Boolean.getBoolean("flyer.rpc.nio");
    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(
            Math.max(2, Runtime.getRuntime().availableProcessors()),
            new DefaultThreadFactory("flyer-rpc-io", true),
            EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());

    private Transports() {}

    public static EventLoopGroup group() {
        return GROUP;
    }

    public static String name() {
        return EPOLL ? "epoll" : "nio";
    }

    public static Class<? extends ServerChannel> serverChannel() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /**
     * The first handler of every RPC pipeline: flushes requested by other threads (callers, workers)
     * while the event loop has writes queued go out in one {@code writev}, and responses written
     * while a read is in progress go out when it completes. Without it each message was its own
     * {@code send}: 16 threads calling {@code stat} spent two thirds of the client's I/O thread in
     * {@code send} (perf), about 22 % of the machine.
     */
    public static ChannelHandler flushConsolidation() {
        return new FlushConsolidationHandler(FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true);
    }

    public static Class<? extends SocketChannel> channel() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }
}
