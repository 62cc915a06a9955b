package dev.flyer.fs.client;

import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.meta.DirEntry;
import dev.flyer.fs.meta.FsException;
import dev.flyer.fs.meta.Inode;
import dev.flyer.fs.meta.InodeType;
import dev.flyer.fs.meta.MetaApi;
import dev.flyer.fs.meta.MetaService;
import dev.flyer.fs.mgmtd.MgmtdClient;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * The Flyer fs client library (3FS's native client): namespace operations through any metadata
 * server, file data straight to the storage chains. Routing comes from the cluster managers given
 * at {@link #connect} and is cached by version. Every call retries across failovers until the
 * configured deadline and then fails with a clear {@link FsException} (ENOENT, ENOTDIR, ENOSPC, or
 * EAGAIN "cluster unavailable"). Thread-safe.
 */
public final class FsClient implements AutoCloseable {
    private final MgmtdClient mgmtd;
    private final StorageClient storage;
    private final long clientId = ThreadLocalRandom.current().nextLong() & 0x3fff_ffff_ffff_ffffL | 1;
    private final AtomicLong requests = new AtomicLong();
    private final long deadlineNs;
    private final long callTimeoutNs;

    private FsClient(List<String> mgmtdAddresses, long deadlineNs, long callTimeoutNs) {
        this.deadlineNs = deadlineNs;
        this.callTimeoutNs = callTimeoutNs;
        this.mgmtd = new MgmtdClient(mgmtdAddresses, callTimeoutNs, deadlineNs);
        this.storage = new StorageClient(mgmtd, deadlineNs, callTimeoutNs, clientId);
    }

    /**
     * Connects to a cluster through its managers ({@code host:port[,host:port...]}); calls retry for
     * up to {@code deadlineNs} (use longer than the cluster's failure detection).
     */
    public static FsClient connect(String mgmtdAddresses, long deadlineNs) {
        FsClient c = new FsClient(Arrays.asList(mgmtdAddresses.split(",")), deadlineNs, Math.min(deadlineNs, TimeUnit.SECONDS.toNanos(10)));
        c.mgmtd.refresh();
        return c;
    }

    public RoutingInfo routing() {
        return mgmtd.refresh();
    }

    public StorageClient storage() {
        return storage;
    }

    long nextRequest() {
        return requests.incrementAndGet();
    }

    long clientId() {
        return clientId;
    }

    /** Runs a metadata call on some meta server, failing over to others until the deadline. */
    <T> T meta(Function<MetaApi, T> call) {
        long end = System.nanoTime() + deadlineNs;
        FsException last = null;
        for (int attempt = 0; ; attempt++) {
            List<String> metas = new ArrayList<>(mgmtd.routing().metaAddresses().values());
            if (metas.isEmpty()) {
                try {
                    metas = new ArrayList<>(mgmtd.refresh().metaAddresses().values());
                } catch (RuntimeException e) { // no cluster manager answers: retried until the deadline
                    last = new FsException(FsException.Code.UNAVAILABLE, e.getMessage());
                }
            }
            if (!metas.isEmpty()) {
                String addr = metas.get(Math.floorMod(attempt, metas.size()));
                try {
                    return call.apply(MetaService.remote(addr, callTimeoutNs));
                } catch (FsException e) {
                    if (e.code() != FsException.Code.UNAVAILABLE) {
                        throw e;
                    }
                    last = e;
                }
            }
            if (System.nanoTime() > end) {
                throw new FsException(FsException.Code.UNAVAILABLE, "cluster unavailable: no metadata server answered within "
                        + TimeUnit.NANOSECONDS.toMillis(deadlineNs) + " ms" + (last == null ? "" : "; last: " + last.getMessage()));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            try {
                mgmtd.refresh();
            } catch (RuntimeException ignored) {
                // retried until the deadline
            }
        }
    }

    public Inode stat(String path) {
        return meta(m -> m.stat(path));
    }

    public boolean exists(String path) {
        try {
            stat(path);
            return true;
        } catch (FsException e) {
            if (e.code() == FsException.Code.NOT_FOUND) {
                return false;
            }
            throw e;
        }
    }

    /** All entries of a directory (fetched in pages of 1000). */
    public List<DirEntry> list(String path) {
        List<DirEntry> all = new ArrayList<>();
        String after = "";
        while (true) {
            String from = after;
            List<DirEntry> page = meta(m -> m.list(path, from, 1000));
            all.addAll(page);
            if (page.size() < 1000) {
                return all;
            }
            after = page.getLast().name();
        }
    }

    public Inode mkdir(String path) {
        long r = nextRequest();
        return meta(m -> m.mkdir(path, 0755, clientId, r));
    }

    public Inode mkdirs(String path) {
        return meta(m -> m.mkdirs(path, 0755));
    }

    public void rename(String from, String to) {
        long r = nextRequest();
        meta(m -> {
            m.rename(from, to, clientId, r);
            return null;
        });
    }

    /** Removes a file or symlink (its chunks are collected later). */
    public void unlink(String path) {
        long r = nextRequest();
        meta(m -> m.unlink(path, clientId, r));
    }

    public void rmdir(String path) {
        long r = nextRequest();
        meta(m -> {
            m.rmdir(path, clientId, r);
            return null;
        });
    }

    public Inode symlink(String path, String target) {
        long r = nextRequest();
        return meta(m -> m.symlink(path, target, clientId, r));
    }

    public Inode truncate(String path, long length) {
        return meta(m -> m.truncate(path, length));
    }

    /** Creates a new file (EEXIST if it exists) and opens it for writing. */
    public FsFile create(String path, int chunkSize) {
        long r = nextRequest();
        Inode i = meta(m -> m.create(path, 0644, chunkSize, clientId, r));
        return new FsFile(this, path, i, true);
    }

    /** Opens an existing file; {@code write} opens a write session. */
    public FsFile open(String path, boolean write) {
        Inode i = stat(path);
        if (i.type() != InodeType.FILE) {
            throw new FsException(i.isDirectory() ? FsException.Code.IS_DIRECTORY : FsException.Code.INVALID_ARGUMENT,
                    path + " is not a regular file");
        }
        return new FsFile(this, path, i, write);
    }

    /** Creates or replaces {@code path} with {@code data}. */
    public void writeFile(String path, byte[] data) {
        if (exists(path)) {
            truncate(path, 0);
            try (FsFile f = open(path, true)) {
                f.write(0, data, 0, data.length);
            }
            return;
        }
        try (FsFile f = create(path, 0)) {
            f.write(0, data, 0, data.length);
        }
    }

    public byte[] readFile(String path) {
        try (FsFile f = open(path, false)) {
            long n = f.length();
            if (n > Integer.MAX_VALUE - 16) {
                throw new FsException(FsException.Code.INVALID_ARGUMENT, path + " is too large for one array: " + n + " bytes");
            }
            byte[] b = new byte[(int) n];
            int got = f.read(0, b, 0, b.length);
            return got == b.length ? b : Arrays.copyOf(b, got);
        }
    }

    @Override
    public void close() {}
}
