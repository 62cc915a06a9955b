package dev.flyer.fs.chain;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * The cluster manager's chain update: given each target's local state, the next public states and
 * order. Follows 3FS's transition table (docs/design_notes.md) as its mgmtd implements it
 * (src/mgmtd/service/updateChain.cc, generateNewChain), rewritten here:
 *
 * <ul>
 *   <li>Targets are processed grouped by current public state (SERVING, LASTSRV, SYNCING, WAITING,
 *       OFFLINE), keeping chain order within a group; the new chain lists new SERVING, LASTSRV,
 *       SYNCING, WAITING, OFFLINE targets in that order, so a failed target moves to the end.
 *   <li>A SERVING target whose service is down becomes LASTSRV if it is the first such, otherwise
 *       OFFLINE; any LASTSRV left while something still serves becomes OFFLINE.
 *   <li>A WAITING or OFFLINE target that is ONLINE starts SYNCING only when a target serves and no
 *       other target syncs: at most one target per chain re-syncs at a time.
 *   <li>A SYNCING target that reports UPTODATE becomes SERVING.
 * </ul>
 * The chain's version is bumped exactly when a target's state or position changed.
 */
public final class ChainStateMachine {
    private ChainStateMachine() {}

    public static Chain next(Chain chain, LongFunction<LocalState> localState) {
        Map<PublicState, List<ChainTarget>> old = byState(chain.targets());
        Map<PublicState, List<ChainTarget>> neu = new EnumMap<>(PublicState.class);
        for (PublicState s : PublicState.values()) {
            neu.put(s, new ArrayList<>());
        }
        for (ChainTarget t : old.get(PublicState.SERVING)) {
            LocalState ls = localState.apply(t.targetId());
            PublicState to = ls != LocalState.OFFLINE ? PublicState.SERVING
                    : neu.get(PublicState.LASTSRV).isEmpty() ? PublicState.LASTSRV : PublicState.OFFLINE;
            neu.get(to).add(t.with(to));
        }
        for (ChainTarget t : old.get(PublicState.LASTSRV)) {
            LocalState ls = localState.apply(t.targetId());
            PublicState to = !neu.get(PublicState.SERVING).isEmpty() ? PublicState.OFFLINE
                    : ls != LocalState.OFFLINE ? PublicState.SERVING : PublicState.LASTSRV;
            neu.get(to).add(t.with(to));
        }
        for (ChainTarget t : old.get(PublicState.SYNCING)) {
            LocalState ls = localState.apply(t.targetId());
            PublicState to = switch (ls) {
                case UPTODATE -> PublicState.SERVING;
                case ONLINE -> neu.get(PublicState.SERVING).isEmpty() ? PublicState.WAITING : PublicState.SYNCING;
                case OFFLINE -> PublicState.OFFLINE;
            };
            neu.get(to).add(t.with(to));
        }
        for (PublicState from : List.of(PublicState.WAITING, PublicState.OFFLINE)) {
            for (ChainTarget t : old.get(from)) {
                LocalState ls = localState.apply(t.targetId());
                PublicState to;
                if (ls == LocalState.ONLINE && !neu.get(PublicState.SERVING).isEmpty()
                        && neu.get(PublicState.SYNCING).isEmpty()) {
                    to = PublicState.SYNCING;
                } else {
                    to = ls == LocalState.OFFLINE ? PublicState.OFFLINE : PublicState.WAITING;
                }
                neu.get(to).add(t.with(to));
            }
        }
        if (!neu.get(PublicState.SERVING).isEmpty()) {
            for (ChainTarget t : neu.get(PublicState.LASTSRV)) {
                neu.get(PublicState.OFFLINE).add(t.with(PublicState.OFFLINE));
            }
            neu.get(PublicState.LASTSRV).clear();
        }
        List<ChainTarget> targets = new ArrayList<>();
        for (PublicState s : List.of(PublicState.SERVING, PublicState.LASTSRV, PublicState.SYNCING,
                PublicState.WAITING, PublicState.OFFLINE)) {
            targets.addAll(neu.get(s));
        }
        return targets.equals(chain.targets()) ? chain : new Chain(chain.chainId(), chain.version() + 1, targets);
    }

    private static Map<PublicState, List<ChainTarget>> byState(List<ChainTarget> targets) {
        Map<PublicState, List<ChainTarget>> m = new EnumMap<>(PublicState.class);
        for (PublicState s : PublicState.values()) {
            m.put(s, new ArrayList<>());
        }
        for (ChainTarget t : targets) {
            m.get(t.state()).add(t);
        }
        return m;
    }
}
