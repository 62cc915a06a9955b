package dev.flyer.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.bench.internal.OneDnn;
import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.gemm.Gemm;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The BF16 peer computes what Flyer's BF16 GEMM computes (where Debian's libdnnl2 is installed). */
class OneDnnPeerTest {
    @Test
    void oneDnnMatmulAgreesWithFlyersBf16Gemm() {
        Optional<OneDnn> dnnl = OneDnn.load();
        Assumptions.assumeTrue(dnnl.isPresent(), "libdnnl2 not installed");
        int m = 5;
        int n = 70;
        int k = 384;
        Random random = new Random(3);
        try (Arena arena = Arena.ofShared()) {
            Tensor a = Tensor.allocate(arena, DType.BF16, m, k);
            Tensor b = Tensor.allocate(arena, DType.BF16, n, k);
            for (Tensor t : new Tensor[] {a, b}) {
                for (long i = 0; i < t.numel(); i++) {
                    t.data().setAtIndex(ValueLayout.JAVA_SHORT, i, Bf16.encode((float) random.nextGaussian()));
                }
            }
            Tensor ours = Tensor.allocate(arena, DType.F32, m, n);
            Gemm.bf16Nt(a, b, ours, null);
            MemorySegment theirs = arena.allocate((long) m * n * 4, 64);
            dnnl.get().bf16Nt(m, n, k, a.data(), b.data(), theirs).run();
            double xy = 0;
            double sq = 0;
            for (int i = 0; i < m * n; i++) {
                double x = ours.data().getAtIndex(ValueLayout.JAVA_FLOAT, i);
                double y = theirs.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                xy += x * y;
                sq += x * x + y * y;
            }
            assertThat(1 - 2 * xy / sq).isLessThan(1e-5);
        }
    }
}
