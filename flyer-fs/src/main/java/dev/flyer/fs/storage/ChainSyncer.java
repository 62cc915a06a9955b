package dev.flyer.fs.storage;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.PublicState;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntFunction;

/**
 * Re-syncs a returning successor from its predecessor (3FS docs/design_notes.md "Data recovery";
 * src/storage/sync): dump the successor's chunk metadata, compare with the local copy, send whole
 * committed chunks where they differ and removals where only the successor has a chunk, then
 * "sync done". Each chunk is sent under its lock, so it cannot interleave with a write of that
 * chunk passing through this target; writes during the sync reach the SYNCING successor as whole
 * chunks anyway.
 *
 * <p>Transfer rule (3FS compares chain versions; Flyer compares content): send when the successor
 * lacks the chunk, or differs in committed version or content signature (length and block CRCs), or
 * holds a pending version. A chunk only the successor had when its list was taken is removed there
 * only if this target still lacks it under the chunk's lock (found by the soak test: a chunk
 * truncated away and written again during the sync was removed from the successor).
 */
public final class ChainSyncer {
    private ChainSyncer() {}

    /** Syncs {@code chain}'s SYNCING successor of {@code localTarget}; returns chunks sent and removed. */
    public static int[] sync(ChunkEngine local, long localTarget, Chain chain, IntFunction<StorageApi> peers) {
        ChainTarget succ = chain.successor(localTarget)
                .filter(t -> t.state() == PublicState.SYNCING)
                .orElseThrow(() -> new StorageException(StorageException.Code.INVALID_ARGUMENT,
                        "target " + localTarget + " has no SYNCING successor in chain " + chain.chainId()));
        StorageApi remote = peers.apply(succ.nodeId());
        Map<ChunkId, ChunkMeta> theirs = new HashMap<>();
        for (ChunkMeta m : remote.chunkMetas(succ.targetId(), -1)) {
            theirs.put(m.id(), m);
        }
        int sent = 0;
        for (ChunkMeta snapshot : local.metas()) {
            ChunkId id = snapshot.id();
            ReentrantLock lock = local.lock(id);
            lock.lock();
            try {
                ChunkMeta mine = local.meta(id);
                ChunkMeta other = theirs.remove(id);
                if (mine == null || mine.committedVersion() == 0) {
                    if (other != null) {
                        remote.syncChunk(succ.targetId(), chain.version(), id, 0, null);
                    }
                    continue;
                }
                boolean same = other != null && other.committedVersion() == mine.committedVersion()
                        && other.committedSignature() == mine.committedSignature() && !other.hasPending();
                if (!same) {
                    remote.syncChunk(succ.targetId(), mine.chainVersion(), id, mine.committedVersion(), local.committedContent(id));
                    sent++;
                }
            } finally {
                lock.unlock();
            }
        }
        int removed = 0;
        for (ChunkId gone : theirs.keySet()) {
            // decided under the chunk's lock against what this target holds now, not against the
            // snapshot above: the chunk may have been removed and written again since (a truncate, then
            // a new write forwarded to the successor), and removing it there would lose that write
            ReentrantLock lock = local.lock(gone);
            lock.lock();
            try {
                ChunkMeta mine = local.meta(gone);
                if (mine == null || mine.committedVersion() == 0) {
                    remote.syncChunk(succ.targetId(), chain.version(), gone, 0, null);
                    removed++;
                } else {
                    remote.syncChunk(succ.targetId(), mine.chainVersion(), gone, mine.committedVersion(),
                            local.committedContent(gone));
                    sent++;
                }
            } finally {
                lock.unlock();
            }
        }
        remote.syncDone(succ.targetId(), chain.version());
        return new int[] {sent, removed};
    }
}
