package dev.flyer.cli.internal;

import dev.flyer.dist.DistEnv;
import dev.flyer.dist.P2POp;
import dev.flyer.dist.ProcessGroup;
import dev.flyer.dist.Work;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flyer dist ...}: checks of the process group a launcher set up. */
@Command(name = "dist", mixinStandardHelpOptions = true, description = "Process groups and transports.",
        subcommands = DistCommand.Check.class)
public final class DistCommand extends CommandGroup {

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Join the job from the environment; barrier, all-gather, and a ring exchange checked byte for byte.")
    static final class Check implements Callable<Integer> {
        @Option(names = "--mib", defaultValue = "4", description = "MiB each rank sends around the ring (default: ${DEFAULT-VALUE}).")
        int mib;

        @Option(names = "--fail-rank", defaultValue = "-1", description = "This rank exits with status 3 at once (tests the launcher).")
        int failRank;

        @Override
        public Integer call() throws Exception {
            DistEnv env = DistEnv.fromEnvironment();
            if (env.rank() == failRank) {
                System.out.println("failing on purpose");
                return 3;
            }
            try (ProcessGroup g = ProcessGroup.init(env, ProcessGroup.Options.defaults());
                 Arena arena = Arena.ofShared()) {
                g.barrier();
                byte[][] names = g.allGather(("rank" + g.rank()).getBytes(StandardCharsets.UTF_8));
                long bytes = (long) mib << 20;
                MemorySegment out = arena.allocate(bytes);
                MemorySegment in = arena.allocate(bytes);
                out.fill((byte) g.rank());
                int next = (g.rank() + 1) % g.size();
                int prev = (g.rank() + g.size() - 1) % g.size();
                long t0 = System.nanoTime();
                if (g.size() > 1) {
                    g.batchIsendIrecv(List.of(P2POp.isend(out, next), P2POp.irecv(in, prev))).forEach(Work::await);
                    for (long i = 0; i < bytes; i += 4096) {
                        if (in.get(ValueLayout.JAVA_BYTE, i) != (byte) prev) {
                            throw new IllegalStateException("byte " + i + " from rank " + prev + " is wrong");
                        }
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                g.barrier();
                System.out.printf("rank %d of %d (local %d): %d ranks joined, ring %s via %s ok, %.0f MB/s%n", g.rank(),
                        g.size(), env.localRank(), names.length, mib + " MiB", g.size() > 1 ? g.transportTo(next) : "-",
                        g.size() > 1 ? bytes / seconds / 1e6 : 0);
            }
            return 0;
        }
    }
}
