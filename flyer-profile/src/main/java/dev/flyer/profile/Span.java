package dev.flyer.profile;

/**
 * One complete ({@code ph:"X"}) event of a trace, reduced to what the analysis needs.
 *
 * @param name event name (kernel, annotation or launch)
 * @param category {@code cat} ({@code kernel}, {@code user_annotation}, {@code compute}, ...)
 * @param pid process id as written (a number or a string in Chrome traces)
 * @param tid thread or stream id as written
 * @param startUs start in microseconds
 * @param durationUs duration in microseconds
 * @param correlation CUDA correlation id from {@code args.correlation}, or -1
 */
public record Span(String name, String category, String pid, String tid, double startUs, double durationUs,
                   long correlation) {
    public double endUs() {
        return startUs + durationUs;
    }

    /** {@code pid:tid}, the lane this span is drawn in. */
    public String lane() {
        return pid + ":" + tid;
    }
}
