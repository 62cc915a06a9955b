package dev.flyer.bench;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar on stderr over a bench's steps; {@link #quiet()} shows nothing (tests, JSON-only runs). */
public final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    /** A bar titled {@code task} over {@code steps} steps. */
    public static Progress bar(String task, int steps) {
        return new Progress(new ProgressBarBuilder().setTaskName(task).setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err))
                .setUpdateIntervalMillis(200).continuousUpdate().build());
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
