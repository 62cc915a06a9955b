package dev.flyer.dualpipe;

import java.util.List;

/**
 * A pipeline schedule as data: for each rank, its compute operations in program order.
 *
 * @param method which schedule
 * @param ranks pipeline ranks (devices)
 * @param chunks micro-batches in one step (for DualPipe, both directions together)
 * @param ops {@code ops.get(rank)}: that rank's operations in order
 */
public record Schedule(Method method, int ranks, int chunks, List<List<Op>> ops) {
    public Schedule {
        ops = ops.stream().map(List::copyOf).toList();
    }
}
