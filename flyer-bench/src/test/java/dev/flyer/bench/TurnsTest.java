package dev.flyer.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class TurnsTest {
    /** Two threads per side; 2 s timed per side (two rounds); warm-up capped at 1 s. */
    private static final FsBench.Options OPTIONS = new FsBench.Options(2, 1, 2_000, 1_000, 0, 1);

    private record Step(int side, long startNs, long endNs) {}

    /** A side whose steps sleep {@code sleepMs} and count 1 each, logging when they ran. */
    private static DataRows.Worker sleeper(int side, long sleepMs, ConcurrentLinkedQueue<Step> log, AtomicLong counter) {
        return (thread, opened) -> i -> {
            long start = System.nanoTime();
            Thread.sleep(sleepMs);
            counter.addAndGet(side);
            log.add(new Step(side, start, System.nanoTime()));
            return 1;
        };
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sidesRunInTurnsNeverTogetherAndEachRateIsItsOwn() {
        ConcurrentLinkedQueue<Step> log = new ConcurrentLinkedQueue<>();
        AtomicLong counter = new AtomicLong();
        long[] counted = new long[2];
        double[] rates = Turns.measure(List.of(sleeper(0, 2, log, counter), sleeper(1, 4, log, counter)), OPTIONS,
                counter::get, counted);

        // two threads stepping every ~2 ms and every ~4 ms; sleeps overrun, so rates are at most that
        assertThat(rates[0]).isBetween(300.0, 1000.0);
        assertThat(rates[1]).isBetween(150.0, 500.0);
        assertThat(rates[1] / rates[0]).isBetween(0.35, 0.7);
        assertThat(counted[0]).isZero(); // side 0 adds 0 to the counter, side 1 adds 1 per step
        assertThat(counted[1]).isEqualTo(log.stream().filter(s -> s.side() == 1).count());
        List<Step> zero = log.stream().filter(s -> s.side() == 0).toList();
        for (Step one : log.stream().filter(s -> s.side() == 1).toList()) {
            assertThat(zero).noneMatch(z -> z.startNs() < one.endNs() && one.startNs() < z.endNs());
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aFailingStepFailsTheMeasurementWithItsCause() {
        DataRows.Worker healthy = (thread, opened) -> i -> 1;
        DataRows.Worker failing = (thread, opened) -> i -> {
            if (i == 50) {
                throw new java.io.IOException("disk on fire");
            }
            return 1;
        };
        assertThatThrownBy(() -> Turns.measure(List.of(healthy, failing), OPTIONS, () -> 0, new long[2]))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("disk on fire");
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aWorkerThatCannotOpenItsFilesFailsTheMeasurement() {
        DataRows.Worker unopenable = (thread, opened) -> {
            throw new java.nio.file.NoSuchFileException("seq-" + thread);
        };
        assertThatThrownBy(() -> Turns.measure(List.of(unopenable), OPTIONS, () -> 0, new long[1]))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("seq-");
    }
}
