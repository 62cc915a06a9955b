package dev.flyer.cli.internal;

import dev.flyer.dist.Launcher;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flyer launch -n N [--nodes M --node-rank R --master host:port] -- SUBCOMMAND ...}. */
@Command(name = "launch", mixinStandardHelpOptions = true,
        description = {"Start N local ranks of a flyer subcommand, torchrun-style.",
            "Sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; prefixes each line",
            "with its rank; stops all ranks when one fails and exits with its status."})
public final class LaunchCommand implements Callable<Integer> {
    @Option(names = {"-n", "--nproc-per-node"}, required = true, description = "Processes on this node.")
    int procs;

    @Option(names = "--nodes", defaultValue = "1", description = "Nodes in the job (default: ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--node-rank", defaultValue = "0", description = "This node's index (default: ${DEFAULT-VALUE}).")
    int nodeRank;

    @Option(names = "--master", paramLabel = "HOST:PORT", description = "Rank 0's store address (default: "
            + "127.0.0.1 and a free port; required with --nodes > 1).")
    String master;

    @Parameters(paramLabel = "SUBCOMMAND", arity = "1..*", description = "The flyer subcommand each rank runs.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        String addr = null;
        int port = 0;
        if (master != null) {
            int colon = master.lastIndexOf(':');
            if (colon < 1) {
                throw new IllegalArgumentException("--master must be HOST:PORT, got \"" + master + "\"");
            }
            addr = master.substring(0, colon);
            try {
                port = Integer.parseInt(master.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--master port \"" + master.substring(colon + 1) + "\" is not a number");
            }
        }
        return Launcher.run(new Launcher.Options(procs, nodes, nodeRank, addr, port), flyerCommand(command), System.out);
    }

    /** This JVM's java, flags and class path, running {@code flyer args}. */
    static List<String> flyerCommand(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java"));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-agentlib") && !arg.startsWith("-javaagent")) {
                cmd.add(arg);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.flyer.cli.Main");
        cmd.addAll(args);
        return cmd;
    }
}
