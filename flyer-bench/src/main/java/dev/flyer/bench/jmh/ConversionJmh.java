package dev.flyer.bench.jmh;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: bulk number-format conversions, vector kernels against their scalar references, on an
 * L2-resident ({@code 16384}) and a memory-resident ({@code 4194304}) size. Run with
 * {@code flyer bench jmh ConversionJmh}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ConversionJmh {
    @Param({"16384", "4194304"})
    public int elements;

    private Arena arena;
    private MemorySegment f32;
    private MemorySegment bf16;
    private MemorySegment fp8;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        f32 = arena.allocate(elements * 4L, 64);
        bf16 = arena.allocate(elements * 2L, 64);
        fp8 = arena.allocate(elements, 64);
        Random random = new Random(7);
        for (int i = 0; i < elements; i++) {
            f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian() * 100);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void bf16EncodeVector() {
        Bf16.encode(f32, 0, bf16, 0, elements);
    }

    @Benchmark
    public void bf16EncodeScalar() {
        for (int i = 0; i < elements; i++) {
            bf16.setAtIndex(ValueLayout.JAVA_SHORT, i, Bf16.encode(f32.getAtIndex(ValueLayout.JAVA_FLOAT, i)));
        }
    }

    @Benchmark
    public void e4m3EncodeVector() {
        Fp8Format.E4M3FN.encode(f32, 0, fp8, 0, elements);
    }

    @Benchmark
    public void e4m3EncodeScalar() {
        for (int i = 0; i < elements; i++) {
            fp8.set(ValueLayout.JAVA_BYTE, i, Fp8Format.E4M3FN.encode(f32.getAtIndex(ValueLayout.JAVA_FLOAT, i)));
        }
    }

    @Benchmark
    public void e4m3DecodeVector() {
        Fp8Format.E4M3FN.decode(fp8, 0, f32, 0, elements);
    }
}
