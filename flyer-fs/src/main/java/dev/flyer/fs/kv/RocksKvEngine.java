package dev.flyer.fs.kv;

import dev.flyer.fs.kv.internal.BufferedTransaction;
import dev.flyer.fs.kv.internal.CommitSequencer;
import dev.flyer.fs.kv.internal.SnapshotView;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NoSuchElementException;
import java.util.concurrent.TimeUnit;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Snapshot;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The persistent {@link KvEngine}: embedded RocksDB with Flyer's own conflict checking in front.
 *
 * <p>RocksDB's transactions track single keys only, so the read-conflict ranges are checked by the
 * shared {@code CommitLog} under the commit lock, and a passing write set is applied as one
 * {@link WriteBatch} through the WAL (fsync'd per commit unless {@code syncCommits} is false).
 * Each batch also writes the reserved key {@code 0xff "/version"}: a transaction's read version is
 * read from its RocksDB snapshot, so version and snapshot agree without taking the commit lock, and
 * the version survives restarts. Keys starting with 0xff are reserved and hidden from reads.
 *
 * <p>Closing races with requests still being served (a server shutting down while its RPC threads
 * run): RocksDB's native handles must not be touched once closed (that is a SIGSEGV, not an
 * exception). So every native call holds a read lock of {@link #lifecycle} (a
 * {@code StampedLock}: no call nests another) and checks {@link #closed}; {@link #close} takes
 * its write lock. A call after close throws a
 * {@link KvException} that says so; views released after close have nothing left to release.
 */
public final class RocksKvEngine implements KvEngine {
    private static final byte[] VERSION_KEY = {(byte) 0xff, '/', 'v', 'e', 'r', 's', 'i', 'o', 'n'};

    static {
        RocksDB.loadLibrary();
    }

    private final Options options;
    private final RocksDB db;
    private final WriteOptions writeOptions;
    private final KvFaults faults = new KvFaults();
    private final CommitSequencer sequencer;
    private final java.util.concurrent.locks.StampedLock lifecycle = new java.util.concurrent.locks.StampedLock();
    private boolean closed;

    /** Opens (creating if needed) a store in {@code dir}; commits are fsync'd. */
    public RocksKvEngine(Path dir) {
        this(dir, true, TimeUnit.SECONDS.toNanos(5));
    }

    public RocksKvEngine(Path dir, boolean syncCommits, long windowNs) {
        try {
            Files.createDirectories(dir);
            options = new Options().setCreateIfMissing(true);
            db = RocksDB.open(options, dir.toString());
            writeOptions = new WriteOptions().setSync(syncCommits);
            byte[] v = db.get(VERSION_KEY);
            long start = v == null ? 0 : ByteBuffer.wrap(v).getLong();
            sequencer = new CommitSequencer(start, windowNs, faults, this::apply);
        } catch (RocksDBException | java.io.IOException e) {
            throw new KvException("cannot open RocksDB store at " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public ReadOnlyTransaction readOnly() {
        View view = new View();
        return new BufferedTransaction(view.version, view, null);
    }

    @Override
    public Transaction readWrite() {
        View view = new View();
        return new BufferedTransaction(view.version, view, sequencer);
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
        long stamp = lifecycle.writeLock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            db.close();
            writeOptions.close();
            options.close();
        } finally {
            lifecycle.unlockWrite(stamp);
        }
    }

    /** A call into RocksDB's native code. */
    private interface Native<T> {
        T call() throws RocksDBException;
    }

    /** Runs {@code call} while the store is open; {@code what} names it in the exception otherwise. */
    private <T> T open(String what, Native<T> call) {
        long stamp = lifecycle.readLock();
        try {
            if (closed) {
                throw new KvException("RocksDB " + what + " after the store was closed", false);
            }
            return call.call();
        } catch (RocksDBException e) {
            throw new KvException("RocksDB " + what + " failed: " + e.getMessage(), e);
        } finally {
            lifecycle.unlockRead(stamp);
        }
    }

    private void apply(NavigableMap<byte[], byte[]> writes, long version) {
        try (WriteBatch batch = new WriteBatch()) {
            for (Map.Entry<byte[], byte[]> w : writes.entrySet()) {
                if (w.getValue() == null) {
                    batch.delete(w.getKey());
                } else {
                    batch.put(w.getKey(), w.getValue());
                }
            }
            batch.put(VERSION_KEY, ByteBuffer.allocate(8).putLong(version).array());
            open("commit of version " + version, () -> {
                db.write(writeOptions, batch);
                return null;
            });
        } catch (RocksDBException e) {
            throw new KvException("RocksDB commit of version " + version + " failed: " + e.getMessage(), e);
        }
    }

    private final class View implements SnapshotView {
        private final Snapshot snapshot = open("snapshot", db::getSnapshot);
        private final ReadOptions readOptions = new ReadOptions().setSnapshot(snapshot);
        private final List<RocksIterator> iterators = new ArrayList<>();
        private final long version;
        private boolean released;

        View() {
            byte[] v = rocksGet(VERSION_KEY);
            version = v == null ? 0 : ByteBuffer.wrap(v).getLong();
        }

        @Override
        public byte[] get(byte[] key) {
            return key.length > 0 && key[0] == (byte) 0xff ? null : rocksGet(key);
        }

        private byte[] rocksGet(byte[] key) {
            return open("read", () -> db.get(readOptions, key));
        }

        @Override
        public Iterator<KeyValue> range(byte[] begin, byte[] end) {
            RocksIterator it = open("range read", () -> {
                RocksIterator opened = db.newIterator(readOptions);
                opened.seek(begin);
                return opened;
            });
            iterators.add(it);
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return open("range read", () -> it.isValid() && Keys.compare(it.key(), end) < 0 && it.key()[0] != (byte) 0xff);
                }

                @Override
                public KeyValue next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return open("range read", () -> {
                        KeyValue kv = new KeyValue(it.key(), it.value());
                        it.next();
                        return kv;
                    });
                }
            };
        }

        @Override
        public void release() {
            if (released) {
                return;
            }
            released = true;
            long stamp = lifecycle.readLock();
            try {
                if (!closed) { // a closed store freed its snapshots and iterators with itself
                    iterators.forEach(RocksIterator::close);
                    db.releaseSnapshot(snapshot);
                }
                readOptions.close();
            } finally {
                lifecycle.unlockRead(stamp);
            }
        }
    }
}
