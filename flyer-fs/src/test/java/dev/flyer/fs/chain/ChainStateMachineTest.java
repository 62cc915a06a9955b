package dev.flyer.fs.chain;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The transition table, and randomized membership sequences for 1, 2 and 3 replicas against the chain invariants. */
class ChainStateMachineTest {
    static Chain chain(PublicState... states) {
        List<ChainTarget> ts = new ArrayList<>();
        for (int i = 0; i < states.length; i++) {
            ts.add(new ChainTarget(100 + i, i, states[i]));
        }
        return new Chain(1, 1, ts);
    }

    static List<Long> order(Chain c) {
        return c.targets().stream().map(ChainTarget::targetId).toList();
    }

    static List<PublicState> states(Chain c) {
        return c.targets().stream().map(ChainTarget::state).toList();
    }

    @Test
    void failedHeadMovesToTheEndAndTheChainKeepsServing() {
        Chain c = chain(PublicState.SERVING, PublicState.SERVING, PublicState.SERVING);
        Chain next = ChainStateMachine.next(c, id -> id == 100 ? LocalState.OFFLINE : LocalState.UPTODATE);
        assertThat(order(next)).containsExactly(101L, 102L, 100L);
        assertThat(states(next)).containsExactly(PublicState.SERVING, PublicState.SERVING, PublicState.OFFLINE);
        assertThat(next.version()).isEqualTo(2);
        assertThat(next.head().orElseThrow().targetId()).isEqualTo(101);
        assertThat(ChainStateMachine.next(next, id -> id == 100 ? LocalState.OFFLINE : LocalState.UPTODATE))
                .as("no change, no version bump").isSameAs(next);
    }

    @Test
    void lastServingTargetBecomesLastsrvAndTheChainStopsWrites() {
        Chain c = chain(PublicState.SERVING, PublicState.OFFLINE);
        Chain next = ChainStateMachine.next(c, id -> LocalState.OFFLINE);
        assertThat(states(next)).containsExactly(PublicState.LASTSRV, PublicState.OFFLINE);
        assertThat(next.writeTargets()).isEmpty();
        assertThat(next.readTargets()).isEmpty();
        // The other replica returning cannot serve: it waits for the last serving one.
        Chain waiting = ChainStateMachine.next(next, id -> id == 101 ? LocalState.ONLINE : LocalState.OFFLINE);
        assertThat(states(waiting)).containsExactly(PublicState.LASTSRV, PublicState.WAITING);
        // The last serving one returns: it serves, and the other starts syncing from it in the same scan.
        Chain syncing = ChainStateMachine.next(waiting, id -> LocalState.ONLINE);
        assertThat(states(syncing)).containsExactly(PublicState.SERVING, PublicState.SYNCING);
        assertThat(syncing.writeTargets()).hasSize(2);
        assertThat(states(ChainStateMachine.next(syncing, id -> LocalState.UPTODATE)))
                .containsExactly(PublicState.SERVING, PublicState.SERVING);
    }

    @Test
    void onlyOneTargetSyncsAtATime() {
        Chain c = chain(PublicState.SERVING, PublicState.OFFLINE, PublicState.OFFLINE);
        Chain next = ChainStateMachine.next(c, id -> id == 100 ? LocalState.UPTODATE : LocalState.ONLINE);
        assertThat(states(next)).containsExactly(PublicState.SERVING, PublicState.SYNCING, PublicState.WAITING);
    }

    @Test
    void randomMembershipSequencesKeepTheInvariants() {
        long seed = System.nanoTime();
        System.out.println("ChainStateMachineTest seed=" + seed);
        Random rnd = new Random(seed);
        for (int replicas = 1; replicas <= 3; replicas++) {
            for (int trial = 0; trial < 300; trial++) {
                runSequence(rnd, replicas, seed);
            }
        }
    }

