package dev.flyer.profile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.profile.internal.Intervals;
import java.util.Random;
import org.junit.jupiter.api.Test;

class IntervalsTest {
    static Intervals of(double... bounds) {
        double[] s = new double[bounds.length / 2];
        double[] e = new double[bounds.length / 2];
        for (int i = 0; i < s.length; i++) {
            s[i] = bounds[2 * i];
            e[i] = bounds[2 * i + 1];
        }
        return Intervals.union(s, e, s.length);
    }

    @Test
    void nestedAdjacentOverlappingAndEmptyIntervals() {
        assertThat(of(0, 10, 2, 5).length()).as("nested").isEqualTo(10);
        assertThat(of(0, 5, 5, 8).size()).as("adjacent merge").isEqualTo(1);
        assertThat(of(0, 5, 5, 8).length()).isEqualTo(8);
        assertThat(of(0, 5, 3, 9, 20, 21).length()).as("overlapping + disjoint").isEqualTo(10);
        assertThat(of(4, 4, 0, 1).length()).as("zero duration adds nothing").isEqualTo(1);
        assertThat(of().length()).isZero();
        assertThat(of(0, 10).intersectionLength(of(5, 15))).isEqualTo(5);
        assertThat(of(0, 10, 20, 30).intersectionLength(of(5, 25))).isEqualTo(10);
        assertThat(of(0, 1).intersectionLength(of(1, 2))).isZero();
    }

    @Test
    void matchesAPixelCountOnRandomIntegerIntervals() {
        long seed = System.nanoTime();
        System.out.println("IntervalsTest seed=" + seed);
        Random r = new Random(seed);
        for (int trial = 0; trial < 200; trial++) {
            boolean[] a = new boolean[210];
            boolean[] b = new boolean[210];
            double[] as = new double[10];
            double[] ae = new double[10];
            double[] bs = new double[10];
            double[] be = new double[10];
            for (int i = 0; i < 10; i++) {
                int s = r.nextInt(190);
                int len = r.nextInt(15);
                as[i] = s;
                ae[i] = s + len;
                for (int k = s; k < s + len; k++) {
                    a[k] = true;
                }
                s = r.nextInt(190);
                len = r.nextInt(15);
                bs[i] = s;
                be[i] = s + len;
                for (int k = s; k < s + len; k++) {
                    b[k] = true;
                }
            }
            int countA = 0;
            int both = 0;
            for (int k = 0; k < 210; k++) {
                countA += a[k] ? 1 : 0;
                both += a[k] && b[k] ? 1 : 0;
            }
            Intervals ia = Intervals.union(as, ae, 10);
            assertThat(ia.length()).isEqualTo(countA);
            assertThat(ia.intersectionLength(Intervals.union(bs, be, 10))).isEqualTo(both);
        }
    }
}
