package dev.flyer.profile.internal;

import java.util.Arrays;

/**
 * A set of disjoint half-open intervals {@code [start, end)}, built as the union of any intervals.
 *
 * <p>Implementation notes: {@link #union} sorts by start and merges overlapping or touching
 * intervals in one pass; {@link #intersectionLength} walks two unions with two pointers. Empty
 * intervals (zero duration) add nothing.
 */
public final class Intervals {
    private final double[] starts;
    private final double[] ends;

    private Intervals(double[] starts, double[] ends) {
        this.starts = starts;
        this.ends = ends;
    }

    /** The union of {@code [starts[i], ends[i])} for {@code i < count}. */
    public static Intervals union(double[] starts, double[] ends, int count) {
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(starts[a], starts[b]));
        double[] s = new double[count];
        double[] e = new double[count];
        int n = 0;
        for (int k = 0; k < count; k++) {
            int i = order[k];
            if (ends[i] <= starts[i]) {
                continue;
            }
            if (n > 0 && starts[i] <= e[n - 1]) {
                e[n - 1] = Math.max(e[n - 1], ends[i]);
            } else {
                s[n] = starts[i];
                e[n] = ends[i];
                n++;
            }
        }
        return new Intervals(Arrays.copyOf(s, n), Arrays.copyOf(e, n));
    }

    public int size() {
        return starts.length;
    }

    public double start(int i) {
        return starts[i];
    }

    public double end(int i) {
        return ends[i];
    }

    /** Total covered length. */
    public double length() {
        double total = 0;
        for (int i = 0; i < starts.length; i++) {
            total += ends[i] - starts[i];
        }
        return total;
    }

    /** Length of the part covered by both this and {@code other}. */
    public double intersectionLength(Intervals other) {
        double total = 0;
        int i = 0;
        int j = 0;
        while (i < size() && j < other.size()) {
            double lo = Math.max(starts[i], other.starts[j]);
            double hi = Math.min(ends[i], other.ends[j]);
            if (hi > lo) {
                total += hi - lo;
            }
            if (ends[i] < other.ends[j]) {
                i++;
            } else {
                j++;
            }
        }
        return total;
    }
}
