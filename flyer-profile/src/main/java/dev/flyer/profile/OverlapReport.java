package dev.flyer.profile;

import java.util.List;

/**
 * What {@link OverlapAnalysis} found, in milliseconds over the trace window (first device event's
 * start to last device event's end).
 *
 * @param windowMs the window
 * @param computeMs time with at least one compute event running (union of intervals)
 * @param commMs time with at least one communication event running
 * @param overlapMs time with both running
 * @param exposedCommMs communication time with no compute under it ({@code commMs - overlapMs})
 * @param idleMs time with no device event at all
 * @param overlapRatio {@code overlapMs / commMs}: the share of communication hidden by compute
 * @param annotations kernel time per enclosing CPU-side annotation, largest first
 * @param lanes busy time per stream or worker, in lane order
 * @param commPattern the regular expression that classified communication
 */
public record OverlapReport(double windowMs, double computeMs, double commMs, double overlapMs, double exposedCommMs,
                            double idleMs, double overlapRatio, List<AnnotationTime> annotations, List<LaneTime> lanes,
                            String commPattern) {
    /** Device time attributed to one annotation name (sums of durations, not unions). */
    public record AnnotationTime(String name, int events, double computeMs, double commMs) {}

    /** Busy time of one lane ({@code pid:tid}): unions of its compute, communication and all events. */
    public record LaneTime(String lane, String label, int events, double computeMs, double commMs, double busyMs) {}
}
