package dev.flyer.mla.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The narrow kernel's pair layout: a permutation inside each group of 2L channels, evens first. */
class PairLayoutTest {
    private static final int L = Workspace.L;

    @Test
    void evenChannelsComeFirstThenOddOnesWithinEachGroup() {
        assertThat(Bf16Pages.pairIndex(0)).isZero();
        assertThat(Bf16Pages.pairIndex(1)).isEqualTo(L);
        assertThat(Bf16Pages.pairIndex(2)).isEqualTo(1);
        assertThat(Bf16Pages.pairIndex(2 * L - 1)).isEqualTo(2 * L - 1);
        assertThat(Bf16Pages.pairIndex(2 * L + 3)).isEqualTo(2 * L + L + 1);
    }

    @Test
    void isAPermutationOfEveryGroup() {
        int d = 576;
        Set<Integer> seen = new HashSet<>();
        for (int c = 0; c < d; c++) {
            int p = Bf16Pages.pairIndex(c);
            assertThat(p / (2 * L)).as("channel %d stays in its group", c).isEqualTo(c / (2 * L));
            assertThat(seen.add(p)).as("channel %d maps to a free slot", c).isTrue();
        }
        assertThat(seen).hasSize(d);
    }
}
