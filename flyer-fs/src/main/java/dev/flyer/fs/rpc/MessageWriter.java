package dev.flyer.fs.rpc;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Writes a message body: fixed-width big-endian numbers, length-prefixed bytes and strings, and
 * nested structs prefixed by their length so a reader that knows fewer fields skips the rest
 * (newer writers may append trailing fields; older readers ignore them). Byte payloads are copied
 * once, into the frame's buffer, which the socket then writes directly.
 */
public final class MessageWriter {
    private final ByteBuf buf;

    public MessageWriter(ByteBuf buf) {
        this.buf = buf;
    }

    public ByteBuf buffer() {
        return buf;
    }

    public MessageWriter putBool(boolean v) {
        buf.writeByte(v ? 1 : 0);
        return this;
    }

    public MessageWriter putInt(int v) {
        buf.writeInt(v);
        return this;
    }

    public MessageWriter putLong(long v) {
        buf.writeLong(v);
        return this;
    }

    /** Null-able bytes: length -1 marks null. */
    public MessageWriter putBytes(byte[] v) {
        if (v == null) {
            buf.writeInt(-1);
        } else {
            buf.writeInt(v.length).writeBytes(v);
        }
        return this;
    }

    public MessageWriter putString(String v) {
        return putBytes(v == null ? null : v.getBytes(StandardCharsets.UTF_8));
    }

    public MessageWriter putInts(int[] v) {
        buf.writeInt(v.length);
        for (int x : v) {
            buf.writeInt(x);
        }
        return this;
    }

    /** A nested struct, prefixed by its byte length. */
    public MessageWriter struct(Consumer<MessageWriter> body) {
        int at = buf.writerIndex();
        buf.writeInt(0);
        body.accept(this);
        buf.setInt(at, buf.writerIndex() - at - 4);
        return this;
    }

    /** A list of structs. */
    public <T> MessageWriter putList(List<T> items, BiConsumer<MessageWriter, T> each) {
        buf.writeInt(items.size());
        for (T t : items) {
            struct(w -> each.accept(w, t));
        }
        return this;
    }
}
