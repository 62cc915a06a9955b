package dev.flyer.fs.kv.remote;

import dev.flyer.fs.kv.KeySelector;
import dev.flyer.fs.kv.KeyValue;
import dev.flyer.fs.kv.KvConflictException;
import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.kv.KvException;
import dev.flyer.fs.kv.KvFaults;
import dev.flyer.fs.kv.MaybeCommittedException;
import dev.flyer.fs.kv.RangeResult;
import dev.flyer.fs.kv.ReadOnlyTransaction;
import dev.flyer.fs.kv.Transaction;
import dev.flyer.fs.rpc.MessageReader;
import dev.flyer.fs.rpc.MessageWriter;
import dev.flyer.fs.rpc.RpcClient;
import dev.flyer.fs.rpc.RpcException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A {@link KvEngine} served by a {@link KvServer} at {@code host:port}. Writes and conflict ranges
 * are buffered and travel with the next read or the commit. Failures map back to the KV's own
 * exceptions: conflicts stay {@link KvConflictException}; an unreachable server is a retryable
 * {@link KvException}; a commit whose reply is lost is {@link MaybeCommittedException}, exactly
 * the ambiguity FoundationDB reports as commit_unknown_result.
 */
public final class RemoteKvEngine implements KvEngine {
    private final RpcClient rpc;
    private final long timeoutNs;
    private final KvFaults faults = new KvFaults();

    public RemoteKvEngine(String address, long timeoutNs) {
        this.rpc = RpcClient.to(address);
        this.timeoutNs = timeoutNs;
    }

    @Override
    public ReadOnlyTransaction readOnly() {
        return begin(true);
    }

    @Override
    public Transaction readWrite() {
        return begin(false);
    }

    private RemoteTransaction begin(boolean readOnly) {
        long id = java.util.concurrent.ThreadLocalRandom.current().nextLong() | 1;
        try {
            rpc.send(KvServer.BEGIN, w -> w.putLong(id).putBool(readOnly), timeoutNs);
        } catch (RpcException e) {
            throw new KvException("KV service at " + rpc.address() + " unavailable: " + e.getMessage(), true);
        }
        return new RemoteTransaction(id, readOnly);
    }

    @Override
    public long committedVersion() {
        return call(KvServer.VERSION, w -> { }, MessageReader::getLong, false);
    }

    /** Faults are injected on the server's engine; this object's hooks are unused. */
    @Override
    public KvFaults faults() {
        return faults;
    }

    @Override
    public boolean remote() {
        return true;
    }

    @Override
    public void close() {}

    private <T> T call(int method, Consumer<MessageWriter> body, Function<MessageReader, T> parse, boolean commit) {
        try {
            return rpc.call(method, body, parse, timeoutNs);
        } catch (RpcException e) {
            if (e.domain().equals("kv")) {
                switch (e.code()) {
                    case "CONFLICT" -> throw new KvConflictException(e.detail());
                    case "MAYBE_COMMITTED" -> throw new MaybeCommittedException(e.detail());
                    case "RETRYABLE" -> throw new KvException(e.detail(), true);
                    case "INVALID_ARGUMENT" -> throw new IllegalArgumentException(e.detail());
                    default -> throw new KvException(e.detail(), false);
                }
            }
            if (commit) {
                throw new MaybeCommittedException("commit outcome unknown: " + e.getMessage());
            }
            throw new KvException("KV service at " + rpc.address() + " unavailable: " + e.getMessage(), true);
        }
    }

    private final class RemoteTransaction implements Transaction {
        private final long id;
        private final boolean readOnly;
        private final List<Object[]> buffered = new ArrayList<>();
        private long readVersion = -1;
        private boolean done;

        RemoteTransaction(long id, boolean readOnly) {
            this.id = id;
            this.readOnly = readOnly;
        }

        /** Known from the first read's reply; asked for when nothing was read yet. */
        @Override
        public long readVersion() {
            if (readVersion < 0) {
                get(new byte[] {0}, true);
            }
            return readVersion;
        }

        private void started(MessageReader r) {
            readVersion = r.getLong();
        }

        private void header(MessageWriter w) {
            w.putLong(id).putInt(buffered.size());
            for (Object[] op : buffered) {
                w.putInt((Integer) op[0]).putBytes((byte[]) op[1]).putBytes((byte[]) op[2]);
            }
            buffered.clear();
        }

        private Optional<byte[]> get(byte[] key, boolean snapshot) {
            open();
            return Optional.ofNullable(call(KvServer.GET, w -> {
                header(w);
                w.putBool(snapshot).putBytes(key);
            }, r -> {
                started(r);
                return r.getBytes();
            }, false));
        }

        private RangeResult range(KeySelector b, KeySelector e, int limit, boolean snapshot) {
            open();
            return call(KvServer.RANGE, w -> {
                header(w);
                w.putBool(snapshot).putBytes(b.key()).putBool(b.inclusive()).putBytes(e.key()).putBool(e.inclusive()).putInt(limit);
            }, r -> {
                started(r);
                boolean more = r.getBool();
                return new RangeResult(r.getList(x -> new KeyValue(x.getBytes(), x.getBytes())), more);
            }, false);
        }

        @Override
        public Optional<byte[]> snapshotGet(byte[] key) {
            return get(key, true);
        }

        @Override
        public Optional<byte[]> get(byte[] key) {
            return get(key, readOnly);
        }

        @Override
        public RangeResult snapshotGetRange(KeySelector begin, KeySelector end, int limit) {
            return range(begin, end, limit, true);
        }

        @Override
        public RangeResult getRange(KeySelector begin, KeySelector end, int limit) {
            return range(begin, end, limit, readOnly);
        }

        private void buffer(int op, byte[] a, byte[] b) {
            open();
            if (readOnly) {
                throw new KvException("read-only transaction: writes and conflicts are not allowed", false);
            }
            buffered.add(new Object[] {op, a.clone(), b == null ? null : b.clone()});
        }

        @Override
        public void addReadConflict(byte[] key) {
            buffer(KvServer.OP_CONFLICT, key, dev.flyer.fs.kv.Keys.after(key));
        }

        @Override
        public void addReadConflictRange(byte[] beginInclusive, byte[] endExclusive) {
            buffer(KvServer.OP_CONFLICT, beginInclusive, endExclusive);
        }

        @Override
        public void set(byte[] key, byte[] value) {
            dev.flyer.fs.kv.Keys.checkWritable(key);
            buffer(KvServer.OP_SET, key, value);
        }

        @Override
        public void clear(byte[] key) {
            dev.flyer.fs.kv.Keys.checkWritable(key);
            buffer(KvServer.OP_CLEAR, key, null);
        }

        @Override
        public long commit() {
            open();
            if (readOnly) {
                throw new KvException("read-only transaction: nothing to commit", false);
            }
            done = true;
            return call(KvServer.COMMIT, this::header, MessageReader::getLong, true);
        }

        @Override
        public void cancel() {
            if (!done) {
                done = true;
                try {
                    rpc.send(KvServer.CANCEL, w -> w.putLong(id), timeoutNs);
                } catch (RpcException ignored) {
                    // the server reaps idle transactions anyway
                }
            }
        }

        @Override
        public void close() {
            cancel();
        }

        private void open() {
            if (done) {
                throw new KvException("transaction already committed or cancelled", false);
            }
        }
    }
}
