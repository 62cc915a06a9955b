package dev.flyer.dist;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/** A rank of the multi-process tests: joins from the environment, exchanges around a ring, checks the bytes. */
public final class DistCheckMain {
    private DistCheckMain() {}

    public static void main(String[] args) throws Exception {
        DistEnv env = DistEnv.fromEnvironment();
        try (ProcessGroup g = ProcessGroup.init(env, ProcessGroup.Options.defaults().withTimeout(java.time.Duration.ofSeconds(30)));
             Arena arena = Arena.ofShared()) {
            g.barrier();
            int next = (g.rank() + 1) % g.size();
            int prev = (g.rank() + g.size() - 1) % g.size();
            MemorySegment out = arena.allocate(1 << 20);
            MemorySegment in = arena.allocate(1 << 20);
            out.fill((byte) (g.rank() + 1));
            g.batchIsendIrecv(List.of(P2POp.isend(out, next), P2POp.irecv(in, prev))).forEach(Work::await);
            for (long i = 0; i < in.byteSize(); i += 1024) {
                if (in.get(ValueLayout.JAVA_BYTE, i) != (byte) (prev + 1)) {
                    throw new IllegalStateException("wrong byte from rank " + prev);
                }
            }
            g.barrier();
            System.out.println("rank " + g.rank() + " of " + g.size() + " ok via " + g.transportTo(next));
        }
    }
}
