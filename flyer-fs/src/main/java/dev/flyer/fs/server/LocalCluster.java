package dev.flyer.fs.server;

import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.mgmtd.MgmtdClient;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A whole cluster in one JVM over loopback RPC (the tests' "fabric"): one KV engine shared by two
 * cluster managers (primary and standby) and a metadata server, and N storage servers with T
 * targets each under {@code dir/node-N/target-T}. Nodes can be stopped and restarted on the same
 * directories to exercise failure detection and recovery.
 */
public final class LocalCluster implements AutoCloseable {
    private final Path dir;
    private final KvEngine kv;
    private final MgmtdConfig timing;
    private final int targetsPerNode;
    private final List<MgmtdServer> managers = new ArrayList<>();
    private final List<StorageServer> storage = new ArrayList<>();
    private final MetaServer meta;

    public LocalCluster(Path dir, KvEngine kv, int nodes, int targetsPerNode, int replicas, MgmtdConfig timing) {
        this.dir = dir;
        this.kv = kv;
        this.timing = timing;
        this.targetsPerNode = targetsPerNode;
        managers.add(new MgmtdServer(1, kv, "127.0.0.1", 0, timing));
        managers.add(new MgmtdServer(2, kv, "127.0.0.1", 0, timing));
        MgmtdClient m = new MgmtdClient(mgmtdAddresses(), timing.heartbeatIntervalNs(), TimeUnit.SECONDS.toNanos(30));
        m.initChains(nodes, targetsPerNode, replicas);
        for (int n = 1; n <= nodes; n++) {
            storage.add(startStorage(n));
        }
        meta = new MetaServer(1, kv, "127.0.0.1", 0, mgmtdAddresses(), timing, timing.failureTimeoutNs(),
                2 * TimeUnit.NANOSECONDS.toMillis(timing.failureTimeoutNs()));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (m.refresh().nodeAddresses().size() < nodes || m.routing().metaAddresses().isEmpty()) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("local cluster did not come up within 30 s");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    private StorageServer startStorage(int node) {
        List<Path> dirs = new ArrayList<>();
        for (int t = 0; t < targetsPerNode; t++) {
            dirs.add(dir.resolve("node-" + node).resolve("target-" + t));
        }
        return new StorageServer(node, dirs, "127.0.0.1", 0, mgmtdAddresses(), timing, false);
    }

    public List<String> mgmtdAddresses() {
        return managers.stream().map(MgmtdServer::address).toList();
    }

    public String mgmtd() {
        return String.join(",", mgmtdAddresses());
    }

    public FsClient client(long deadlineNs) {
        return FsClient.connect(mgmtd(), deadlineNs);
    }

    public KvEngine kv() {
        return kv;
    }

    public MetaServer meta() {
        return meta;
    }

    public List<MgmtdServer> managers() {
        return managers;
    }

    /** The storage server of node {@code n} (1-based), or null while stopped. */
    public StorageServer storage(int n) {
        return storage.get(n - 1);
    }

    /** Stops node {@code n} abruptly (its RPC server and loop stop; its data stays on disk). */
    public void stopStorage(int n) {
        StorageServer s = storage.set(n - 1, null);
        if (s != null) {
            s.close();
        }
    }

    public void restartStorage(int n) {
        storage.set(n - 1, startStorage(n));
    }

    @Override
    public void close() {
        meta.close();
        storage.stream().filter(java.util.Objects::nonNull).forEach(StorageServer::close);
        managers.forEach(MgmtdServer::close);
        kv.close();
    }
}
