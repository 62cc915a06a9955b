package dev.flyer.cli.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flyer.dualpipe.Costs;
import dev.flyer.dualpipe.Method;
import dev.flyer.dualpipe.Op;
import dev.flyer.dualpipe.Schedule;
import dev.flyer.dualpipe.ScheduleChart;
import dev.flyer.dualpipe.Schedules;
import dev.flyer.dualpipe.Simulation;
import dev.flyer.dualpipe.Simulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flyer dualpipe ...}: pipeline schedules, their simulation and charts. */
@Command(name = "dualpipe", mixinStandardHelpOptions = true,
        description = "DualPipe / DualPipeV pipeline parallelism (and the 1F1B, ZB1P baselines).",
        subcommands = {DualPipeCommand.ScheduleCommand.class, DualPipeTrain.class, DualPipeTrain.Worker.class})
public final class DualPipeCommand extends CommandGroup {

    @Command(name = "schedule", mixinStandardHelpOptions = true,
            description = "Print each rank's ops and the simulated bubble, makespan and peak activations.")
    static final class ScheduleCommand implements Callable<Integer> {
        @Option(names = "--method", defaultValue = "dualpipe", description = "dualpipe, dualpipev, 1f1b or zb1p "
                + "(default: ${DEFAULT-VALUE}).")
        String method;

        @Option(names = "--ranks", defaultValue = "4", description = "Pipeline ranks (default: ${DEFAULT-VALUE}).")
        int ranks;

        @Option(names = "--chunks", defaultValue = "8", description = "Micro-batches (default: ${DEFAULT-VALUE}).")
        int chunks;

        @Option(names = "--costs", defaultValue = "1,2,1,3", paramLabel = "F,B,W,FB[,LAT]",
                description = "Op durations for the simulator (default: ${DEFAULT-VALUE}, the README's).")
        String costs;

        @Option(names = "--json", description = "Print {method, ranks, bubble, makespan, peak_activations} as JSON.")
        boolean json;

        @Option(names = "--svg", paramLabel = "FILE", description = "Draw the schedule to FILE.")
        Path svg;

        @Override
        public Integer call() throws Exception {
            Method m = Method.fromCliName(method);
            Schedule schedule = Schedules.build(m, ranks, chunks);
            Simulation sim = Simulator.run(schedule, Costs.parse(costs));
            if (json) {
                System.out.println(new ObjectMapper().writeValueAsString(toJson(sim)));
            } else {
                print(sim);
            }
            if (svg != null) {
                Files.writeString(svg, ScheduleChart.svg(sim));
                (json ? System.err : System.out).println("wrote " + svg);
            }
            return 0;
        }

        private static void print(Simulation sim) {
            Schedule s = sim.schedule();
            System.out.printf("%s, %d ranks, %d chunks%n", s.method().cliName(), s.ranks(), s.chunks());
            for (int r = 0; r < s.ranks(); r++) {
                StringBuilder line = new StringBuilder();
                for (Op op : s.ops().get(r)) {
                    line.append(line.isEmpty() ? "" : " ").append(op);
                }
                System.out.printf("rank %d: %s%n", r, line);
            }
            System.out.printf(Locale.ROOT, "makespan %.4g; bubble per rank %s; peak activations per rank %s%n",
                    sim.makespan(), java.util.Arrays.toString(sim.bubble()), java.util.Arrays.toString(sim.peakActivations()));
        }

        private static ObjectNode toJson(Simulation sim) {
            ObjectMapper json = new ObjectMapper();
            ObjectNode o = json.createObjectNode();
            o.put("method", sim.schedule().method().cliName());
            ArrayNode ranks = o.putArray("ranks");
            for (var ops : sim.schedule().ops()) {
                ArrayNode row = ranks.addArray();
                ops.forEach(op -> row.add(op.toString()));
            }
            ArrayNode bubble = o.putArray("bubble");
            for (double b : sim.bubble()) {
                bubble.add(b);
            }
            o.put("makespan", sim.makespan());
            ArrayNode peak = o.putArray("peak_activations");
            for (int p : sim.peakActivations()) {
                peak.add(p);
            }
            return o;
        }
    }
}
