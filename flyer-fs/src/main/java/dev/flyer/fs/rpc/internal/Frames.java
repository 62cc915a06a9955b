package dev.flyer.fs.rpc.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.util.zip.CRC32C;

/**
 * The frame: a 24-byte header, then the body.
 *
 * <pre>
 *   0  'F' 'Y'        magic
 *   2  u8 version     (1) frames of a newer version are still read: bodies only grow at the end
 *   3  u8 kind        0 request, 1 response, 2 error
 *   4  u16 method
 *   6  u16 reserved
 *   8  u64 request id
 *   16 u32 body length
 *   20 u32 CRC32C of the body
 * </pre>
 */
public final class Frames {
    public static final int HEADER = 24;
    public static final int VERSION = 1;
    public static final int REQUEST = 0;
    public static final int RESPONSE = 1;
    public static final int ERROR = 2;
    public static final int MAX_BODY = 256 << 20;

    private Frames() {}

    /** A buffer with room for the header; the body is written after it, then {@link #seal}. */
    public static ByteBuf start(ByteBufAllocator alloc, int bodyHint) {
        ByteBuf b = alloc.directBuffer(HEADER + Math.max(64, bodyHint));
        b.writerIndex(HEADER);
        return b;
    }

    public static ByteBuf seal(ByteBuf b, int kind, int method, long requestId) {
        int bodyLength = b.writerIndex() - HEADER;
        b.setByte(0, 'F').setByte(1, 'Y').setByte(2, VERSION).setByte(3, kind);
        b.setShort(4, method).setShort(6, 0).setLong(8, requestId).setInt(16, bodyLength);
        b.setInt(20, crc(b, HEADER, bodyLength));
        return b;
    }

    public static int crc(ByteBuf b, int at, int length) {
        CRC32C c = new CRC32C();
        c.update(b.nioBuffer(at, length));
        return (int) c.getValue();
    }

    /** Splits the stream into whole frames (header + body). */
    public static LengthFieldBasedFrameDecoder decoder() {
        return new LengthFieldBasedFrameDecoder(HEADER + MAX_BODY, 16, 4, 4, 0) {
            @Override
            protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
                if (in.readableBytes() >= 2 && (in.getByte(in.readerIndex()) != 'F' || in.getByte(in.readerIndex() + 1) != 'Y')) {
                    throw new IllegalStateException("not a Flyer RPC stream (bad magic)");
                }
                return super.decode(ctx, in);
            }
        };
    }
}
