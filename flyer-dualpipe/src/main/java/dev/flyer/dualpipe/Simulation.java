package dev.flyer.dualpipe;

import java.util.List;

/**
 * What replaying a schedule with given costs gives.
 *
 * @param schedule the schedule replayed
 * @param costs the durations used
 * @param timeline {@code timeline.get(rank)}: each op with its start and end
 * @param makespan end of the last op (all ranks start at 0)
 * @param bubble per rank, {@code makespan - busy time}: the time the rank is idle in the step
 * @param peakActivations per rank, the most chunks forwarded but not yet backwarded at once
 */
public record Simulation(Schedule schedule, Costs costs, List<List<Timed>> timeline, double makespan, double[] bubble,
                         int[] peakActivations) {
    /** An op placed in time. */
    public record Timed(Op op, double start, double end) {}
}
