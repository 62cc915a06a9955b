package dev.flyer.fs.mgmtd;

import dev.flyer.fs.chain.LocalState;
import dev.flyer.fs.mgmtd.internal.RoutingCodec;
import dev.flyer.fs.rpc.RpcServer;
import java.util.HashMap;
import java.util.Map;

/** The cluster manager's RPC methods (200-299); {@link MgmtdClient} is the other side. */
public final class MgmtdService {
    static final int HEARTBEAT = 200;
    static final int ROUTING = 201;
    static final int INIT_CHAINS = 202;

    private MgmtdService() {}

    public static void register(ClusterManager m, RpcServer rpc) {
        rpc.errors(t -> t instanceof NotPrimaryException ? new String[] {"mgmtd", "NOT_PRIMARY"} : null);
        rpc.handle(HEARTBEAT, (req, resp) -> {
            boolean isStorage = req.getBool();
            int nodeId = req.getInt();
            String address = req.getString();
            Map<Long, LocalState> local = new HashMap<>();
            for (long[] e : req.getList(r -> new long[] {r.getLong(), r.getInt()})) {
                local.put(e[0], LocalState.values()[(int) e[1]]);
            }
            resp.putLong(m.heartbeat(isStorage, nodeId, address, local));
        });
        rpc.handle(ROUTING, (req, resp) -> {
            long known = req.getLong();
            var r = m.primaryRouting();
            resp.putBool(r.version() != known);
            if (r.version() != known) {
                RoutingCodec.write(resp, r);
            }
        });
        rpc.handle(INIT_CHAINS, (req, resp) -> RoutingCodec.write(resp, m.initChains(req.getInt(), req.getInt(), req.getInt())));
    }
}
