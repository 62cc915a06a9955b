package dev.flyer.cli.internal;

import dev.flyer.profile.OverlapAnalysis;
import dev.flyer.profile.OverlapReport;
import dev.flyer.profile.ReportWriter;
import dev.flyer.profile.TimelineSvg;
import dev.flyer.profile.Trace;
import dev.flyer.profile.TraceReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flyer profile ...}: computation/communication overlap analysis of Chrome traces. */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = "Analyse Chrome traces (PyTorch profiler's or Flyer's) for compute/communication overlap.",
        subcommands = ProfileCommand.Analyze.class)
public final class ProfileCommand extends CommandGroup {

    @Command(name = "analyze", aliases = "analyse", mixinStandardHelpOptions = true,
            description = "Compute, communication, overlap, exposed communication and idle time; "
                    + "per-annotation and per-lane breakdowns.")
    static final class Analyze implements Callable<Integer> {
        @Parameters(paramLabel = "TRACE.json", description = "Chrome-trace JSON file.")
        Path trace;

        @Option(names = "--comm-pattern", paramLabel = "REGEX", description = "Event names that are communication "
                + "(default: '" + OverlapAnalysis.PYTORCH_COMM_PATTERN + "' for PyTorch traces, '"
                + OverlapAnalysis.FLYER_COMM_PATTERN + "' for Flyer's).")
        String commPattern;

        @Option(names = "--json", description = "Print JSON instead of the table.")
        boolean json;

        @Option(names = "--svg", paramLabel = "FILE", description = "Also draw the timeline to FILE.")
        Path svg;

        @Override
        public Integer call() throws Exception {
            if (commPattern != null) {
                try {
                    java.util.regex.Pattern.compile(commPattern);
                } catch (java.util.regex.PatternSyntaxException e) {
                    throw new IllegalArgumentException("--comm-pattern is not a valid regular expression: "
                            + e.getDescription());
                }
            }
            Trace t = TraceReader.read(trace);
            OverlapAnalysis.Options options = OverlapAnalysis.Options.defaults().withCommPattern(commPattern);
            OverlapReport report = OverlapAnalysis.analyze(t, options);
            if (json) {
                System.out.println(ReportWriter.json(report));
            } else {
                ReportWriter.printTable(report, trace.getFileName().toString(), System.out);
            }
            if (svg != null) {
                Files.writeString(svg, TimelineSvg.render(t, report, options, trace.getFileName().toString()));
                (json ? System.err : System.out).println("wrote " + svg);
            }
            return 0;
        }
    }
}
