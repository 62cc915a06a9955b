package dev.flyer.dist;

import java.lang.foreign.MemorySegment;

/** One operation of {@link ProcessGroup#batchIsendIrecv}: send {@code buffer} to, or receive it from, {@code peer}. */
public record P2POp(boolean send, MemorySegment buffer, int peer, int tag) {
    public static P2POp isend(MemorySegment buffer, int peer) {
        return new P2POp(true, buffer, peer, 0);
    }

    public static P2POp irecv(MemorySegment buffer, int peer) {
        return new P2POp(false, buffer, peer, 0);
    }
}
