package dev.flyer.cli.internal;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.client.FsFile;
import dev.flyer.fs.meta.DirEntry;
import dev.flyer.fs.meta.FsException;
import dev.flyer.fs.meta.Inode;
import dev.flyer.fs.meta.InodeType;
import dev.flyer.fs.server.FsServerMain;
import dev.flyer.fs.server.NodeConfig;
import dev.flyer.fs.server.ProcessCluster;
import dev.flyer.fs.storage.ChunkMeta;
import dev.flyer.fs.storage.StorageService;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flyer fs ...}: run a Flyer fs cluster (3FS) and use it. */
@Command(name = "fs", mixinStandardHelpOptions = true,
        description = {"Flyer fs, a parallel file system after deepseek-ai/3FS.",
            "`flyer fs up` starts a local cluster (KV, two cluster managers, a metadata server, storage nodes);",
            "the other commands talk to it (or to --cluster host:port[,host:port])."},
        subcommands = {FsCommand.Up.class, FsCommand.Down.class, FsCommand.Serve.class, FsCommand.Ls.class,
            FsCommand.Stat.class, FsCommand.Mkdir.class, FsCommand.Put.class, FsCommand.Get.class, FsCommand.Cat.class,
            FsCommand.Mv.class, FsCommand.Rm.class, FsCommand.Df.class, FsCommand.Chains.class})
public final class FsCommand extends CommandGroup {
    static Path defaultDir() {
        String env = System.getenv("FLYER_FS_DIR");
        return env != null ? Path.of(env) : Path.of(System.getProperty("user.home"), ".flyer", "fs");
    }

    /** Where the cluster is: --cluster, else the cluster.json of --dir. */
    static final class Target {
        @Option(names = "--cluster", paramLabel = "HOST:PORT[,HOST:PORT]", description = "Cluster managers (default: the local cluster of --dir).")
        String cluster;

        @Option(names = "--dir", paramLabel = "DIR", description = "Local cluster directory (default: $FLYER_FS_DIR or ~/.flyer/fs).")
        Path dir;

        @Option(names = "--timeout-s", defaultValue = "30", description = "Give up after this many seconds of retries (default ${DEFAULT-VALUE}).")
        long timeoutS;

        FsClient connect() throws IOException {
            String m = cluster != null ? cluster : ProcessCluster.read(dir != null ? dir : defaultDir()).mgmtd();
            return FsClient.connect(m, TimeUnit.SECONDS.toNanos(timeoutS));
        }
    }

    /** A command that talks to a cluster: connects (--cluster or the local cluster), runs, disconnects. */
    abstract static class ClientCommand implements Callable<Integer> {
        @Mixin
        Target target;

        abstract void run(FsClient c) throws Exception;

        @Override
        public Integer call() throws Exception {
            try (FsClient c = target.connect()) {
                run(c);
            }
            return 0;
        }
    }

    @Command(name = "up", mixinStandardHelpOptions = true, description = "Start a local cluster of processes and write DIR/cluster.json.")
    static final class Up implements Callable<Integer> {
        @Option(names = "--dir", paramLabel = "DIR", description = "Cluster directory (default: $FLYER_FS_DIR or ~/.flyer/fs).")
        Path dir;

        @Option(names = "--nodes", defaultValue = "3", description = "Storage nodes (default ${DEFAULT-VALUE}).")
        int nodes;

        @Option(names = "--targets-per-node", defaultValue = "2", description = "Targets per node (default ${DEFAULT-VALUE}).")
        int targets;

        @Option(names = "--replicas", defaultValue = "3", description = "Replicas per chain (default ${DEFAULT-VALUE}).")
        int replicas;

        @Option(names = "--heartbeat-ms", defaultValue = "500", description = "Heartbeat interval (default ${DEFAULT-VALUE}; 3FS: 10000).")
        long heartbeatMs;

        @Option(names = "--failure-ms", defaultValue = "5000", description = "Failure detection timeout (default ${DEFAULT-VALUE}; 3FS: 60000).")
        long failureMs;

        @Option(names = "--kv-process", description = "Run the KV as a service process of its own (as 3FS runs FoundationDB) "
                + "instead of inside the metadata server.")
        boolean kvProcess;

