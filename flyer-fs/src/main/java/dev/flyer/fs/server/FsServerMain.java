package dev.flyer.fs.server;

import dev.flyer.fs.kv.RocksKvEngine;
import dev.flyer.fs.kv.remote.KvServer;
import dev.flyer.fs.kv.remote.RemoteKvEngine;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.rpc.RpcServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one fs service process from a {@link NodeConfig}: {@code kv} (RocksDB behind the KV RPC
 * service, the FoundationDB stand-in), {@code mgmtd}, {@code meta} or {@code storage}. A
 * {@code meta} with a {@code dir} holds the KV itself (RocksDB there) and serves it to the
 * managers on its own endpoint, so its own reads skip the network; with {@code kv} it is a
 * stateless server over a KV service, as 3FS's over FoundationDB. Prints
 * {@code READY <role> <id> <host:port>} on stdout once it serves, then runs until killed.
 */
public final class FsServerMain {
    private FsServerMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: FsServerMain CONFIG.json");
            System.exit(2);
        }
        NodeConfig c = NodeConfig.read(Path.of(args[0]));
        AutoCloseable service = start(c);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.close();
            } catch (Exception ignored) {
                // exiting anyway
            }
            stop.countDown();
        }));
        stop.await();
    }

    /** Starts the service the config describes and prints its READY line. */
    public static AutoCloseable start(NodeConfig c) {
        MgmtdConfig timing = new MgmtdConfig(TimeUnit.MILLISECONDS.toNanos(orDefault(c.heartbeatMs(), 10_000)),
                TimeUnit.MILLISECONDS.toNanos(orDefault(c.failureMs(), 60_000)), TimeUnit.MILLISECONDS.toNanos(orDefault(c.failureMs(), 60_000)));
        String host = c.hostOrDefault();
        List<AutoCloseable> parts = new ArrayList<>();
        String address;
        switch (c.role()) {
            case "kv" -> {
                RocksKvEngine engine = new RocksKvEngine(Path.of(c.dir()));
                RpcServer rpc = new RpcServer();
                KvServer kv = new KvServer(engine, rpc, TimeUnit.SECONDS.toNanos(30));
                address = host + ":" + rpc.start(host, c.port()).getPort();
                parts.add(kv);
                parts.add(rpc);
                parts.add(engine);
            }
            case "mgmtd" -> {
                MgmtdServer m = new MgmtdServer(c.id(), new RemoteKvEngine(c.kv(), timing.heartbeatIntervalNs()), host, c.port(), timing);
                address = m.address();
                parts.add(m);
            }
            case "meta" -> {
                long gcDelayNs = TimeUnit.MILLISECONDS.toNanos(orDefault(c.gcDelayMs(), 60_000));
                long sessionTimeoutMs = MetaServer.defaultSessionTimeoutMs(timing);
                if (c.dir() != null) { // this process holds the KV and serves it to the managers too
                    RocksKvEngine engine = new RocksKvEngine(Path.of(c.dir()));
                    List<KvServer> kv = new ArrayList<>(1);
                    MetaServer m = new MetaServer(c.id(), engine, host, c.port(), c.mgmtd(), timing, gcDelayNs,
                            sessionTimeoutMs, rpc -> kv.add(new KvServer(engine, rpc, TimeUnit.SECONDS.toNanos(30))));
                    address = m.address();
                    parts.add(m);
                    parts.add(kv.getFirst());
                    parts.add(engine);
                } else {
                    MetaServer m = new MetaServer(c.id(), new RemoteKvEngine(c.kv(), timing.failureTimeoutNs()), host,
                            c.port(), c.mgmtd(), timing, gcDelayNs, sessionTimeoutMs);
                    address = m.address();
                    parts.add(m);
                }
            }
            case "storage" -> {
                StorageServer s = new StorageServer(c.id(), c.targets().stream().map(Path::of).toList(), host, c.port(),
                        c.mgmtd(), timing, c.fsync());
                address = s.address();
                parts.add(s);
            }
            default -> throw new IllegalArgumentException("unknown role '" + c.role() + "': use kv, mgmtd, meta or storage");
        }
        System.out.println("READY " + c.role() + " " + c.id() + " " + address);
        System.out.flush();
        return () -> {
            for (AutoCloseable p : parts) {
                p.close();
            }
        };
    }

    private static long orDefault(long v, long d) {
        return v > 0 ? v : d;
    }
}