    private static void runSequence(Random rnd, int replicas, long seed) {
        PublicState[] init = new PublicState[replicas];
        java.util.Arrays.fill(init, PublicState.SERVING);
        Chain c = chain(init);
        Map<Long, Boolean> alive = new HashMap<>();
        Map<Long, Boolean> hasData = new HashMap<>();
        for (ChainTarget t : c.targets()) {
            alive.put(t.targetId(), true);
            hasData.put(t.targetId(), true);
        }
        for (int step = 0; step < 40; step++) {
            long victim = 100 + rnd.nextInt(replicas);
            switch (rnd.nextInt(3)) {
                case 0 -> {
                    alive.put(victim, false);
                    hasData.put(victim, false);
                }
                case 1 -> alive.put(victim, true);
                default -> { }
            }
            for (ChainTarget t : c.targets()) {
                if (t.state() == PublicState.SYNCING && alive.get(t.targetId()) && rnd.nextBoolean()) {
                    hasData.put(t.targetId(), true); // the predecessor finished the sync
                }
            }
            Chain before = c;
            c = ChainStateMachine.next(c, id -> !alive.get(id) ? LocalState.OFFLINE
                    : hasData.get(id) ? LocalState.UPTODATE : LocalState.ONLINE);
            checkInvariants(before, c, seed);
            for (ChainTarget t : c.targets()) {
                if (t.state() == PublicState.SERVING) {
                    hasData.put(t.targetId(), true);
                }
            }
        }
        // Everything comes back: within a few rounds per replica, every target serves.
        alive.replaceAll((k, v) -> true);
        for (int round = 0; round < 3 * replicas + 2; round++) {
            for (ChainTarget t : c.targets()) {
                if (t.state() == PublicState.SYNCING) {
                    hasData.put(t.targetId(), true);
                }
            }
            Chain before = c;
            c = ChainStateMachine.next(c, id -> hasData.get(id) ? LocalState.UPTODATE : LocalState.ONLINE);
            checkInvariants(before, c, seed);
            c.targets().stream().filter(t -> t.state() == PublicState.SERVING).forEach(t -> hasData.put(t.targetId(), true));
        }
        assertThat(states(c)).as("seed %d: all replicas serve again", seed).containsOnly(PublicState.SERVING);
    }

    private static void checkInvariants(Chain before, Chain after, long seed) {
        List<PublicState> s = states(after);
        assertThat(s.stream().filter(x -> x == PublicState.SYNCING).count()).as("seed %d: at most one SYNCING", seed).isLessThanOrEqualTo(1);
        for (int i = 1; i < s.size(); i++) {
            assertThat(s.get(i).ordinal()).as("seed %d: state order %s", seed, s).isGreaterThanOrEqualTo(s.get(i - 1).ordinal());
        }
        boolean serving = s.contains(PublicState.SERVING);
        assertThat(after.writeTargets().isEmpty()).as("seed %d: writes only with a serving target", seed).isEqualTo(!serving);
        if (s.contains(PublicState.SYNCING) || s.contains(PublicState.LASTSRV)) {
            assertThat(serving).as("seed %d: SYNCING needs a SERVING target; LASTSRV excludes one", seed)
                    .isEqualTo(s.contains(PublicState.SYNCING));
        }
        assertThat(after.targets()).extracting(ChainTarget::targetId)
                .containsExactlyInAnyOrderElementsOf(order(before));
        assertThat(after.version()).isEqualTo(before.targets().equals(after.targets()) ? before.version() : before.version() + 1);
        for (ChainTarget t : after.targets()) {
            PublicState was = before.target(t.targetId()).orElseThrow().state();
            if (t.state() == PublicState.SERVING) {
                assertThat(was).as("seed %d: only SERVING, SYNCING or LASTSRV become SERVING", seed)
                        .isIn(PublicState.SERVING, PublicState.SYNCING, PublicState.LASTSRV);
                if (was == PublicState.LASTSRV) {
                    assertThat(before.readTargets()).as("seed %d: LASTSRV serves again only when nothing else served", seed).isEmpty();
                }
            }
        }
    }
}
