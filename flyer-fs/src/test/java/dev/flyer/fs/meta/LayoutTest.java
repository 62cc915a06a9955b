package dev.flyer.fs.meta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The chunk placement shuffle is frozen (goldens computed by an independent Python transcription of Layout's documented algorithm): these goldens must never change (files on disk depend on them). */
class LayoutTest {
    @Test
    void goldenPlacements() {
        assertThat(new Layout(1 << 20, 0, 8, 0, 8).chains()).containsExactly(3, 6, 1, 4, 5, 7, 2, 8);
        assertThat(new Layout(1 << 20, 5, 4, 42, 6).chains()).containsExactly(2, 6, 3, 1);
        assertThat(new Layout(1 << 20, 3, 1, 99, 10).chains()).containsExactly(4);
        Layout l = new Layout(1 << 20, 0, 8, 0, 8);
        assertThat(l.chainOf(0)).isEqualTo(3);
        assertThat(l.chainOf(9)).isEqualTo(6);
    }

    @Test
    void everyChainOfTheStripeIsUsedOnce() {
        for (long seed = 0; seed < 200; seed++) {
            int[] c = new Layout(64 << 10, (int) seed % 16, 12, seed, 16).chains();
            assertThat(c).doesNotHaveDuplicates().hasSize(12);
            assertThat(java.util.Arrays.stream(c).allMatch(x -> x >= 1 && x <= 16)).isTrue();
        }
    }

    @Test
    void badLayoutsAreRejected() {
        assertThatThrownBy(() -> new Layout(3 << 20, 0, 1, 0, 1)).hasMessageContaining("power of two");
        assertThatThrownBy(() -> new Layout(128 << 20, 0, 1, 0, 1)).hasMessageContaining("64 MiB");
        assertThatThrownBy(() -> new Layout(1 << 20, 0, 5, 0, 4)).hasMessageContaining("stripe 5");
    }
}
