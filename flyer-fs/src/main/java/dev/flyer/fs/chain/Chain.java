package dev.flyer.fs.chain;

import java.util.List;
import java.util.Optional;

/**
 * A replication chain: targets in chain order (serving first; failed targets at the end) and a
 * version bumped on every change. Writes enter at the head (the first target) and flow through the
 * writable targets in order; the last writable target is the tail, which commits first.
 */
public record Chain(int chainId, long version, List<ChainTarget> targets) {
    public Chain {
        targets = List.copyOf(targets);
    }

    /** The writable targets (SERVING then SYNCING) in chain order; empty when the chain accepts no writes. */
    public List<ChainTarget> writeTargets() {
        if (targets.isEmpty() || targets.getFirst().state() != PublicState.SERVING) {
            return List.of();
        }
        return targets.stream().filter(t -> t.state().writable()).toList();
    }

    /** The targets that serve reads of committed data. */
    public List<ChainTarget> readTargets() {
        return targets.stream().filter(t -> t.state().readable()).toList();
    }

    public Optional<ChainTarget> head() {
        List<ChainTarget> w = writeTargets();
        return w.isEmpty() ? Optional.empty() : Optional.of(w.getFirst());
    }

    /** The next writable target after {@code targetId}, or empty at the tail. */
    public Optional<ChainTarget> successor(long targetId) {
        List<ChainTarget> w = writeTargets();
        for (int i = 0; i < w.size() - 1; i++) {
            if (w.get(i).targetId() == targetId) {
                return Optional.of(w.get(i + 1));
            }
        }
        return Optional.empty();
    }

    /** The writable target just before {@code targetId}, or empty at the head. */
    public Optional<ChainTarget> predecessor(long targetId) {
        List<ChainTarget> w = writeTargets();
        for (int i = 1; i < w.size(); i++) {
            if (w.get(i).targetId() == targetId) {
                return Optional.of(w.get(i - 1));
            }
        }
        return Optional.empty();
    }

    public Optional<ChainTarget> target(long targetId) {
        return targets.stream().filter(t -> t.targetId() == targetId).findFirst();
    }
}
