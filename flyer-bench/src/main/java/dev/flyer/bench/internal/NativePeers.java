package dev.flyer.bench.internal;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The C peers of {@code peers.c}, compiled on first use with the machine's C compiler
 * ({@code cc -O3 -march=native}) into {@code ~/.cache/flyer/} and called through FFM.
 *
 * <p>Implementation notes: the library is keyed by the source's SHA-256, so a changed source is
 * rebuilt; without a C compiler {@link #load()} is empty and the benches print "-" for the peer.
 * Handles are plain downcalls (not critical): the calls run for milliseconds.
 */
@SuppressWarnings("restricted") // FFM downcalls are this class's purpose; the launcher enables native access
public final class NativePeers {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final ValueLayout.OfLong SIZE = ValueLayout.JAVA_LONG;
    private static Optional<NativePeers> loaded;

    private final MethodHandle copy;
    private final MethodHandle triad;
    private final MethodHandle fmaPeak;
    private final MethodHandle bf16Encode;
    private final MethodHandle bf16Decode;
    private final MethodHandle e4m3Encode;
    private final MethodHandle e4m3Decode;
    private final MethodHandle fp8Gemv;

    private NativePeers(SymbolLookup lib) {
        FunctionDescriptor ptrPtrSize = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, SIZE);
        copy = handle(lib, "flyer_copy", ptrPtrSize);
        triad = handle(lib, "flyer_triad", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                ValueLayout.ADDRESS, ValueLayout.JAVA_FLOAT, SIZE));
        fmaPeak = handle(lib, "flyer_fma_peak", FunctionDescriptor.of(ValueLayout.JAVA_FLOAT, ValueLayout.JAVA_LONG));
        bf16Encode = handle(lib, "flyer_bf16_encode", ptrPtrSize);
        bf16Decode = handle(lib, "flyer_bf16_decode", ptrPtrSize);
        e4m3Encode = handle(lib, "flyer_e4m3_encode", ptrPtrSize);
        e4m3Decode = handle(lib, "flyer_e4m3_decode", ptrPtrSize);
        fp8Gemv = handle(lib, "flyer_fp8_gemv", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS));
    }

    /** The compiled peers, or empty when no C compiler is available (reason on stderr). */
    public static synchronized Optional<NativePeers> load() {
        if (loaded == null) {
            loaded = compile();
        }
        return loaded;
    }

    /** FMA operations per {@link #fmaPeak(long)} iteration (12 chains of 16 lanes). */
    public static final int FMAS_PER_ITERATION = 12 * 16;

    public void copy(MemorySegment dst, MemorySegment src, long count) {
        invoke(copy, dst, src, count);
    }

    public void triad(MemorySegment a, MemorySegment b, MemorySegment c, float s, long count) {
        try {
            triad.invokeExact(a, b, c, s, count);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public float fmaPeak(long iterations) {
        try {
            return (float) fmaPeak.invokeExact(iterations);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void bf16Encode(MemorySegment src, MemorySegment dst, long count) {
        invoke(bf16Encode, src, dst, count);
    }

    public void bf16Decode(MemorySegment src, MemorySegment dst, long count) {
        invoke(bf16Decode, src, dst, count);
    }

    public void e4m3Encode(MemorySegment src, MemorySegment dst, long count) {
        invoke(e4m3Encode, src, dst, count);
    }

    public void e4m3Decode(MemorySegment src, MemorySegment dst, long count) {
        invoke(e4m3Decode, src, dst, count);
    }

    /**
     * Rows {@code [row0, row1)} of {@code out = a · bᵀ} for one FP32 row {@code a} (k floats in
     * flyer-gemm's quarter order, {@code SkinnyKernel.toQuarterOrder}) and E4M3 rows of {@code b}
     * (k bytes each) with 128x128 block scales times 2^120: the loop of flyer-gemm's one-row kernel
     * in C, the peer of the FP8 decode GEMV. k must be a multiple of 128.
     */
    public void fp8Gemv(MemorySegment a, int k, MemorySegment blockScales, MemorySegment b, long row0, long row1,
                        MemorySegment out) {
        try {
            fp8Gemv.invokeExact(a, k, blockScales, b, row0, row1, out);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** libc's {@code memcpy}, the peer of every copy loop. */
    public static void memcpy(MemorySegment dst, MemorySegment src, long bytes) {
        try {
            MemorySegment unused = (MemorySegment) Libc.MEMCPY.invokeExact(dst, src, bytes);
            assert unused != null;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static final class Libc {
        static final MethodHandle MEMCPY = LINKER.downcallHandle(
                LINKER.defaultLookup().find("memcpy").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, SIZE));
    }

    private static void invoke(MethodHandle h, MemorySegment a, MemorySegment b, long n) {
        try {
            h.invokeExact(a, b, n);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static MethodHandle handle(SymbolLookup lib, String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(lib.find(name).orElseThrow(
                () -> new IllegalStateException("peers library lacks " + name)), descriptor);
    }

    private static Optional<NativePeers> compile() {
        try (InputStream in = NativePeers.class.getResourceAsStream("/dev/flyer/bench/peers.c")) {
            if (in == null) {
                throw new IOException("peers.c resource missing");
            }
            byte[] source = in.readAllBytes();
            String key = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source)).substring(0, 16);
            Path dir = Path.of(System.getProperty("user.home"), ".cache", "flyer");
            Files.createDirectories(dir);
            Path lib = dir.resolve("peers-" + key + ".so");
            if (!Files.exists(lib)) {
                Path src = dir.resolve("peers-" + key + ".c");
                Files.write(src, source);
                Path tmp = dir.resolve("peers-" + key + ".so.tmp");
                Process cc = new ProcessBuilder("cc", "-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC",
                        "-o", tmp.toString(), src.toString()).redirectErrorStream(true).start();
                String output = new String(cc.getInputStream().readAllBytes());
                if (!cc.waitFor(120, TimeUnit.SECONDS) || cc.exitValue() != 0) {
                    throw new IOException("cc failed: " + output);
                }
                Files.move(tmp, lib, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            return Optional.of(new NativePeers(SymbolLookup.libraryLookup(lib, Arena.global())));
        } catch (IOException | NoSuchAlgorithmException | RuntimeException e) {
            System.err.println("flyer bench: C peers unavailable (" + e.getMessage() + "); peer columns show -");
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
