package dev.flyer.ep;

import dev.flyer.ep.internal.Slab;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Where a call's outputs live: the caller's arena, or one of two alternating sets of buffer-owned
 * slabs (so a result stays valid until the second next call of the same kind, as DeepEP's
 * low-latency buffers do), allocation-free once the shapes are steady.
 */
final class Outputs implements AutoCloseable {
    private final Slab[][] sets;
    private int next;
    private Slab[] current;
    private int used;

    Outputs(int perCall) {
        sets = new Slab[2][perCall];
        for (Slab[] set : sets) {
            for (int i = 0; i < perCall; i++) {
                set[i] = new Slab();
            }
        }
    }

    /** Starts a call: takes the next set. */
    Outputs begin() {
        current = sets[next];
        next ^= 1;
        used = 0;
        return this;
    }

    /** The next output of this call, {@code bytes} long (zeroed only when freshly allocated). */
    MemorySegment take(Arena arena, long bytes) {
        Slab slab = current[used++];
        return arena != null ? arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes) : slab.ensure(bytes);
    }

    @Override
    public void close() {
        for (Slab[] set : sets) {
            for (Slab s : set) {
                s.close();
            }
        }
    }
}
