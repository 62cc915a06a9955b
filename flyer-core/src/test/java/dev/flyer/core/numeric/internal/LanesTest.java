package dev.flyer.core.numeric.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LanesTest {
    @Test
    void narrowSpeciesMatchTheFloatLaneCount() {
        assertThat(Lanes.INTS.length()).isEqualTo(Lanes.LANES);
        assertThat(Lanes.SHORTS.length()).isEqualTo(Lanes.LANES);
        if (Lanes.FLOATS.vectorBitSize() >= 256) {
            assertThat(Lanes.BYTES).as("8-bit kernels must take the vector path on " + Lanes.FLOATS).isNotNull();
            assertThat(Lanes.BYTES.length()).isEqualTo(Lanes.LANES);
        }
    }
}
