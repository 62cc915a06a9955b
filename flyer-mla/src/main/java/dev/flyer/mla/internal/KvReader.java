package dev.flyer.mla.internal;

import static dev.flyer.mla.internal.Workspace.F;
import static dev.flyer.mla.internal.Workspace.L;

import dev.flyer.core.numeric.Bf16;
import dev.flyer.core.numeric.Fp8Format;
import dev.flyer.core.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * Decodes cached tokens into a workspace's FP32 rows ({@code kb} for keys, {@code vb} for separate
 * values): BF16 or F32 rows, or FlashMLA's 656-byte FP8 token (512 E4M3 codes times their
 * 128-group scale, then 64 BF16 rope channels), dequantised on the fly.
 *
 * <p>Implementation notes: only the {@code n} tokens asked for are read, so slots past a
 * sequence's length are never touched. Contiguous BF16 tokens go through one bulk decode.
 */
public final class KvReader {
    private static final int NOPE = 512;
    private static final int TILE = 128;
    private static final long SCALES = NOPE;
    private static final long ROPE = NOPE + 4L * (NOPE / TILE);

    private KvReader() {}

    /** {@code n} consecutive BF16/F32 tokens of {@code d} channels, {@code tokenStrideBytes} apart, into {@code kb}. */
    public static void plainTokens(Workspace w, MemorySegment src, DType type, long offsetBytes, long tokenStrideBytes,
                                   int n, int d) {
        long rowBytes = (long) d * type.byteSize();
        if (tokenStrideBytes == rowBytes) {
            plainRow(src, type, offsetBytes, w.kb, 0, n * d);
            return;
        }
        for (int j = 0; j < n; j++) {
            plainRow(src, type, offsetBytes + j * tokenStrideBytes, w.kb, j * d, d);
        }
    }

    /** One BF16/F32 token into row {@code j} of {@code kb}. */
    public static void plainToken(Workspace w, int j, MemorySegment src, DType type, long offsetBytes, int d) {
        plainRow(src, type, offsetBytes, w.kb, j * d, d);
    }

    /** One BF16/F32 value row into row {@code j} of {@code vb}. */
    public static void valueRow(Workspace w, int j, MemorySegment src, DType type, long offsetBytes, int dv) {
        plainRow(src, type, offsetBytes, w.vb, j * dv, dv);
    }

    /** One FP8-layout token (d = 576) into row {@code j} of {@code kb}. */
    public static void fp8Token(Workspace w, int j, MemorySegment src, long offsetBytes) {
        int base = j * (NOPE + 64);
        Fp8Format.E4M3FN.decode(src, offsetBytes, w.kb, base, NOPE);
        float[] kb = w.kb;
        for (int t = 0; t < NOPE / TILE; t++) {
            float scale = src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, offsetBytes + SCALES + 4L * t);
            int from = base + t * TILE;
            for (int i = from; i < from + TILE; i += L) {
                FloatVector.fromArray(F, kb, i).mul(scale).intoArray(kb, i);
            }
        }
        Bf16.decode(src, offsetBytes + ROPE, w.kb, base + NOPE, 64);
    }

    /** Decodes {@code count} BF16 or F32 values to {@code dst[dstIndex..]}. */
    public static void plainRow(MemorySegment src, DType type, long offsetBytes, float[] dst, int dstIndex, int count) {
        if (type == DType.BF16) {
            Bf16.decode(src, offsetBytes, dst, dstIndex, count);
        } else {
            MemorySegment.copy(src, ValueLayout.JAVA_FLOAT_UNALIGNED, offsetBytes, dst, dstIndex, count);
        }
    }

    /** Loads {@code count} BF16/F32 values into the workspace's query row. */
    public static void queryRow(Workspace w, MemorySegment src, DType type, long offsetBytes, int count) {
        plainRow(src, type, offsetBytes, w.qRow, 0, count);
    }

    /** Stores the workspace's finished row ({@code count} values) as BF16 or F32 at {@code dst[offsetBytes]}. */
    public static void storeRow(Workspace w, MemorySegment dst, DType type, long offsetBytes, int count) {
        if (type == DType.BF16) {
            Bf16.encode(w.row, 0, dst, offsetBytes, count);
        } else {
            MemorySegment.copy(w.row, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, offsetBytes, count);
        }
    }
}
