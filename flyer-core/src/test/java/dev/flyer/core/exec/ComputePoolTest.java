package dev.flyer.core.exec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ComputePoolTest {
    @Test
    void everyTileRunsExactlyOnceOverManyCalls() {
        try (ComputePool pool = new ComputePool(3, "test")) {
            for (int call = 0; call < 2000; call++) {
                int tiles = 1 + call % 37;
                AtomicIntegerArray runs = new AtomicIntegerArray(tiles);
                pool.parallelFor(tiles, (tile, worker) -> {
                    assertThat(worker).isBetween(0, 2);
                    runs.incrementAndGet(tile);
                });
                for (int t = 0; t < tiles; t++) {
                    assertThat(runs.get(t)).as("call %d tile %d", call, t).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void usesTheOtherWorkersAndTheCaller() throws Exception {
        try (ComputePool pool = new ComputePool(2, "test")) {
            var workers = ConcurrentHashMap.<Integer>newKeySet();
            CountDownLatch both = new CountDownLatch(2);
            pool.parallelFor(2, (tile, worker) -> {
                workers.add(worker);
                both.countDown();
                try {
                    assertThat(both.await(10, TimeUnit.SECONDS)).as("both tiles run at once").isTrue();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(workers).containsExactlyInAnyOrder(0, 1);
        }
    }

    @Test
    void firstFailureIsRethrownAfterAllTilesFinish() {
        try (ComputePool pool = new ComputePool(2, "test")) {
            AtomicLong finished = new AtomicLong();
            assertThatThrownBy(() -> pool.parallelFor(50, (tile, worker) -> {
                if (tile == 7) {
                    throw new IllegalArgumentException("tile 7 broke");
                }
                finished.incrementAndGet();
            })).isInstanceOf(IllegalArgumentException.class).hasMessage("tile 7 broke");
            assertThat(finished.get()).isEqualTo(49);
            AtomicLong after = new AtomicLong();
            pool.parallelFor(10, (tile, worker) -> after.incrementAndGet());
            assertThat(after.get()).as("pool still works").isEqualTo(10);
        }
    }

    @Test
    void nestedAndConcurrentCallsComplete() throws Exception {
        try (ComputePool pool = new ComputePool(2, "test")) {
            AtomicLong inner = new AtomicLong();
            pool.parallelFor(4, (tile, worker) -> pool.parallelFor(5, (t, w) -> inner.incrementAndGet()));
            assertThat(inner.get()).isEqualTo(20);
            AtomicLong total = new AtomicLong();
            Thread[] callers = new Thread[4];
            for (int i = 0; i < callers.length; i++) {
                callers[i] = Thread.ofPlatform().start(() -> {
                    for (int r = 0; r < 200; r++) {
                        pool.parallelFor(8, (t, w) -> total.incrementAndGet());
                    }
                });
            }
            for (Thread c : callers) {
                c.join();
            }
            assertThat(total.get()).isEqualTo(4 * 200 * 8);
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new ComputePool(0, "x")).hasMessageContaining("threads must be >= 1");
        assertThatThrownBy(() -> ComputePool.shared().parallelFor(-1, (t, w) -> { }))
                .hasMessageContaining("tiles must be >= 0");
        assertThat(ComputePool.shared().threads()).isGreaterThanOrEqualTo(1);
    }
}