        @Override
        public Integer call() throws Exception {
            Path d = dir != null ? dir : defaultDir();
            ProcessCluster.Manifest m = ProcessCluster.up(d, nodes, targets, replicas, heartbeatMs, failureMs, kvProcess,
                    what -> System.err.println("starting " + what));
            System.out.println("cluster up: " + m.mgmtd());
            System.out.println("manifest:   " + ProcessCluster.manifestPath(d));
            for (ProcessCluster.Member p : m.processes()) {
                System.out.printf("  %-8s %2d  pid %-8d %s%n", p.role(), p.id(), p.pid(), p.address());
            }
            return 0;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Stop the local cluster of DIR.")
    static final class Down implements Callable<Integer> {
        @Option(names = "--dir", paramLabel = "DIR", description = "Cluster directory (default: $FLYER_FS_DIR or ~/.flyer/fs).")
        Path dir;

        @Override
        public Integer call() throws Exception {
            int n = ProcessCluster.down(dir != null ? dir : defaultDir());
            System.out.println("stopped " + n + " processes");
            return 0;
        }
    }

    @Command(name = "serve", aliases = {"kv", "mgmtd", "meta", "storage"}, mixinStandardHelpOptions = true,
            description = "Run one service in the foreground: flyer fs kv|mgmtd|meta|storage --config FILE (the role comes from the file).")
    static final class Serve implements Callable<Integer> {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "The service's JSON config.")
        Path config;

        @Override
        public Integer call() throws Exception {
            AutoCloseable s = FsServerMain.start(NodeConfig.read(config));
            CountDownLatch forever = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    s.close();
                } catch (Exception ignored) {
                    // exiting
                }
            }));
            forever.await();
            return 0;
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List a directory.")
    static final class Ls extends ClientCommand {
        @Parameters(arity = "0..1", defaultValue = "/", paramLabel = "PATH")
        String path;

        @Option(names = "-l", description = "Long format: type, length, inode.")
        boolean longFormat;

        @Override
        void run(FsClient c) throws Exception {
            for (DirEntry e : c.list(path)) {
                if (longFormat) {
                    Inode i = c.stat((path.endsWith("/") ? path : path + "/") + e.name());
                    System.out.printf("%-9s %14d  %016x  %s%n", e.type().name().toLowerCase(), i.length(), i.id(), e.name());
                } else {
                    System.out.println(e.name() + (e.type() == InodeType.DIRECTORY ? "/" : ""));
                }
            }
        }
    }

    @Command(name = "stat", mixinStandardHelpOptions = true, description = "Show an inode.")
    static final class Stat extends ClientCommand {
        @Parameters(paramLabel = "PATH")
        String path;

        @Override
        void run(FsClient c) throws Exception {
            Inode i = c.stat(path);
            System.out.printf("path:   %s%ninode:  %016x%ntype:   %s%nlength: %d%nmode:   %o%nnlink:  %d%n", path, i.id(),
                    i.type().name().toLowerCase(), i.length(), i.mode(), i.nlink());
            if (i.layout() != null) {
                System.out.printf("chunk:  %d bytes%nchains: %s%n", i.layout().chunkSize(), java.util.Arrays.toString(i.layout().chains()));
            }
            if (i.symlinkTarget() != null) {
                System.out.println("target: " + i.symlinkTarget());
            }
        }
    }

    @Command(name = "mkdir", mixinStandardHelpOptions = true, description = "Create a directory.")
    static final class Mkdir extends ClientCommand {
        @Option(names = "-p", description = "Create parents; an existing directory is fine.")
        boolean parents;

        @Parameters(paramLabel = "PATH")
        String path;

        @Override
        void run(FsClient c) throws Exception {
            if (parents) {
                c.mkdirs(path);
            } else {
                c.mkdir(path);
            }
        }
    }

    static ProgressBar bar(String task, long bytes) {
        return new ProgressBarBuilder().setTaskName(task).setInitialMax(bytes).setUnit(" MiB", 1 << 20)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(dev.flyer.bench.Progress.stderrConsumer()).build();
    }

    @Command(name = "put", mixinStandardHelpOptions = true, description = "Copy a local file into the fs (replacing the target).")
    static final class Put extends ClientCommand {
        @Parameters(index = "0", paramLabel = "LOCAL")
        Path local;

        @Parameters(index = "1", paramLabel = "REMOTE")
        String remote;

        @Override
        void run(FsClient c) throws Exception {
            try (InputStream in = Files.newInputStream(local); ProgressBar pb = bar("put", Files.size(local))) {
                if (c.exists(remote)) {
                    c.truncate(remote, 0);
                }
                try (FsFile f = c.exists(remote) ? c.open(remote, true) : c.create(remote, 0)) {
                    byte[] buf = new byte[8 << 20];
                    long pos = 0;
                    for (int n; (n = in.readNBytes(buf, 0, buf.length)) > 0; pos += n) {
                        f.write(pos, buf, 0, n);
                        pb.stepBy(n);
                    }
                }
            }
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Copy a file out of the fs.")
    static final class Get extends ClientCommand {
        @Parameters(index = "0", paramLabel = "REMOTE")
        String remote;

        @Parameters(index = "1", paramLabel = "LOCAL")
        Path local;

        @Override
        void run(FsClient c) throws Exception {
            try (FsFile f = c.open(remote, false); OutputStream out = Files.newOutputStream(local); ProgressBar pb = bar("get", f.length())) {
                copy(f, out, pb);
            }
        }
    }

    static void copy(FsFile f, OutputStream out, ProgressBar pb) throws IOException {
        byte[] buf = new byte[8 << 20];
        for (long pos = 0; pos < f.length(); ) {
            int n = f.read(pos, buf, 0, buf.length);
            out.write(buf, 0, n);
            pos += n;
            if (pb != null) {
                pb.stepBy(n);
            }
        }
    }

    @Command(name = "cat", mixinStandardHelpOptions = true, description = "Print a file.")
    static final class Cat extends ClientCommand {
        @Parameters(paramLabel = "REMOTE")
        String remote;

        @Override
        void run(FsClient c) throws Exception {
            try (FsFile f = c.open(remote, false)) {
                copy(f, System.out, null);
                System.out.flush();
            }
        }
    }

    @Command(name = "mv", mixinStandardHelpOptions = true, description = "Rename atomically (replaces a file or an empty directory).")
    static final class Mv extends ClientCommand {
        @Parameters(index = "0", paramLabel = "FROM")
        String from;

        @Parameters(index = "1", paramLabel = "TO")
        String to;

        @Override
        void run(FsClient c) throws Exception {
            c.rename(from, to);
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a file, or a directory with -r.")
    static final class Rm extends ClientCommand {
        @Option(names = "-r", description = "Remove directories and their contents.")
        boolean recursive;

        @Parameters(paramLabel = "PATH")
        String path;

        @Override
        void run(FsClient c) throws Exception {
            remove(c, path);
        }

        private void remove(FsClient c, String p) {
            Inode i = c.stat(p);
            if (!i.isDirectory()) {
                c.unlink(p);
                return;
            }
            if (!recursive) {
                throw new FsException(FsException.Code.IS_DIRECTORY, p + " (use -r)");
            }
            for (DirEntry e : c.list(p)) {
                remove(c, (p.endsWith("/") ? p : p + "/") + e.name());
            }
            c.rmdir(p);
        }
    }

    @Command(name = "df", mixinStandardHelpOptions = true, description = "Data stored per storage target.")
    static final class Df extends ClientCommand {
        @Override
        void run(FsClient c) throws Exception {
            RoutingInfo r = c.routing();
            System.out.printf("%-8s %-5s %-8s %8s %14s%n", "target", "node", "state", "chunks", "bytes");
            long total = 0;
            for (Chain ch : r.chains().values()) {
                for (ChainTarget t : ch.targets()) {
                    List<ChunkMeta> metas;
                    try {
                        metas = StorageService.remote(r.nodeAddresses().get(t.nodeId()), TimeUnit.SECONDS.toNanos(5))
                                .chunkMetas(t.targetId(), -1);
                    } catch (RuntimeException e) {
                        System.out.printf("%-8d %-5d %-8s %8s %14s%n", t.targetId(), t.nodeId(), t.state(), "?", "unreachable");
                        continue;
                    }
                    long bytes = metas.stream().mapToLong(ChunkMeta::committedLength).sum();
                    total += bytes;
                    System.out.printf("%-8d %-5d %-8s %8d %14d%n", t.targetId(), t.nodeId(), t.state(), metas.size(), bytes);
                }
            }
            System.out.printf("total %d bytes stored (all replicas)%n", total);
        }
    }

    @Command(name = "chains", mixinStandardHelpOptions = true, description = "Show the chain table.")
    static final class Chains extends ClientCommand {
        @Override
        void run(FsClient c) throws Exception {
            RoutingInfo r = c.routing();
            System.out.println("routing version " + r.version());
            for (Chain ch : r.chains().values().stream().sorted(java.util.Comparator.comparingInt(Chain::chainId)).toList()) {
                StringBuilder sb = new StringBuilder();
                for (ChainTarget t : ch.targets()) {
                    sb.append(String.format(" %d@node%d:%s", t.targetId(), t.nodeId(), t.state()));
                }
                System.out.printf("chain %3d v%-4d%s%n", ch.chainId(), ch.version(), sb);
            }
        }
    }
}
