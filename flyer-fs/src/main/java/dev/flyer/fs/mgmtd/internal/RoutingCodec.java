package dev.flyer.fs.mgmtd.internal;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.PublicState;
import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.rpc.MessageReader;
import dev.flyer.fs.rpc.MessageWriter;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Wire and KV encodings of chains and routing info. */
public final class RoutingCodec {
    private RoutingCodec() {}

    public static void writeChain(MessageWriter w, Chain c) {
        w.putInt(c.chainId()).putLong(c.version()).putList(c.targets(),
                (x, t) -> x.putLong(t.targetId()).putInt(t.nodeId()).putInt(t.state().ordinal()));
    }

    public static Chain readChain(MessageReader r) {
        int id = r.getInt();
        long version = r.getLong();
        List<ChainTarget> ts = r.getList(x -> new ChainTarget(x.getLong(), x.getInt(), PublicState.values()[x.getInt()]));
        return new Chain(id, version, ts);
    }

    public static void write(MessageWriter w, RoutingInfo info) {
        w.putLong(info.version());
        w.putList(new ArrayList<>(info.chains().values()), RoutingCodec::writeChain);
        writeAddresses(w, info.nodeAddresses());
        writeAddresses(w, info.metaAddresses());
    }

    public static RoutingInfo read(MessageReader r) {
        long version = r.getLong();
        Map<Integer, Chain> chains = new HashMap<>();
        for (Chain c : r.getList(RoutingCodec::readChain)) {
            chains.put(c.chainId(), c);
        }
        return new RoutingInfo(version, chains, readAddresses(r), readAddresses(r));
    }

    private static void writeAddresses(MessageWriter w, Map<Integer, String> m) {
        w.putList(new ArrayList<>(m.entrySet()), (x, e) -> x.putInt(e.getKey()).putString(e.getValue()));
    }

    private static Map<Integer, String> readAddresses(MessageReader r) {
        Map<Integer, String> m = new HashMap<>();
        for (Object[] e : r.getList(x -> new Object[] {x.getInt(), x.getString()})) {
            m.put((Integer) e[0], (String) e[1]);
        }
        return m;
    }

    /** A chain as a KV value. */
    public static byte[] chainBytes(Chain c) {
        var buf = Unpooled.buffer();
        writeChain(new MessageWriter(buf), c);
        byte[] b = new byte[buf.readableBytes()];
        buf.readBytes(b);
        return b;
    }

    public static Chain chainFrom(byte[] b) {
        return readChain(new MessageReader(Unpooled.wrappedBuffer(b)));
    }
}
