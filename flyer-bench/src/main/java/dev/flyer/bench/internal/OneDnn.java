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
 * Debian's oneDNN ({@code libdnnl2}, C API v2.x) through FFM: a BF16 x BF16 -> F32 matmul, the
 * peer of Flyer's BF16 GEMM (oneDNN reaches the CPU's BF16 dot-product instructions, which Java
 * cannot).
 *
 * <p>Implementation notes: descriptors are opaque buffers sized from the v2.6 headers
 * ({@code dnnl_memory_desc_t} 696 bytes, {@code dnnl_matmul_desc_t} 2800; allocated larger);
 * memory descriptors are made by strides, so B stored {@code [n, k]} row-major is the weight
 * {@code [k, n]} with strides {@code (1, k)}; constants are the header's ({@code dnnl_bf16 = 2},
 * {@code dnnl_f32 = 3}, {@code dnnl_cpu = 1}, args SRC 1, DST 17, WEIGHTS 33). Every call's status
 * is checked.
 */
@SuppressWarnings("restricted") // FFM downcalls are this class's purpose; the launcher enables native access
public final class OneDnn {
    private static final List<String> CANDIDATES = List.of("/usr/lib/x86_64-linux-gnu/libdnnl.so.2",
            "/usr/lib/aarch64-linux-gnu/libdnnl.so.2", "/usr/lib64/libdnnl.so.2");
    private static final java.lang.foreign.AddressLayout A = ValueLayout.ADDRESS;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;
    private static Optional<OneDnn> loaded;

    private final Arena arena = Arena.ofShared();
    private final MethodHandle mdByStrides;
    private final MethodHandle matmulDesc;
    private final MethodHandle pdCreate;
    private final MethodHandle primCreate;
    private final MethodHandle memCreate;
    private final MethodHandle execute;
    private final MethodHandle streamWait;
    private final MemorySegment engine;
    private final MemorySegment stream;

    private OneDnn(SymbolLookup lib) throws Throwable {
        Linker linker = Linker.nativeLinker();
        mdByStrides = linker.downcallHandle(lib.find("dnnl_memory_desc_init_by_strides").orElseThrow(),
                FunctionDescriptor.of(I, A, I, A, I, A));
        matmulDesc = linker.downcallHandle(lib.find("dnnl_matmul_desc_init").orElseThrow(),
                FunctionDescriptor.of(I, A, A, A, A, A));
        pdCreate = linker.downcallHandle(lib.find("dnnl_primitive_desc_create").orElseThrow(),
                FunctionDescriptor.of(I, A, A, A, A, A));
        primCreate = linker.downcallHandle(lib.find("dnnl_primitive_create").orElseThrow(), FunctionDescriptor.of(I, A, A));
        memCreate = linker.downcallHandle(lib.find("dnnl_memory_create").orElseThrow(), FunctionDescriptor.of(I, A, A, A, A));
        execute = linker.downcallHandle(lib.find("dnnl_primitive_execute").orElseThrow(), FunctionDescriptor.of(I, A, A, I, A));
        streamWait = linker.downcallHandle(lib.find("dnnl_stream_wait").orElseThrow(), FunctionDescriptor.of(I, A));
        MethodHandle engineCreate = linker.downcallHandle(lib.find("dnnl_engine_create").orElseThrow(),
                FunctionDescriptor.of(I, A, I, L));
        MethodHandle streamCreate = linker.downcallHandle(lib.find("dnnl_stream_create").orElseThrow(),
                FunctionDescriptor.of(I, A, A, I));
        MemorySegment out = arena.allocate(A);
        check((int) engineCreate.invokeExact(out, 1, 0L), "dnnl_engine_create");
        engine = out.get(A, 0);
        check((int) streamCreate.invokeExact(out, engine, 1), "dnnl_stream_create");
        stream = out.get(A, 0);
    }

    /** oneDNN if installed (and working). */
    public static synchronized Optional<OneDnn> load() {
        if (loaded == null) {
            loaded = CANDIDATES.stream().map(Path::of).filter(Files::exists).findFirst().flatMap(path -> {
                try {
                    return Optional.of(new OneDnn(SymbolLookup.libraryLookup(path, Arena.global())));
                } catch (Throwable t) {
                    System.err.println("flyer bench: oneDNN at " + path + " unusable: " + t.getMessage());
                    return Optional.empty();
                }
            });
        }
        return loaded;
    }

    /** A prepared {@code c[m, n] = a[m, k] · b[n, k]ᵀ} over BF16 {@code a}, {@code b} and F32 {@code c}. */
    public Runnable bf16Nt(int m, int n, int k, MemorySegment a, MemorySegment b, MemorySegment c) {
        try {
            MemorySegment src = desc(new long[] {m, k}, new long[] {k, 1}, 2);
            MemorySegment weights = desc(new long[] {k, n}, new long[] {1, k}, 2);
            MemorySegment dst = desc(new long[] {m, n}, new long[] {n, 1}, 3);
            MemorySegment op = arena.allocate(4096, 64);
            check((int) matmulDesc.invokeExact(op, src, weights, MemorySegment.NULL, dst), "dnnl_matmul_desc_init");
            MemorySegment out = arena.allocate(A);
            check((int) pdCreate.invokeExact(out, op, MemorySegment.NULL, engine, MemorySegment.NULL),
                    "dnnl_primitive_desc_create");
            MemorySegment pd = out.get(A, 0);
            check((int) primCreate.invokeExact(out, pd), "dnnl_primitive_create");
            MemorySegment primitive = out.get(A, 0);
            MemorySegment args = arena.allocate(16L * 3, 8);
            int[] ids = {1, 33, 17};
            MemorySegment[] descs = {src, weights, dst};
            MemorySegment[] data = {a, b, c};
            for (int i = 0; i < 3; i++) {
                check((int) memCreate.invokeExact(out, descs[i], engine, data[i]), "dnnl_memory_create");
                args.set(I, 16L * i, ids[i]);
                args.set(A, 16L * i + 8, out.get(A, 0));
            }
            return () -> {
                try {
                    check((int) execute.invokeExact(primitive, stream, 3, args), "dnnl_primitive_execute");
                    check((int) streamWait.invokeExact(stream), "dnnl_stream_wait");
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
            };
        } catch (Throwable t) {
            throw new IllegalStateException("oneDNN matmul setup failed: " + t.getMessage(), t);
        }
    }

    private MemorySegment desc(long[] dims, long[] strides, int dataType) throws Throwable {
        MemorySegment md = arena.allocate(2048, 64);
        MemorySegment d = arena.allocateFrom(L, dims);
        MemorySegment s = arena.allocateFrom(L, strides);
        check((int) mdByStrides.invokeExact(md, dims.length, d, dataType, s), "dnnl_memory_desc_init_by_strides");
        return md;
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " returned status " + status);
        }
    }
}
