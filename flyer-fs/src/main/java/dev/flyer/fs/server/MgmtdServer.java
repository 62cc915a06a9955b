package dev.flyer.fs.server;

import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.mgmtd.ClusterManager;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.mgmtd.MgmtdService;
import dev.flyer.fs.rpc.RpcServer;

/** A cluster-manager process's body: a {@link ClusterManager} behind its RPC service. */
public final class MgmtdServer implements AutoCloseable {
    private final RpcServer rpc = new RpcServer();
    private final ClusterManager manager;
    private final String address;

    public MgmtdServer(int id, KvEngine kv, String host, int port, MgmtdConfig timing) {
        address = host + ":" + rpc.start(host, port).getPort();
        manager = new ClusterManager(id, address, kv, timing);
        MgmtdService.register(manager, rpc);
    }

    public String address() {
        return address;
    }

    public ClusterManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
        rpc.close();
    }
}
