package dev.flyer.core.numeric;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class VectorOpsTest {
    @Test
    void dotMatchesADoubleReferenceForEveryLengthAndOffset() {
        long seed = 77;
        System.out.println("VectorOpsTest seed=" + seed);
        Random random = new Random(seed);
        float[] a = new float[300];
        float[] b = new float[300];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
            b[i] = (float) random.nextGaussian();
        }
        for (int n = 0; n <= 200; n++) {
            int ao = random.nextInt(50);
            int bo = random.nextInt(50);
            double expected = 0;
            double magnitude = 0;
            for (int i = 0; i < n; i++) {
                expected += (double) a[ao + i] * b[bo + i];
                magnitude += Math.abs((double) a[ao + i] * b[bo + i]);
            }
            assertThat((double) VectorOps.dot(a, ao, b, bo, n)).as("n=%d", n)
                    .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-5 * (1 + magnitude)));
        }
    }
}
