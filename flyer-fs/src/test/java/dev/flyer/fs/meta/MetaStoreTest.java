package dev.flyer.fs.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.fs.kv.KvEngine;
import dev.flyer.fs.kv.MemKvEngine;
import dev.flyer.fs.kv.RocksKvEngine;
import dev.flyer.fs.kv.TransactionRunner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

/** POSIX semantics, races and idempotent retries of the metadata store, on both KV engines. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MetaStoreTest {
    @TempDir
    Path tmp;

    private KvEngine kv;

    MetaStore open(String engine) {
        kv = engine.equals("mem") ? new MemKvEngine() : new RocksKvEngine(tmp.resolve("kv"), false, TimeUnit.SECONDS.toNanos(5));
        return new MetaStore(TransactionRunner.defaults(kv), () -> 8, 1 << 20, 4);
    }

    @AfterEach
    void close() {
        kv.close();
    }

    static FsException.Code code(Runnable r) {
        try {
            r.run();
        } catch (FsException e) {
            return e.code();
        }
        return null;
    }

    @ParameterizedTest
    @ValueSource(strings = {"mem", "rocks"})
    void posixBasicsAndErrors(String engine) {
        MetaStore m = open(engine);
        m.mkdir("/a", 0755, 0, 0);
        Inode f = m.create("/a/f", 0644, 0, 0, 0);
        assertThat(f.layout().chains()).hasSize(4);
        assertThat(m.stat("/a/f").id()).isEqualTo(f.id());
        assertThat(code(() -> m.create("/a/f", 0644, 0, 0, 0))).isEqualTo(FsException.Code.EXISTS);
        assertThat(code(() -> m.create("/nope/f", 0644, 0, 0, 0))).isEqualTo(FsException.Code.NOT_FOUND);
        assertThat(code(() -> m.create("/a/f/g", 0644, 0, 0, 0))).isEqualTo(FsException.Code.NOT_DIRECTORY);
        assertThat(code(() -> m.rmdir("/a", 0, 0))).isEqualTo(FsException.Code.NOT_EMPTY);
        assertThat(code(() -> m.unlink("/a", 0, 0))).isEqualTo(FsException.Code.IS_DIRECTORY);
        assertThat(code(() -> m.rmdir("/a/f", 0, 0))).isEqualTo(FsException.Code.NOT_DIRECTORY);
        assertThat(code(() -> m.create("/a/" + "x".repeat(256), 0644, 0, 0, 0))).isEqualTo(FsException.Code.NAME_TOO_LONG);
        assertThat(code(() -> m.stat("/a/../b"))).isEqualTo(FsException.Code.INVALID_ARGUMENT);
        m.symlink("/a/s", "/a/f", 0, 0);
        assertThat(m.stat("/a/s").symlinkTarget()).isEqualTo("/a/f");
        m.mkdir("/a/d", 0755, 0, 0);
        assertThat(code(() -> m.rename("/a", "/a/d/a2", 0, 0))).isEqualTo(FsException.Code.INVALID_ARGUMENT);
        assertThat(code(() -> m.rename("/a/f", "/a/d", 0, 0))).isEqualTo(FsException.Code.IS_DIRECTORY);
        m.create("/a/g", 0644, 0, 0, 0);
        m.rename("/a/g", "/a/f", 0, 0); // replaces the file
        assertThat(m.list("/a", "", 0)).extracting(DirEntry::name).containsExactly("d", "f", "s");
        assertThat(m.list("/a", "d", 1)).extracting(DirEntry::name).containsExactly("f");
        assertThat(m.collectible(Long.MAX_VALUE)).extracting(Inode::id).containsExactly(f.id());
        assertThat(m.mkdirs("/x/y/z", 0755).isDirectory()).isTrue();
        assertThat(code(() -> m.mkdirs("/a/f/q", 0755))).isEqualTo(FsException.Code.NOT_DIRECTORY);
        assertThat(code(() -> m.truncate("/a/f", -1))).isEqualTo(FsException.Code.INVALID_ARGUMENT);
        assertThat(m.truncate("/a/f", 4096).length()).isEqualTo(4096);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mem", "rocks"})
    void maybeCommittedRetriesReturnTheFirstResult(String engine) {
        MetaStore m = open(engine);
        kv.faults().maybeCommitNext(1, true);
        Inode first = m.create("/f", 0644, 0, 7, 1);
        assertThat(m.create("/f", 0644, 0, 7, 1).id()).as("same request, same answer").isEqualTo(first.id());
        kv.faults().maybeCommitNext(1, true);
        m.rename("/f", "/g", 7, 2);
        kv.faults().maybeCommitNext(1, true);
        m.unlink("/g", 7, 3);
        assertThat(code(() -> m.stat("/g"))).isEqualTo(FsException.Code.NOT_FOUND);
        kv.faults().maybeCommitNext(1, false);
        m.mkdir("/d", 0755, 7, 4);
        assertThat(m.stat("/d").isDirectory()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"mem", "rocks"})
    void rmdirRacingCreateExactlyOneWins(String engine) throws Exception {
        MetaStore m = open(engine);
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            for (int round = 0; round < 60; round++) {
                String dir = "/r" + round;
                m.mkdir(dir, 0755, 0, 0);
                Future<FsException.Code> rm = pool.submit(() -> code(() -> m.rmdir(dir, 0, 0)));
                Future<FsException.Code> mk = pool.submit(() -> code(() -> m.create(dir + "/f", 0644, 0, 0, 0)));
                FsException.Code rmResult = rm.get();
                FsException.Code mkResult = mk.get();
                if (rmResult == null) {
                    assertThat(mkResult).as("round %d: create after rmdir", round).isIn(FsException.Code.NOT_FOUND);
                    assertThat(code(() -> m.stat(dir))).isEqualTo(FsException.Code.NOT_FOUND);
                } else {
                    assertThat(rmResult).isEqualTo(FsException.Code.NOT_EMPTY);
                    assertThat(mkResult).isNull();
                    assertThat(m.list(dir, "", 0)).extracting(DirEntry::name).containsExactly("f");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mem", "rocks"})
    void concurrentRenamesKeepTheTreeATree(String engine) throws Exception {
        MetaStore m = open(engine);
        long seed = System.nanoTime();
        System.out.println("MetaStoreTest.renames seed=" + seed);
        int dirs = 8;
        for (int i = 0; i < dirs; i++) {
            m.mkdir("/d" + i, 0755, 0, 0);
        }
        AtomicInteger moved = new AtomicInteger();
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                Random rnd = new Random(seed + w);
                fs.add(pool.submit(() -> {
                    for (int k = 0; k < 60; k++) {
                        List<String> all = allDirs(m, "/");
                        String a = all.get(rnd.nextInt(all.size()));
                        String b = all.get(rnd.nextInt(all.size()));
                        String name = a.substring(a.lastIndexOf('/') + 1);
                        if (code(() -> m.rename(a, b + "/" + name, 0, 0)) == null) {
                            moved.incrementAndGet();
                        }
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        }
        List<String> reachable = allDirs(m, "/");
        assertThat(reachable).as("seed %d: every directory reachable exactly once after %d moves", seed, moved.get())
                .hasSize(dirs).doesNotHaveDuplicates();
        for (String p : reachable) {
            Inode d = m.stat(p);
            String parentPath = p.substring(0, p.lastIndexOf('/'));
            assertThat(d.parent()).isEqualTo(m.stat(parentPath.isEmpty() ? "/" : parentPath).id());
        }
    }

    private static List<String> allDirs(MetaStore m, String root) {
        List<String> out = new ArrayList<>();
        for (DirEntry e : m.list(root, "", 0)) {
            if (e.type() == InodeType.DIRECTORY) {
                String p = (root.equals("/") ? "" : root) + "/" + e.name();
                out.add(p);
                try {
                    out.addAll(allDirs(m, p));
                } catch (FsException gone) {
                    // moved away meanwhile
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"mem", "rocks"})
    void randomOperationsMatchAModelTree(String engine) {
        MetaStore m = open(engine);
        long seed = System.nanoTime();
        System.out.println("MetaStoreTest.model seed=" + seed);
        Random rnd = new Random(seed);
        TreeMap<String, Boolean> model = new TreeMap<>(); // path -> isDirectory
        String[] names = {"a", "b", "c"};
        for (int step = 0; step < 400; step++) {
            String p = randomPath(rnd, names);
            String q = randomPath(rnd, names);
            int op = rnd.nextInt(5);
            FsException.Code got = switch (op) {
                case 0 -> code(() -> m.create(p, 0644, 0, 0, 0));
                case 1 -> code(() -> m.mkdir(p, 0755, 0, 0));
                case 2 -> code(() -> m.unlink(p, 0, 0));
                case 3 -> code(() -> m.rmdir(p, 0, 0));
                default -> code(() -> m.rename(p, q, 0, 0));
            };
            FsException.Code want = ModelTree.apply(model, op, p, q);
            assertThat(got).as("seed %d step %d op %d %s %s", seed, step, op, p, q).isEqualTo(want);
        }
        Map<String, Boolean> actual = new TreeMap<>();
        walk(m, "/", actual);
        assertThat(actual).as("seed %d", seed).isEqualTo(model);
    }

    private static String randomPath(Random rnd, String[] names) {
        StringBuilder sb = new StringBuilder();
        int depth = 1 + rnd.nextInt(3);
        for (int i = 0; i < depth; i++) {
            sb.append('/').append(names[rnd.nextInt(names.length)]);
        }
        return sb.toString();
    }

    private static void walk(MetaStore m, String dir, Map<String, Boolean> out) {
        for (DirEntry e : m.list(dir, "", 0)) {
            String p = (dir.equals("/") ? "" : dir) + "/" + e.name();
            out.put(p, e.type() == InodeType.DIRECTORY);
            if (e.type() == InodeType.DIRECTORY) {
                walk(m, p, out);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mem", "rocks"})
    void twoWritersNeverOverReportAndCloseIsExact(String engine) {
        MetaStore m = open(engine);
        Inode f = m.create("/f", 0644, 0, 0, 0);
        long s1 = m.openWrite(f.id(), 1);
        long s2 = m.openWrite(f.id(), 2);
        m.extendLength(f.id(), 5000);
        m.extendLength(f.id(), 3000);
        assertThat(m.statInode(f.id()).length()).as("a smaller hint never shrinks").isEqualTo(5000);
        m.unlink("/f", 0, 0);
        assertThat(m.collectible(Long.MAX_VALUE)).as("not collected while writers are open").isEmpty();
        m.closeWrite(f.id(), s1, 4999);
        assertThat(m.collectible(Long.MAX_VALUE)).isEmpty();
        assertThat(m.closeWrite(f.id(), s2, 4321).length()).isEqualTo(4321);
        assertThat(m.collectible(Long.MAX_VALUE)).extracting(Inode::id).containsExactly(f.id());
        assertThat(m.collectible(0)).as("the delay applies").isEmpty();
        m.forget(f.id());
        assertThat(m.collectible(Long.MAX_VALUE)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"mem", "rocks"})
    void inodeIdsAreUniqueAcrossConcurrentMetaServers(String engine) throws Exception {
        MetaStore a = open(engine);
        MetaStore b = new MetaStore(TransactionRunner.defaults(kv), () -> 8, 1 << 20, 4);
        Set<Long> ids = ConcurrentHashMap.newKeySet();
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                MetaStore m = w % 2 == 0 ? a : b;
                int worker = w;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 150; i++) {
                        ids.add(m.create("/w" + worker + "-" + i, 0644, 0, 0, 0).id());
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        }
        assertThat(ids).hasSize(600);
        assertThat(new HashSet<>(a.list("/", "", 0))).hasSize(600);
    }
}
