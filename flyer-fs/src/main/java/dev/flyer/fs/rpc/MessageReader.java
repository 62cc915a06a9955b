package dev.flyer.fs.rpc;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Reads what {@link MessageWriter} wrote; a struct's unknown trailing fields are skipped. */
public final class MessageReader {
    private final ByteBuf buf;

    public MessageReader(ByteBuf buf) {
        this.buf = buf;
    }

    public boolean getBool() {
        return buf.readByte() != 0;
    }

    public int getInt() {
        return buf.readInt();
    }

    public long getLong() {
        return buf.readLong();
    }

    public byte[] getBytes() {
        int n = buf.readInt();
        if (n < 0) {
            return null;
        }
        byte[] b = new byte[n];
        buf.readBytes(b);
        return b;
    }

    /** Reads length-prefixed bytes straight into {@code dst} at {@code offset}; returns their count. */
    public int getBytesInto(byte[] dst, int offset) {
        int n = buf.readInt();
        if (n < 0) {
            return 0;
        }
        buf.readBytes(dst, offset, n);
        return n;
    }

    public String getString() {
        byte[] b = getBytes();
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    public int[] getInts() {
        int[] v = new int[buf.readInt()];
        for (int i = 0; i < v.length; i++) {
            v[i] = buf.readInt();
        }
        return v;
    }

    /** Reads one struct with {@code body}, then skips whatever fields it did not read. */
    public <T> T struct(Function<MessageReader, T> body) {
        int n = buf.readInt();
        int end = buf.readerIndex() + n;
        ByteBuf slice = buf.slice(buf.readerIndex(), n);
        T t = body.apply(new MessageReader(slice));
        buf.readerIndex(end);
        return t;
    }

    public <T> List<T> getList(Function<MessageReader, T> each) {
        int n = buf.readInt();
        List<T> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(struct(each));
        }
        return out;
    }

    /** True when the struct has unread fields (a newer writer's additions can be read optionally). */
    public boolean hasMore() {
        return buf.isReadable();
    }
}
