package dev.flyer.cli;

import dev.flyer.cli.internal.BenchCommand;
import dev.flyer.cli.internal.ChatCommand;
import dev.flyer.cli.internal.DemoCommand;
import dev.flyer.cli.internal.DistCommand;
import dev.flyer.cli.internal.LaunchCommand;
import dev.flyer.cli.internal.DualPipeCommand;
import dev.flyer.cli.internal.EpCommand;
import dev.flyer.cli.internal.EplbCommand;
import dev.flyer.cli.internal.FsCommand;
import dev.flyer.cli.internal.GenerateCommand;
import dev.flyer.cli.internal.ModelCommand;
import dev.flyer.cli.internal.ProfileCommand;
import dev.flyer.cli.internal.SafetensorsCommand;
import dev.flyer.cli.internal.ServeCommand;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code flyer} command: one subcommand family per module.
 *
 * <p>Contract: exit status 0 on success, 1 when a command fails on bad input or I/O (one line
 * {@code flyer: error: ...} on stderr), 2 on a usage error (picocli's message and usage).
 */
@Command(name = "flyer", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "DeepSeek's open infrastructure stack on the JVM.",
        subcommands = {DemoCommand.class, LaunchCommand.class, DistCommand.class, EpCommand.class, FsCommand.class, DualPipeCommand.class, EplbCommand.class, ProfileCommand.class, ModelCommand.class, GenerateCommand.class, ServeCommand.class, ChatCommand.class, BenchCommand.class, SafetensorsCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs {@code flyer args} and returns the exit status (for tests and embedding). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        BenchCommand.Jmh.configure(cli.getSubcommands().get("bench").getSubcommands().get("jmh"));
        BenchCommand.Jmh.configure(cli.getSubcommands().get("launch"));
        cli.setExecutionExceptionHandler((error, commandLine, parseResult) -> {
            if (error instanceof IllegalArgumentException || error instanceof IOException
                    || error instanceof IllegalStateException || error instanceof dev.flyer.fs.meta.FsException
                    || error instanceof dev.flyer.fs.rpc.RpcException) {
                commandLine.getErr().println("flyer: error: " + error.getMessage());
                return 1;
            }
            throw error;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Reads the version Maven wrote into the jar. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("/dev/flyer/cli/version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"flyer " + p.getProperty("version", "unknown") + " (Java "
                    + Runtime.version() + ", " + System.getProperty("os.arch") + ")"};
        }
    }
}
