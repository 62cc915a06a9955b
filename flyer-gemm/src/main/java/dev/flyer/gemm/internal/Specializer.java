package dev.flyer.gemm.internal;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.lang.classfile.instruction.InvokeInstruction;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * DeepGEMM's JIT idea in Java terms: a copy of {@link SkinnyKernel} per depth {@code k}, made on
 * first use with the {@code java.lang.classfile} API and defined as a hidden class, in which every
 * {@code kOf(k)} call is replaced by the constant {@code k}; C2 then compiles that copy with
 * constant loop bounds. Copies are cached by {@code k}.
 *
 * <p>Implementation notes: the transform rewrites {@code invokestatic SkinnyKernel.kOf(I)I} into
 * {@code pop; ldc k}; everything else, lambdas included, is the generic kernel's bytecode, so both
 * forms are one source. Whether this pays is measured by {@code flyer bench gemm} (specialised vs
 * generic, alternating A and B, and the cold-start cost per shape). Measured on this project's
 * 2-core Zen 5 machine over three runs: 1.25-1.36x the generic kernel at m = 1, k = 7168 and
 * 1.06-1.09x at m = 4, k = 2048, for 90-250 ms of cold start per new k (5 distinct k in V3), so it
 * is the default; {@code -Dflyer.gemm.specialize=false} or {@code Gemm.useSpecializedKernels(false)}
 * switches back to the generic copy. The same transform on {@link PanelKernel} (k constant in its
 * 6 x 32 tile, one {@code invokeExact} per tile) measured 0.86-0.94x of the generic panel kernel
 * (m = 64-128 on V3 shapes, two runs; its inner loops already run over the constant 128-wide K
 * slice), so panels stay generic.
 */
public final class Specializer {
    /** Whether {@link GemmRunner} uses the specialised copies ({@code -Dflyer.gemm.specialize=false} turns them off). */
    private static volatile boolean enabled = Boolean.parseBoolean(System.getProperty("flyer.gemm.specialize", "true"));
    private static final MethodType RUN = MethodType.methodType(void.class, float[].class, int.class, int.class,
            float[].class, MemorySegment.class, long.class, long.class, float[].class, int.class, float[].class,
            boolean.class, int.class);
    private static final ConcurrentHashMap<Integer, MethodHandle> CACHE = new ConcurrentHashMap<>();

    private Specializer() {}

    public static boolean enabled() {
        return enabled;
    }

    public static void setEnabled(boolean on) {
        enabled = on;
    }

    /** {@link SkinnyKernel#run} specialised for depth {@code k} (created and cached on first use). */
    public static MethodHandle skinny(int k) {
        return CACHE.computeIfAbsent(k, depth -> define(SkinnyKernel.class, depth, "run", RUN));
    }

    /** Forgets the cached copies (to measure cold starts). */
    public static void clear() {
        CACHE.clear();
    }

    private static MethodHandle define(Class<?> kernel, int k, String entry, MethodType type) {
        try {
            ClassFile cf = ClassFile.of();
            ClassModel model = cf.parse(templateBytes(kernel));
            String owner = kernel.getName().replace('.', '/');
            CodeTransform constantK = (builder, element) -> {
                if (element instanceof InvokeInstruction call && call.owner().asInternalName().equals(owner)
                        && call.name().equalsString("kOf")) {
                    builder.pop();
                    builder.ldc(k);
                } else {
                    builder.with(element);
                }
            };
            byte[] bytes = cf.transformClass(model, ClassTransform.transformingMethodBodies(constantK));
            MethodHandles.Lookup hidden = MethodHandles.privateLookupIn(kernel, MethodHandles.lookup())
                    .defineHiddenClass(bytes, true);
            return hidden.findStatic(hidden.lookupClass(), entry, type);
        } catch (ReflectiveOperationException | IOException e) {
            throw new IllegalStateException("could not specialise " + kernel.getSimpleName() + " for k = " + k, e);
        }
    }

    private static byte[] templateBytes(Class<?> kernel) throws IOException {
        String file = kernel.getSimpleName() + ".class";
        try (InputStream in = kernel.getResourceAsStream(file)) {
            if (in == null) {
                throw new IOException(file + " not found on the class path");
            }
            return in.readAllBytes();
        }
    }

    /** Runs the specialised copy for {@code k} with {@link SkinnyKernel#run}'s arguments. */
    public static void run(float[] a, int rows, int k, float[] aScale, MemorySegment b, long bBase, long bStride,
                           float[] bScale, int n, float[] out, boolean add, int tileCols) {
        try {
            skinny(k).invokeExact(a, rows, k, aScale, b, bBase, bStride, bScale, n, out, add, tileCols);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
