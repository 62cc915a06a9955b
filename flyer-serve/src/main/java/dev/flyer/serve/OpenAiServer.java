package dev.flyer.serve;

import dev.flyer.serve.internal.HttpApi;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;

/**
 * The OpenAI-compatible HTTP server over an {@link Engine}: {@code /v1/chat/completions} and
 * {@code /v1/completions} (streaming as server-sent events, or whole), {@code /v1/models},
 * {@code /health}, {@code /metrics} (Prometheus).
 *
 * <p>Contract: binds where told (loopback by default in the CLI); with an API key every
 * {@code /v1} request needs {@code Authorization: Bearer KEY}. Bad requests get a 4xx with an
 * OpenAI-style body {@code {"error": {"message", "type", "param", "code"}}} and the server keeps
 * serving. {@link #close()} stops accepting and closes connections (the engine is the caller's).
 *
 * <p>Implementation notes: Netty (HTTP/1.1, keep-alive, 1 MiB request limit) on a small event
 * loop group; the handler parses and validates on the event loop, submits to the engine, and
 * the engine thread writes tokens back through the channel (Netty hands writes from other
 * threads to the channel's loop).
 */
public final class OpenAiServer implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel channel;

    private OpenAiServer(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** Starts serving {@code engine} as model {@code modelName} on {@code host:port} (0 = any free port). */
    public static OpenAiServer start(Engine engine, TextCodec codec, String modelName, String host, int port,
                                     String apiKey) throws InterruptedException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        HttpApi api = new HttpApi(engine, codec, modelName, apiKey);
        try {
            Channel ch = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), api.handler());
                        }
                    })
                    .bind(host, port).sync().channel();
            return new OpenAiServer(group, ch);
        } catch (RuntimeException | InterruptedException e) {
            group.shutdownGracefully();
            throw e;
        }
    }

    /** The bound port. */
    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully().syncUninterruptibly();
    }
}
