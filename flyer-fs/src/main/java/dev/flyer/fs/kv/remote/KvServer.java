package dev.flyer.fs.kv.remote;

import dev.flyer.fs.kv.KeySelector;
import dev.flyer.fs.kv.KvConflictException;
import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.kv.KvException;
import dev.flyer.fs.kv.MaybeCommittedException;
import dev.flyer.fs.kv.RangeResult;
import dev.flyer.fs.kv.ReadOnlyTransaction;
import dev.flyer.fs.kv.Transaction;
import dev.flyer.fs.rpc.MessageReader;
import dev.flyer.fs.rpc.MessageWriter;
import dev.flyer.fs.rpc.RpcServer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Serves a {@link KvEngine} over RPC (the role FoundationDB's servers play for 3FS): transactions
 * live on the server, named by id, and are cancelled after {@code idleNs} without a call. Every
 * request first applies the client's buffered writes and conflict ranges, so a transaction costs
 * one round trip per read plus one for the commit. A client names its transactions and sends
 * BEGIN without waiting (one connection keeps requests in order, and BEGIN runs on the I/O thread),
 * so the snapshot is taken when the transaction is created at no round-trip cost; reads also run
 * on the I/O thread. Used through {@link RemoteKvEngine}.
 */
public final class KvServer implements AutoCloseable {
    static final int BEGIN = 100;
    static final int GET = 101;
    static final int RANGE = 102;
    static final int COMMIT = 103;
    static final int CANCEL = 104;
    static final int VERSION = 105;

    static final int OP_SET = 1;
    static final int OP_CLEAR = 2;
    static final int OP_CONFLICT = 3;

    private record Open(ReadOnlyTransaction txn, AtomicLong lastUseNs) {}

    private final KvEngine engine;
    private final Map<Long, Open> open = new ConcurrentHashMap<>();
    private final ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "flyer-kv-reaper");
        t.setDaemon(true);
        return t;
    });

    public KvServer(KvEngine engine, RpcServer rpc, long idleNs) {
        this.engine = engine;
        rpc.errors(KvServer::mapError);
        rpc.handleInline(BEGIN, (req, resp) -> {
            long id = req.getLong();
            begin(id, req.getBool());
            resp.putLong(open.get(id).txn.readVersion());
        });
        rpc.handleInline(GET, (req, resp) -> {
            ReadOnlyTransaction t = txn(req, resp);
            boolean snapshot = req.getBool();
            byte[] key = req.getBytes();
            resp.putBytes((snapshot ? t.snapshotGet(key) : t.get(key)).orElse(null));
        });
        rpc.handleInline(RANGE, (req, resp) -> {
            ReadOnlyTransaction t = txn(req, resp);
            boolean snapshot = req.getBool();
            KeySelector b = new KeySelector(req.getBytes(), req.getBool());
            KeySelector e = new KeySelector(req.getBytes(), req.getBool());
            int limit = req.getInt();
            RangeResult r = snapshot ? t.snapshotGetRange(b, e, limit) : t.getRange(b, e, limit);
            resp.putBool(r.hasMore()).putList(r.kvs(), (w, kv) -> w.putBytes(kv.key()).putBytes(kv.value()));
        });
        rpc.handle(COMMIT, (req, resp) -> {
            long id = req.getLong();
            Open o = open.remove(id);
            if (o == null) {
                throw new KvConflictException("transaction " + id + " expired on the server");
            }
            try (Transaction t = (Transaction) o.txn) {
                apply(t, req);
                resp.putLong(t.commit());
            }
        });
        rpc.handleInline(CANCEL, (req, resp) -> {
            Open o = open.remove(req.getLong());
            if (o != null) {
                o.txn.close();
            }
        });
        rpc.handleInline(VERSION, (req, resp) -> resp.putLong(engine.committedVersion()));
        reaper.scheduleWithFixedDelay(() -> reap(idleNs), idleNs, idleNs / 2 + 1, TimeUnit.NANOSECONDS);
    }

    /** Begins a transaction under the client's id (clients send BEGIN without waiting; requests on one connection stay in order). */
    private void begin(long id, boolean readOnly) {
        ReadOnlyTransaction t = readOnly ? engine.readOnly() : engine.readWrite();
        if (open.putIfAbsent(id, new Open(t, new AtomicLong(System.nanoTime()))) != null) {
            t.close();
            throw new KvException("transaction id " + id + " is already in use", false);
        }
    }

    /** The request's transaction; the response starts with its read version. */
    private ReadOnlyTransaction txn(MessageReader req, MessageWriter resp) {
        long id = req.getLong();
        Open o = open.get(id);
        if (o == null) {
            throw new KvConflictException("transaction " + id + " expired on the server");
        }
        o.lastUseNs.set(System.nanoTime());
        resp.putLong(o.txn.readVersion());
        if (o.txn instanceof Transaction t) {
            apply(t, req);
        } else {
            req.getInt();
        }
        return o.txn;
    }

    private static void apply(Transaction t, MessageReader req) {
        int n = req.getInt();
        for (int i = 0; i < n; i++) {
            int op = req.getInt();
            byte[] a = req.getBytes();
            byte[] b = req.getBytes();
            switch (op) {
                case OP_SET -> t.set(a, b);
                case OP_CLEAR -> t.clear(a);
                case OP_CONFLICT -> t.addReadConflictRange(a, b);
                default -> throw new KvException("unknown buffered op " + op, false);
            }
        }
    }

    private void reap(long idleNs) {
        long now = System.nanoTime();
        open.entrySet().removeIf(e -> {
            boolean idle = now - e.getValue().lastUseNs.get() > idleNs;
            if (idle) {
                e.getValue().txn.close();
            }
            return idle;
        });
    }

    static String[] mapError(Throwable t) {
        if (t instanceof MaybeCommittedException) {
            return new String[] {"kv", "MAYBE_COMMITTED"};
        }
        if (t instanceof KvConflictException) {
            return new String[] {"kv", "CONFLICT"};
        }
        if (t instanceof KvException k) {
            return new String[] {"kv", k.retryable() ? "RETRYABLE" : "ERROR"};
        }
        if (t instanceof IllegalArgumentException) {
            return new String[] {"kv", "INVALID_ARGUMENT"};
        }
        return null;
    }

    /** For tests: transactions currently held for clients. */
    int openTransactions() {
        return open.size();
    }

    @Override
    public void close() {
        reaper.shutdownNow();
        open.values().forEach(o -> o.txn.close());
        open.clear();
    }
}
