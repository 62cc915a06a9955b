package dev.flyer.fs.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.fs.meta.FsException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link WriteBehind} alone, with chunk writes that the test holds, fails or times. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WriteBehindTest {
    private static final int CHUNK = 8;

    @Test
    void writesOfOneChunkReachItInTheOrderTheyWereMade() {
        long seed = System.nanoTime();
        System.out.println("WriteBehindTest seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        WriteBehind w = new WriteBehind("/f", CHUNK, 4L * CHUNK);
        List<Integer> arrived = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 60; i++) {
            long sleepNs = random.nextLong(200_000);
            w.start(i % 3, (i % 3) * CHUNK, new byte[] {(byte) i}, 0, 1, bytes -> {
                LockSupport.parkNanos(sleepNs);
                arrived.add((int) bytes[0]);
            });
        }
        w.drain();
        for (int chunk = 0; chunk < 3; chunk++) {
            int c = chunk;
            assertThat(arrived.stream().filter(i -> i % 3 == c).toList()).as("chunk %d (seed %d)", chunk, seed).isSorted();
        }
        assertThat(arrived).hasSize(60);
    }

    @Test
    void settleReturnsOnlyWithinTheWindowAndEachPieceHasItsOwnCopy() throws Exception {
        WriteBehind w = new WriteBehind("/f", CHUNK, 2L * CHUNK);
        CountDownLatch release = new CountDownLatch(1);
        List<byte[]> seen = Collections.synchronizedList(new ArrayList<>());
        byte[] caller = new byte[CHUNK];
        for (int i = 0; i < 3; i++) {
            java.util.Arrays.fill(caller, (byte) i);
            w.start(i, (long) i * CHUNK, caller, 0, CHUNK, bytes -> {
                await(release);
                seen.add(bytes.clone());
            });
        }
        java.util.Arrays.fill(caller, (byte) 9); // the caller reuses its array at once
        Thread settler = Thread.ofPlatform().start(w::settle);
        settler.join(200);
        assertThat(settler.isAlive()).as("three chunks in flight, a window of two").isTrue();
        release.countDown();
        settler.join(10_000);
        assertThat(settler.isAlive()).isFalse();
        w.drain();
        assertThat(seen).extracting(b -> b[0]).containsExactlyInAnyOrder((byte) 0, (byte) 1, (byte) 2);
        assertThat(seen).allSatisfy(b -> assertThat(b).containsOnly(b[0]));
    }

    @Test
    void theLengthHintStopsAtTheFirstPieceInFlight() {
        WriteBehind w = new WriteBehind("/f", CHUNK, 4L * CHUNK);
        CountDownLatch release = new CountDownLatch(1);
        w.start(0, 0, new byte[CHUNK], 0, CHUNK, bytes -> { });
        w.start(2, 2 * CHUNK, new byte[CHUNK], 0, CHUNK, bytes -> await(release));
        w.start(3, 3 * CHUNK, new byte[CHUNK], 0, CHUNK, bytes -> { });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (w.safeEnd(4 * CHUNK) != 2 * CHUNK && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(w.safeEnd(4 * CHUNK)).as("chunk 2 is still in flight").isEqualTo(2 * CHUNK);
        release.countDown();
        w.drain();
        assertThat(w.safeEnd(4 * CHUNK)).isEqualTo(4 * CHUNK);
    }

    @Test
    void aFailedPieceIsReportedByEveryLaterCheck() {
        WriteBehind w = new WriteBehind("/f", CHUNK, 4L * CHUNK);
        w.start(0, 0, new byte[CHUNK], 0, CHUNK, bytes -> {
            throw new FsException(FsException.Code.UNAVAILABLE, "cluster unavailable: chain 1");
        });
        w.start(1, CHUNK, new byte[CHUNK], 0, CHUNK, bytes -> {
            throw new IllegalStateException("boom");
        });
        w.start(2, 2 * CHUNK, new byte[CHUNK], 0, CHUNK, bytes -> {
            throw new AssertionError("an Error, not an exception"); // still ends the piece: drain returns
        });
        w.drain();
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(w::checkFailure).isInstanceOfSatisfying(FsException.class, e -> {
                assertThat(e.code()).isIn(FsException.Code.UNAVAILABLE, FsException.Code.IO_ERROR);
                assertThat(e.getMessage()).matches("(EAGAIN|EIO): a write of /f failed: [^:]+: .*");
                assertThat(e.getCause()).isInstanceOf(FsException.class);
            });
        }
    }

    @Test
    void aWindowOfZeroWaitsForEveryPieceAndANegativeOneIsRefused() {
        WriteBehind w = new WriteBehind("/f", CHUNK, 0);
        List<Integer> done = Collections.synchronizedList(new ArrayList<>());
        w.start(0, 0, new byte[CHUNK], 0, CHUNK, bytes -> {
            LockSupport.parkNanos(20_000_000);
            done.add(0);
        });
        w.settle();
        assertThat(done).as("settle with no window returns only when the piece is done").containsExactly(0);
        assertThatThrownBy(() -> new WriteBehind("/f", CHUNK, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1 bytes");
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(20, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
