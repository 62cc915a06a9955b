package dev.flyer.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The same tests on both transports, ranks as threads (the same code path as processes). */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProcessGroupTest {
    static ProcessGroup.Options options(ProcessGroup.Transport t) {
        return ProcessGroup.Options.defaults().withTransport(t).withTimeout(Duration.ofSeconds(20));
    }

    /** Runs {@code body(rank)} on every rank at once and returns the results by rank. */
    static <T> List<T> onAllRanks(List<ProcessGroup> groups, IntFunction<Callable<T>> body) throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(groups.size())) {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < groups.size(); r++) {
                futures.add(pool.submit(body.apply(r)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(60, TimeUnit.SECONDS));
            }
            return out;
        }
    }

    static void closeAll(List<ProcessGroup> groups) throws Exception {
        onAllRanks(groups, r -> () -> {
            groups.get(r).close();
            return null;
        });
    }

    @ParameterizedTest
    @EnumSource(value = ProcessGroup.Transport.class, names = {"TCP", "SHM"})
    void collectivesAndRingExchange(ProcessGroup.Transport transport) throws Exception {
        int world = 4;
        List<ProcessGroup> groups = ProcessGroup.inProcess(world, options(transport));
        try {
            assertThat(groups.get(1).transportTo(2)).isEqualTo(transport.name().toLowerCase(java.util.Locale.ROOT));
            List<String> results = onAllRanks(groups, r -> () -> {
                ProcessGroup g = groups.get(r);
                g.barrier();
                byte[][] all = g.allGather(("r" + r).getBytes(StandardCharsets.UTF_8));
                String root = g.broadcast(r == 2 ? "from two" : null, 2);
                try (Arena arena = Arena.ofShared()) {
                    long floats = 100_003;
                    MemorySegment out = arena.allocate(floats * 4);
                    MemorySegment in = arena.allocate(floats * 4);
                    for (long i = 0; i < floats; i++) {
                        out.setAtIndex(ValueLayout.JAVA_FLOAT, i, r * 1_000_000 + i);
                    }
                    int next = (r + 1) % world;
                    int prev = (r + world - 1) % world;
                    // both directions posted before anyone waits: must not deadlock
                    List<Work> works = g.batchIsendIrecv(List.of(P2POp.isend(out, next), P2POp.irecv(in, prev)));
                    works.forEach(Work::await);
                    for (long i = 0; i < floats; i += 997) {
                        assertThat(in.getAtIndex(ValueLayout.JAVA_FLOAT, i)).isEqualTo((float) (prev * 1_000_000 + i));
                    }
                }
                g.barrier();
                StringBuilder s = new StringBuilder(root);
                for (byte[] b : all) {
                    s.append(' ').append(new String(b, StandardCharsets.UTF_8));
                }
                return s.toString();
            });
            assertThat(results).containsOnly("from two r0 r1 r2 r3");
        } finally {
            closeAll(groups);
        }
    }

    @ParameterizedTest
    @EnumSource(value = ProcessGroup.Transport.class, names = {"TCP", "SHM"})
    void messagesLargerThanTheRingAndManyInOrder(ProcessGroup.Transport transport) throws Exception {
        long seed = System.nanoTime();
        System.out.println("ProcessGroupTest.messagesLargerThanTheRing seed=" + seed);
        ProcessGroup.Options o = new ProcessGroup.Options(Duration.ofSeconds(20), transport, 1L << 16,
                java.nio.file.Path.of("/dev/shm"), 1);
        List<ProcessGroup> groups = ProcessGroup.inProcess(2, o);
        try (Arena arena = Arena.ofShared()) {
            byte[] big = new byte[3 << 20];
            new Random(seed).nextBytes(big);
            MemorySegment src = arena.allocate(big.length);
            MemorySegment.copy(big, 0, src, ValueLayout.JAVA_BYTE, 0, big.length);
            MemorySegment dst = arena.allocate(big.length);
            onAllRanks(groups, r -> () -> {
                ProcessGroup g = groups.get(r);
                if (r == 0) {
                    List<Work> sends = new ArrayList<>();
                    for (int i = 0; i < 50; i++) {
                        MemorySegment small = arena.allocate(4);
                        small.set(ValueLayout.JAVA_INT, 0, i);
                        sends.add(g.isend(small, 1, 7));
                    }
                    g.send(src, 1);
                    sends.forEach(Work::await);
                } else {
                    for (int i = 0; i < 50; i++) {
                        MemorySegment small = arena.allocate(4);
                        g.irecv(small, 0, 7).await();
                        assertThat(small.get(ValueLayout.JAVA_INT, 0)).as("message %d in order", i).isEqualTo(i);
                    }
                    g.recv(dst, 0);
                }
                return null;
            });
            assertThat(dst.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(big);
        } finally {
            closeAll(groups);
        }
    }

    @ParameterizedTest
    @EnumSource(value = ProcessGroup.Transport.class, names = {"TCP", "SHM"})
    void aPeerThatLeavesIsReportedNotWaitedFor(ProcessGroup.Transport transport) throws Exception {
        List<ProcessGroup> groups = ProcessGroup.inProcess(2, options(transport));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(1024);
            groups.get(1).send(buf, 0);
            groups.get(0).recv(buf, 1);
            long t0 = System.nanoTime();
            groups.get(1).close();
            assertThatThrownBy(() -> groups.get(0).recv(buf, 1)).isInstanceOf(DistException.class)
                    .hasMessageContaining("rank 1").hasMessageContaining("closed");
            assertThat(System.nanoTime() - t0).as("reported well before the timeout").isLessThan(10_000_000_000L);
        } finally {
            groups.get(0).close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = ProcessGroup.Transport.class, names = {"TCP", "SHM"})
    void failuresAreClearAndNameThePeer(ProcessGroup.Transport transport) throws Exception {
        List<ProcessGroup> groups = ProcessGroup.inProcess(3, options(transport).withTimeout(Duration.ofMillis(800)));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(64);
            assertThatThrownBy(() -> groups.get(0).irecv(buf, 2).await()).isInstanceOf(DistException.class)
                    .hasMessageContaining("receive of 64 bytes from rank 2").hasMessageContaining("rank 0");
            assertThatThrownBy(() -> groups.get(1).barrier()).isInstanceOf(DistException.class)
                    .hasMessageContaining("barrier").hasMessageContaining("1 of 3 ranks arrived");
            assertThatThrownBy(() -> groups.get(0).allGather(new byte[1])).hasMessageContaining("never contributed");
            assertThatThrownBy(() -> groups.get(0).isend(buf, 0)).hasMessageContaining("cannot send to or receive from itself");
            assertThatThrownBy(() -> groups.get(0).isend(buf, 5)).hasMessageContaining("peer 5 is outside [0, 3)");
            // a size mismatch is reported by the receiver
            List<ProcessGroup> two = ProcessGroup.inProcess(2, options(transport));
            try {
                two.get(0).isend(arena.allocate(16), 1);
                assertThatThrownBy(() -> two.get(1).irecv(arena.allocate(8), 0).await())
                        .hasMessageContaining("has tag 0 and 16 bytes, but the posted receive expects tag 0 and 8 bytes");
            } finally {
                closeAll(two);
            }
        } finally {
            closeAll(groups);
        }
    }

    @ParameterizedTest
    @EnumSource(value = ProcessGroup.Transport.class, names = {"TCP", "SHM"})
    void gatherSendsAndScatterReceivesWithDifferentPieces(ProcessGroup.Transport transport) throws Exception {
        long seed = System.nanoTime();
        System.out.println("ProcessGroupTest.gatherScatter seed=" + seed);
        Random rnd = new Random(seed);
        List<ProcessGroup> groups = ProcessGroup.inProcess(2, options(transport));
        try (Arena arena = Arena.ofShared()) {
            for (int message = 0; message < 5; message++) {
                MemorySegment src = arena.allocate(3 << 20);
                MemorySegment dst = arena.allocate(3 << 20);
                byte[] bytes = new byte[(int) src.byteSize()];
                rnd.nextBytes(bytes);
                MemorySegment.copy(bytes, 0, src, ValueLayout.JAVA_BYTE, 0, bytes.length);
                // the sender gathers rows from shuffled places (small and large), the receiver scatters differently
                IoVector out = new IoVector();
                IoVector in = new IoVector();
                long total = 0;
                List<long[]> pieces = new ArrayList<>();
                while (total < (2 << 20)) {
                    long len = rnd.nextInt(4) == 0 ? 70_000 + rnd.nextInt(200_000) : 1 + rnd.nextInt(9000);
                    long at = (long) rnd.nextInt((int) (src.byteSize() - len));
                    pieces.add(new long[] {at, len});
                    out.add(src, at, len);
                    total += len;
                }
                for (long done = 0; done < total; ) {
                    long len = Math.min(total - done, 1 + rnd.nextInt(rnd.nextBoolean() ? 5000 : 300_000));
                    in.add(dst, done, len);
                    done += len;
                }
                onAllRanks(groups, r -> () -> {
                    if (r == 0) {
                        groups.get(0).isend(out, 1, 7).await();
                    } else {
                        groups.get(1).irecv(in, 0, 7).await();
                    }
                    return null;
                });
                long at = 0;
                for (long[] p : pieces) {
                    assertThat(dst.asSlice(at, p[1]).mismatch(src.asSlice(p[0], p[1]))).as("piece at " + at).isEqualTo(-1L);
                    at += p[1];
                }
            }
        } finally {
            closeAll(groups);
        }
    }
}
