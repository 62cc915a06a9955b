package dev.flyer.fs.kv.internal;

import dev.flyer.fs.kv.KeySelector;
import dev.flyer.fs.kv.KeyValue;
import dev.flyer.fs.kv.Keys;
import dev.flyer.fs.kv.KvException;
import dev.flyer.fs.kv.RangeResult;
import dev.flyer.fs.kv.Transaction;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A transaction over an engine's {@link SnapshotView}: reads merge the snapshot with this
 * transaction's buffered writes (read-your-writes, as FoundationDB); conflicting reads record
 * [begin, end) ranges; commit hands both sets to the {@link CommitSequencer}. A read-only
 * transaction is the same object with no sequencer.
 *
 * <p>The range registered by a limited range read ends just after the last key returned when more
 * keys remain, so a listing page conflicts only with changes to what it saw (FoundationDB does the same).
 */
public final class BufferedTransaction implements Transaction {
    private static final byte[] CLEARED = new byte[0];

    private final long readVersion;
    private final long startNs = System.nanoTime();
    private final SnapshotView view;
    private final CommitSequencer sequencer;
    private final NavigableMap<byte[], byte[]> writes = new TreeMap<>(Keys.ORDER);
    private final List<byte[][]> readRanges = new ArrayList<>();
    private boolean done;

    public BufferedTransaction(long readVersion, SnapshotView view, CommitSequencer sequencer) {
        this.readVersion = readVersion;
        this.view = view;
        this.sequencer = sequencer;
    }

    @Override
    public long readVersion() {
        return readVersion;
    }

    @Override
    public Optional<byte[]> snapshotGet(byte[] key) {
        open();
        byte[] own = writes.get(key);
        if (own != null) {
            return own == CLEARED ? Optional.empty() : Optional.of(own.clone());
        }
        return Optional.ofNullable(view.get(key));
    }

    @Override
    public Optional<byte[]> get(byte[] key) {
        Optional<byte[]> v = snapshotGet(key);
        if (sequencer != null) {
            addReadConflict(key);
        }
        return v;
    }

    @Override
    public RangeResult snapshotGetRange(KeySelector begin, KeySelector end, int limit) {
        open();
        byte[] b = begin.asBegin();
        byte[] e = end.asEnd();
        List<KeyValue> out = new ArrayList<>();
        if (Keys.compare(b, e) >= 0) {
            return new RangeResult(out, false);
        }
        Iterator<KeyValue> merged = merge(view.range(b, e), writes.subMap(b, true, e, false).entrySet().iterator());
        while (merged.hasNext() && (limit <= 0 || out.size() < limit)) {
            out.add(merged.next());
        }
        return new RangeResult(out, merged.hasNext());
    }

    @Override
    public RangeResult getRange(KeySelector begin, KeySelector end, int limit) {
        RangeResult r = snapshotGetRange(begin, end, limit);
        byte[] b = begin.asBegin();
        byte[] e = r.hasMore() ? Keys.after(r.kvs().getLast().key()) : end.asEnd();
        if (sequencer != null && Keys.compare(b, e) < 0) {
            addReadConflictRange(b, e);
        }
        return r;
    }

    @Override
    public void addReadConflict(byte[] key) {
        addReadConflictRange(key, Keys.after(key));
    }

    @Override
    public void addReadConflictRange(byte[] beginInclusive, byte[] endExclusive) {
        writable();
        readRanges.add(new byte[][] {beginInclusive.clone(), endExclusive.clone()});
    }

    @Override
    public void set(byte[] key, byte[] value) {
        writable();
        Keys.checkWritable(key);
        writes.put(key.clone(), value.clone());
    }

    @Override
    public void clear(byte[] key) {
        writable();
        Keys.checkWritable(key);
        writes.put(key.clone(), CLEARED);
    }


    @Override
    public long commit() {
        writable();
        done = true;
        try {
            NavigableMap<byte[], byte[]> applied = new TreeMap<>(Keys.ORDER);
            for (Map.Entry<byte[], byte[]> w : writes.entrySet()) {
                applied.put(w.getKey(), w.getValue() == CLEARED ? null : w.getValue());
            }
            return sequencer.commit(readVersion, startNs, readRanges, applied);
        } finally {
            view.release();
        }
    }

    @Override
    public void cancel() {
        done = true;
        view.release();
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

    private void writable() {
        open();
        if (sequencer == null) {
            throw new KvException("read-only transaction: writes and conflicts are not allowed", false);
        }
    }

    /** Merges the snapshot with buffered writes; a buffered value wins, a buffered clear hides the key. */
    private static Iterator<KeyValue> merge(Iterator<KeyValue> base, Iterator<Map.Entry<byte[], byte[]>> own) {
        return new LookaheadIterator<>() {
            KeyValue b = base.hasNext() ? base.next() : null;
            Map.Entry<byte[], byte[]> o = own.hasNext() ? own.next() : null;

            @Override
            protected KeyValue advance() {
                while (b != null || o != null) {
                    int c = b == null ? 1 : o == null ? -1 : Keys.compare(b.key(), o.getKey());
                    if (c < 0) {
                        KeyValue r = b;
                        b = base.hasNext() ? base.next() : null;
                        return r;
                    }
                    Map.Entry<byte[], byte[]> w = o;
                    o = own.hasNext() ? own.next() : null;
                    if (c == 0) {
                        b = base.hasNext() ? base.next() : null;
                    }
                    if (w.getValue() != CLEARED) {
                        return new KeyValue(w.getKey().clone(), w.getValue().clone());
                    }
                }
                return null;
            }
        };
    }
}
