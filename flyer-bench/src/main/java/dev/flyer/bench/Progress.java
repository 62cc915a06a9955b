package dev.flyer.bench;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on stderr over a bench's steps; {@link #quiet()} shows nothing (tests, JSON-only runs).
 *
 * <p>Implementation notes: the bar's width is asked of the terminal once, when the bar is made.
 * progressbar's plain console consumer asks JLine for it on every redraw, and JLine answers by
 * running {@code stty} in a child process: five processes a second on a 2-core machine took up to
 * a fifth of the CPU from the benchmarks being measured (h_q=128 MLA decode: 258 GFLOP/s with the
 * bar, 333 without).
 */
public final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    /** A bar titled {@code task} over {@code steps} steps. */
    public static Progress bar(String task, int steps) {
        return new Progress(new ProgressBarBuilder().setTaskName(task).setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(stderrConsumer())
                .setUpdateIntervalMillis(200).continuousUpdate().build());
    }

    /** A stderr consumer whose width is measured now, once (see the class notes). */
    public static ConsoleProgressBarConsumer stderrConsumer() {
        int width = new ConsoleProgressBarConsumer(System.err).getMaxRenderedLength();
        return new ConsoleProgressBarConsumer(System.err, width);
    }

    public static Progress quiet() {
        return new Progress(null);
    }

    /** Marks the start of a step named {@code what}. */
    public void step(String what) {
        if (bar != null) {
            bar.setExtraMessage(what);
        }
    }

    /** Marks a step done. */
    public void done() {
        if (bar != null) {
            bar.step();
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
