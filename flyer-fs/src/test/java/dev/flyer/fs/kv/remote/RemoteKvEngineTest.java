package dev.flyer.fs.kv.remote;

import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.kv.KvEngineContractAccess;
import dev.flyer.fs.kv.KvFaults;
import dev.flyer.fs.kv.MemKvEngine;
import dev.flyer.fs.rpc.RpcServer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;

/** The KV contract over RPC: a {@link KvServer} on a {@link MemKvEngine}, used through {@link RemoteKvEngine}. */
class RemoteKvEngineTest extends KvEngineContractAccess {
    private final List<AutoCloseable> servers = new ArrayList<>();
    private MemKvEngine backing;

    @Override
    protected KvEngine open(long windowNs) {
        backing = new MemKvEngine(windowNs);
        RpcServer rpc = new RpcServer();
        KvServer kv = new KvServer(backing, rpc, TimeUnit.SECONDS.toNanos(30));
        int port = rpc.start("127.0.0.1", 0).getPort();
        servers.add(kv);
        servers.add(rpc);
        return new RemoteKvEngine("127.0.0.1:" + port, TimeUnit.SECONDS.toNanos(10));
    }

    @Override
    protected KvFaults faults() {
        return backing.faults();
    }

    @AfterEach
    void stopServers() throws Exception {
        for (AutoCloseable c : servers) {
            c.close();
        }
    }
}
