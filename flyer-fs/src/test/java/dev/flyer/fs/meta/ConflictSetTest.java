package dev.flyer.fs.meta;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.fs.kv.KeySelector;
import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.kv.KvFaults;
import dev.flyer.fs.kv.MemKvEngine;
import dev.flyer.fs.kv.ReadOnlyTransaction;
import dev.flyer.fs.kv.Transaction;
import dev.flyer.fs.kv.TransactionRunner;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each metadata operation's conflict set, as the MetaStore's class comment documents it. */
class ConflictSetTest {
    /** What the last read-write transaction read with conflicts and wrote (keys as hex; ranges as "begin..end"). */
    static final class Recording implements KvEngine {
        final MemKvEngine inner = new MemKvEngine();
        final List<String> reads = new ArrayList<>();
        final List<String> writes = new ArrayList<>();

        @Override
        public ReadOnlyTransaction readOnly() {
            return inner.readOnly();
        }

        @Override
        public Transaction readWrite() {
            reads.clear();
            writes.clear();
            Transaction t = inner.readWrite();
            return (Transaction) Proxy.newProxyInstance(Transaction.class.getClassLoader(), new Class<?>[] {Transaction.class},
                    (p, m, args) -> {
                        switch (m.getName()) {
                            case "get", "addReadConflict" -> reads.add(hex((byte[]) args[0]));
                            case "getRange" -> reads.add(hex(((KeySelector) args[0]).asBegin()) + ".." + hex(((KeySelector) args[1]).asEnd()));
                            case "addReadConflictRange" -> reads.add(hex((byte[]) args[0]) + ".." + hex((byte[]) args[1]));
                            case "set", "clear" -> writes.add(hex((byte[]) args[0]));
                            default -> { }
                        }
                        try {
                            return m.invoke(t, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }

        @Override
        public long committedVersion() {
            return inner.committedVersion();
        }

        @Override
        public KvFaults faults() {
            return inner.faults();
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    static String hex(byte[] k) {
        return HexFormat.of().formatHex(k);
    }

    static String inode(long id) {
        return hex(MetaKeys.inode(id));
    }

    static String dentry(long parent, String name) {
        return hex(MetaKeys.dentry(parent, name));
    }

    static String children(long dir) {
        byte[] p = MetaKeys.dentries(dir);
        return hex(p) + ".." + hex(dev.flyer.fs.kv.Keys.prefixEnd(p));
    }

    @Test
    void everyOperationReadsAndWritesItsDocumentedKeys() {
        try (Recording kv = new Recording()) {
            MetaStore m = new MetaStore(TransactionRunner.defaults(kv), () -> 4, 1 << 20, 2);
            long a = m.mkdir("/a", 0755, 0, 0).id();
            long b = m.mkdir("/a/b", 0755, 0, 0).id();
            assertThat(kv.reads).as("resolution reads directory entries only").containsExactly(dentry(MetaStore.ROOT, "a"), dentry(a, "b"));
            assertThat(kv.writes).contains(dentry(a, "b"), inode(b));

            long f = m.create("/a/b/f", 0644, 0, 0, 0).id();
            assertThat(kv.reads).containsExactly(dentry(MetaStore.ROOT, "a"), dentry(a, "b"), dentry(b, "f"));
            assertThat(kv.writes).containsExactlyInAnyOrder(inode(f), dentry(b, "f"));

            m.unlink("/a/b/f", 0, 0);
            assertThat(kv.reads).contains(dentry(b, "f"), inode(f));
            assertThat(kv.writes).containsExactlyInAnyOrder(dentry(b, "f"), inode(f), hex(MetaKeys.gc(f)));

            long e = m.mkdir("/a/e", 0755, 0, 0).id();
            m.rmdir("/a/e", 0, 0);
            assertThat(kv.reads).as("rmdir reads the directory's whole child range").contains(dentry(a, "e"), inode(e), children(e));
            assertThat(kv.writes).containsExactlyInAnyOrder(dentry(a, "e"), inode(e));

            long c = m.mkdir("/c", 0755, 0, 0).id();
            m.rename("/a/b", "/c/b2", 0, 0);
            assertThat(kv.reads).as("rename reads both entries, the moved inode and the destination's ancestors")
                    .contains(dentry(a, "b"), dentry(c, "b2"), inode(b), inode(c));
            assertThat(kv.writes).contains(dentry(a, "b"), dentry(c, "b2"), inode(b));

            long session = m.openWrite(m.create("/c/g", 0644, 0, 0, 0).id(), 1);
            long g = m.stat("/c/g").id();
            m.renewWrite(g, session, 10);
            assertThat(kv.reads).contains(inode(g), hex(MetaKeys.session(g, session)));
            assertThat(kv.writes).contains(inode(g), hex(MetaKeys.session(g, session)));
        }
    }
}
