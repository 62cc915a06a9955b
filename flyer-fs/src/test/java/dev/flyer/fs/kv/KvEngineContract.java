package dev.flyer.fs.kv;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The one suite every {@link KvEngine} passes: isolation, key and range conflicts, races, faults, a model check. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class KvEngineContract {
    protected KvEngine kv;

    /** A fresh, empty engine whose transactions stay checkable for {@code windowNs}. */
    protected abstract KvEngine open(long windowNs);

    /** Where this engine's faults are injected (a remote engine's live on its server). */
    protected KvFaults faults() {
        return kv.faults();
    }

    @BeforeEach
    void setUp() {
        kv = open(TimeUnit.SECONDS.toNanos(5));
    }

    @AfterEach
    void tearDown() {
        kv.close();
    }

    static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    static String s(byte[] v) {
        return new String(v, UTF_8);
    }

    void put(String k, String v) {
        try (Transaction t = kv.readWrite()) {
            t.set(b(k), b(v));
            t.commit();
        }
    }

    String read(String k) {
        try (ReadOnlyTransaction t = kv.readOnly()) {
            return t.snapshotGet(b(k)).map(KvEngineContract::s).orElse(null);
        }
    }

    @Test
    void commitsAreVisibleAndSnapshotsAreStable() {
        put("a", "1");
        try (ReadOnlyTransaction snap = kv.readOnly()) {
            put("a", "2");
            put("b", "3");
            assertThat(s(snap.snapshotGet(b("a")).orElseThrow())).isEqualTo("1");
            assertThat(snap.snapshotGet(b("b"))).isEmpty();
        }
        assertThat(read("a")).isEqualTo("2");
        try (Transaction t = kv.readWrite()) {
            t.clear(b("a"));
            t.commit();
        }
        assertThat(read("a")).isNull();
        assertThat(kv.committedVersion()).isEqualTo(4);
    }

    @Test
    void readsSeeOwnWritesAndClears() {
        put("a", "1");
        put("c", "3");
        try (Transaction t = kv.readWrite()) {
            t.set(b("b"), b("2"));
            t.clear(b("c"));
            assertThat(s(t.get(b("b")).orElseThrow())).isEqualTo("2");
            assertThat(t.get(b("c"))).isEmpty();
            RangeResult r = t.getRange(KeySelector.inclusive(b("a")), KeySelector.exclusive(b("z")), 0);
            assertThat(r.kvs()).extracting(kv -> s(kv.key())).containsExactly("a", "b");
            assertThat(read("b")).as("uncommitted write is invisible to others").isNull();
            t.commit();
        }
        assertThat(read("b")).isEqualTo("2");
        assertThat(read("c")).isNull();
    }

    @Test
    void rangeSelectorsLimitsAndHasMore() {
        for (String k : List.of("k1", "k2", "k3", "k4")) {
            put(k, k);
        }
        try (ReadOnlyTransaction t = kv.readOnly()) {
            RangeResult r = t.snapshotGetRange(KeySelector.exclusive(b("k1")), KeySelector.inclusive(b("k4")), 2);
            assertThat(r.kvs()).extracting(kv -> s(kv.key())).containsExactly("k2", "k3");
            assertThat(r.hasMore()).isTrue();
            r = t.snapshotGetRange(KeySelector.exclusive(b("k3")), KeySelector.inclusive(b("k4")), 2);
            assertThat(r.kvs()).extracting(kv -> s(kv.key())).containsExactly("k4");
            assertThat(r.hasMore()).isFalse();
            assertThat(t.snapshotGetRange(KeySelector.inclusive(b("k")), KeySelector.exclusive(b("k")), 0).kvs()).isEmpty();
        }
    }

    @Test
    void pointReadConflicts() {
        put("x", "0");
        Transaction t1 = kv.readWrite();
        t1.get(b("x"));
        put("x", "1");
        t1.set(b("y"), b("from t1"));
        assertThatThrownBy(t1::commit).isInstanceOf(KvConflictException.class).hasMessageContaining("conflict");
        assertThat(read("y")).as("a conflicting commit applies nothing").isNull();
    }

    @Test
    void snapshotReadsDoNotConflict() {
        put("x", "0");
        try (Transaction t1 = kv.readWrite()) {
            t1.snapshotGet(b("x"));
            put("x", "1");
            t1.set(b("y"), b("ok"));
            t1.commit();
        }
        assertThat(read("y")).isEqualTo("ok");
    }

    @Test
    void rangeReadConflictsOnlyInsideTheRangeItSaw() {
        put("d/a", "1");
        put("d/b", "2");
        put("d/c", "3");
        // A limited read of [d/, d0) that returned d/a and d/b conflicts on [d/, d/b\0) only.
        Transaction t1 = kv.readWrite();
        RangeResult r = t1.getRange(KeySelector.inclusive(b("d/")), KeySelector.exclusive(b("d0")), 2);
        assertThat(r.hasMore()).isTrue();
        put("d/z", "outside what t1 saw");
        t1.set(b("w"), b("1"));
        t1.commit();
        Transaction t2 = kv.readWrite();
        t2.getRange(KeySelector.inclusive(b("d/")), KeySelector.exclusive(b("d0")), 0);
        put("d/aa", "inside");
        t2.set(b("w"), b("2"));
        assertThatThrownBy(t2::commit).isInstanceOf(KvConflictException.class);
        Transaction t3 = kv.readWrite();
        t3.addReadConflictRange(b("e/"), b("e0"));
        put("e/1", "x");
        t3.set(b("w"), b("3"));
        assertThatThrownBy(t3::commit).isInstanceOf(KvConflictException.class);
        assertThat(read("w")).isEqualTo("1");
    }

    /** 3FS's rmdir-vs-create race at the KV level: rmdir reads the (empty) child range, create reads the directory. */
    @Test
    void rmdirRacingCreateExactlyOneWinsInBothOrders() {
        for (boolean rmdirFirst : new boolean[] {true, false}) {
            put("INOD/dir", "directory");
            Transaction rmdir = kv.readWrite();
            assertThat(rmdir.getRange(KeySelector.inclusive(b("DENT/dir/")), KeySelector.exclusive(b("DENT/dir0")), 1).kvs()).isEmpty();
            rmdir.get(b("INOD/dir"));
            rmdir.clear(b("INOD/dir"));
            Transaction create = kv.readWrite();
            assertThat(create.get(b("INOD/dir"))).isPresent();
            create.set(b("DENT/dir/file"), b("inode 7"));
            Transaction first = rmdirFirst ? rmdir : create;
            Transaction second = rmdirFirst ? create : rmdir;
            first.commit();
            assertThatThrownBy(second::commit).isInstanceOf(KvConflictException.class);
            boolean dirExists = read("INOD/dir") != null;
            boolean childExists = read("DENT/dir/file") != null;
            assertThat(dirExists).isEqualTo(!rmdirFirst);
            assertThat(childExists).as("no orphan entry under a removed directory").isEqualTo(!rmdirFirst);
            put("DENT/dir/file", "x");
            try (Transaction t = kv.readWrite()) {
                t.clear(b("DENT/dir/file"));
                t.commit();
            }
        }
    }

    @Test
    void maybeCommittedRetriesOfAnIdempotentBodyReturnTheFirstResult() {
        TransactionRunner runner = TransactionRunner.defaults(kv);
        for (boolean applied : new boolean[] {true, false}) {
            long before = counter();
            String request = "IDEM/client-1/" + applied;
            faults().maybeCommitNext(1, applied);
            long id = runner.<Long>run(t -> allocateOnce(t, request));
            assertThat(id).isEqualTo(before + 1);
            assertThat(counter()).as("the counter advanced once").isEqualTo(before + 1);
            assertThat(runner.<Long>run(t -> allocateOnce(t, request)).longValue()).isEqualTo(id);
        }
        faults().maybeCommitNext(1, true);
        TransactionRunner strict = new TransactionRunner(kv, 5, 1000, 1000, false);
        assertThatThrownBy(() -> strict.run(t -> allocateOnce(t, "IDEM/strict")))
                .isInstanceOf(MaybeCommittedException.class);
    }

    private long counter() {
        try (ReadOnlyTransaction t = kv.readOnly()) {
            return t.snapshotGet(b("counter")).map(v -> ByteBuffer.wrap(v).getLong()).orElse(0L);
        }
    }

    private static long allocateOnce(Transaction t, String request) {
        var done = t.get(b(request));
        if (done.isPresent()) {
            return ByteBuffer.wrap(done.get()).getLong();
        }
        long next = t.get(b("counter")).map(v -> ByteBuffer.wrap(v).getLong()).orElse(0L) + 1;
        byte[] enc = ByteBuffer.allocate(8).putLong(next).array();
        t.set(b("counter"), enc);
        t.set(b(request), enc);
        return next;
    }

    @Test
    void concurrentIncrementsAreSerializable() throws Exception {
        TransactionRunner runner = TransactionRunner.defaults(kv);
        int threads = 4;
        int each = 100;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                fs.add(pool.submit(() -> {
                    for (int j = 0; j < each; j++) {
                        runner.run(t -> allocateOnce(t, "IDEM/" + Thread.currentThread().threadId() + "/" + System.nanoTime()));
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        }
        assertThat(counter()).isEqualTo(threads * each);
    }

    @Test
    void transactionsOlderThanTheWindowFailAsTooOld() throws Exception {
        kv.close();
        kv = open(TimeUnit.MILLISECONDS.toNanos(20));
        Transaction old = kv.readWrite();
        old.get(b("q"));
        Thread.sleep(50);
        put("other", "1");
        put("other", "2");
        old.set(b("z"), b("1"));
        assertThatThrownBy(old::commit).isInstanceOf(KvConflictException.class).hasMessageContaining("too old");
    }

    @Test
    void misuseIsRejected() {
        try (ReadOnlyTransaction ro = kv.readOnly()) {
            assertThatThrownBy(() -> ((Transaction) ro).set(b("a"), b("1")))
                    .isInstanceOf(KvException.class).hasMessageContaining("read-only");
        }
        Transaction t = kv.readWrite();
        assertThatThrownBy(() -> t.set(new byte[] {(byte) 0xff, 1}, b("1"))).hasMessageContaining("reserved");
        t.commit();
        assertThatThrownBy(() -> t.get(b("a"))).hasMessageContaining("already committed");
    }

    @Test
    void randomOperationsMatchATreeMapModel() {
        long seed = System.nanoTime();
        System.out.println(getClass().getSimpleName() + ".randomOperations seed=" + seed);
        Random rnd = new Random(seed);
        TreeMap<String, String> model = new TreeMap<>();
        for (int step = 0; step < 300; step++) {
            try (Transaction t = kv.readWrite()) {
                Map<String, String> pending = new TreeMap<>(model);
                int ops = 1 + rnd.nextInt(5);
                for (int o = 0; o < ops; o++) {
                    String k = "k" + rnd.nextInt(30);
                    switch (rnd.nextInt(4)) {
                        case 0, 1 -> {
                            String v = "v" + step + "." + o;
                            t.set(b(k), b(v));
                            pending.put(k, v);
                        }
                        case 2 -> {
                            t.clear(b(k));
                            pending.remove(k);
                        }
                        default -> assertThat(t.get(b(k)).map(KvEngineContract::s).orElse(null)).isEqualTo(pending.get(k));
                    }
                }
                String lo = "k" + rnd.nextInt(30);
                String hi = "k" + rnd.nextInt(30);
                List<String> expect = new ArrayList<>(lo.compareTo(hi) < 0
                        ? ((TreeMap<String, String>) pending).subMap(lo, hi).keySet() : List.of());
                List<String> got = t.getRange(KeySelector.inclusive(b(lo)), KeySelector.exclusive(b(hi)), 0)
                        .kvs().stream().map(kv -> s(kv.key())).toList();
                assertThat(got).as("seed %d step %d", seed, step).isEqualTo(expect);
                if (rnd.nextInt(5) == 0) {
                    t.cancel();
                } else {
                    t.commit();
                    model.clear();
                    model.putAll(pending);
                }
            }
        }
        for (var e : model.entrySet()) {
            assertThat(read(e.getKey())).isEqualTo(e.getValue());
        }
    }
}
