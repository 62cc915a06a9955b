package dev.flyer.bench.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Debian's OpenBLAS ({@code libopenblas0}) through FFM: {@code cblas_sgemm} and its thread count.
 * The peer of every GEMM figure; absent when the library is not installed.
 */
@SuppressWarnings("restricted") // FFM downcalls are this class's purpose; the launcher enables native access
public final class OpenBlas {
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;
    private static final List<String> CANDIDATES = List.of(
            "/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
            "/usr/lib64/libopenblas.so.0", "/usr/lib/libopenblas.so.0");
    private static Optional<OpenBlas> loaded;

    private final Path library;
    private final MethodHandle sgemm;
    private final MethodHandle setThreads;
    private final MethodHandle sgemv;

    private OpenBlas(Path library, SymbolLookup lookup) {
        this.library = library;
        Linker linker = Linker.nativeLinker();
        ValueLayout.OfInt i = ValueLayout.JAVA_INT;
        ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT;
        ValueLayout p = ValueLayout.ADDRESS;
        sgemm = linker.downcallHandle(lookup.find("cblas_sgemm").orElseThrow(),
                FunctionDescriptor.ofVoid(i, i, i, i, i, i, f, p, i, p, i, f, p, i));
        setThreads = linker.downcallHandle(lookup.find("openblas_set_num_threads").orElseThrow(),
                FunctionDescriptor.ofVoid(i));
        sgemv = linker.downcallHandle(lookup.find("cblas_sgemv").orElseThrow(),
                FunctionDescriptor.ofVoid(i, i, i, i, f, p, i, p, i, f, p, i));
    }

    /** OpenBLAS if installed. */
    public static synchronized Optional<OpenBlas> load() {
        if (loaded == null) {
            loaded = CANDIDATES.stream().map(Path::of).filter(Files::exists).findFirst()
                    .map(path -> new OpenBlas(path, SymbolLookup.libraryLookup(path, Arena.global())));
        }
        return loaded;
    }

    public Path library() {
        return library;
    }

    public void setThreads(int threads) {
        try {
            setThreads.invokeExact(threads);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@code y[rows] = a[rows, cols] * x[cols]} (row-major, float32). */
    public void sgemv(int rows, int cols, MemorySegment a, MemorySegment x, MemorySegment y) {
        try {
            sgemv.invokeExact(ROW_MAJOR, NO_TRANS, rows, cols, 1.0f, a, cols, x, 1, 0.0f, y, 1);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code C[m,n] = A[m,k] * B^T} for row-major {@code B[n,k]} when {@code transB}, else
     * {@code A * B} for {@code B[k,n]} (float32, beta 0).
     */
    public void sgemm(int m, int n, int k, MemorySegment a, MemorySegment b, boolean transB, MemorySegment c) {
        try {
            sgemm.invokeExact(ROW_MAJOR, NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, 1.0f, a, k, b,
                    transB ? k : n, 0.0f, c, n);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
