package dev.flyer.fs.kv;

import dev.flyer.fs.kv.internal.BufferedTransaction;
import dev.flyer.fs.kv.internal.CommitSequencer;
import dev.flyer.fs.kv.internal.LookaheadIterator;
import dev.flyer.fs.kv.internal.SnapshotView;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;

/**
 * An in-memory multi-version store (3FS's MemKV, src/common/kv/mem): the fast oracle every
 * {@link KvEngine} test also runs against, and the default for embedded single-process use.
 *
 * <p>Layout: a skip list from key to a newest-first chain of (version, value-or-tombstone). A reader
 * at version v takes the first node with version &lt;= v. Writers prune each chain they touch down
 * to the nodes a transaction still inside the commit log's window can see; a read whose version
 * fell below that floor fails as "too old" (checked after the read, so pruning cannot race it).
 */
public final class MemKvEngine implements KvEngine {
    private record Node(long version, byte[] value, Node older) {}

    private final ConcurrentSkipListMap<byte[], Node> data = new ConcurrentSkipListMap<>(Keys.ORDER);
    private final KvFaults faults = new KvFaults();
    private final CommitSequencer sequencer;

    public MemKvEngine() {
        this(TimeUnit.SECONDS.toNanos(5));
    }

    /** @param windowNs how long a transaction may run before it is too old to commit (FoundationDB: 5 s) */
    public MemKvEngine(long windowNs) {
        this.sequencer = new CommitSequencer(0, windowNs, faults, this::apply);
    }

    @Override
    public ReadOnlyTransaction readOnly() {
        long v = sequencer.version();
        return new BufferedTransaction(v, new View(v), null);
    }

    @Override
    public Transaction readWrite() {
        long v = sequencer.version();
        return new BufferedTransaction(v, new View(v), sequencer);
    }

    @Override
    public long committedVersion() {
        return sequencer.version();
    }

    @Override
    public KvFaults faults() {
        return faults;
    }

    @Override
    public void close() {
        data.clear();
    }

    private void apply(Map<byte[], byte[]> writes, long version) {
        long floor = sequencer.floor();
        for (Map.Entry<byte[], byte[]> w : writes.entrySet()) {
            data.compute(w.getKey(), (k, old) -> new Node(version, w.getValue(), prune(old, floor)));
        }
    }

    private static Node prune(Node n, long floor) {
        if (n == null) {
            return null;
        }
        if (n.version <= floor) {
            return n.older == null ? n : new Node(n.version, n.value, null);
        }
        Node rest = prune(n.older, floor);
        return rest == n.older ? n : new Node(n.version, n.value, rest);
    }

    private static byte[] at(Node n, long version) {
        while (n != null && n.version > version) {
            n = n.older;
        }
        return n == null || n.value == null ? null : n.value.clone();
    }

    private final class View implements SnapshotView {
        private final long version;

        View(long version) {
            this.version = version;
        }

        @Override
        public byte[] get(byte[] key) {
            byte[] v = at(data.get(key), version);
            checkAge();
            return v;
        }

        @Override
        public Iterator<KeyValue> range(byte[] begin, byte[] end) {
            Iterator<Map.Entry<byte[], Node>> it = data.subMap(begin, true, end, false).entrySet().iterator();
            return new LookaheadIterator<>() {
                @Override
                protected KeyValue advance() {
                    while (it.hasNext()) {
                        Map.Entry<byte[], Node> e = it.next();
                        byte[] v = at(e.getValue(), version);
                        if (v != null) {
                            checkAge();
                            return new KeyValue(e.getKey().clone(), v);
                        }
                    }
                    checkAge();
                    return null;
                }
            };
        }

        private void checkAge() {
            if (version < sequencer.floor()) {
                throw new KvConflictException("transaction too old: read version " + version
                        + " is below the oldest kept version " + sequencer.floor());
            }
        }

        @Override
        public void release() {}
    }
}
