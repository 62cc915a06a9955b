package dev.flyer.mla;

import dev.flyer.core.exec.ComputePool;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.mla.internal.KvReader;
import dev.flyer.mla.internal.TileKernel;
import dev.flyer.mla.internal.Workspace;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One validated decode call, dense or sparse, executed tile by tile: FlashMLA's split-KV kernel
 * followed by its combine kernel (deepseek-ai/FlashMLA {@code csrc/smxx/decode/combine/combine.cu}).
 *
 * <p>Implementation notes: a request is a dense sequence ({@code s_q · h_q} rows) or, for sparse
 * decode, one (batch, query) pair ({@code h_q} rows over its own top-k indices). Tile
 * {@code (rowBlock, part)} walks its part's requests; a request computed in one piece is written
 * straight to {@code out}/{@code lse}, a split one leaves its normalised FP32 rows and LSE in the
 * plan's partial slots (an empty split has LSE -inf, weight 0). The combine pass then merges each
 * split request's partials through their LSEs: {@code lse = max + ln Σ exp(lse_s - max)},
 * {@code out = Σ exp(lse_s - lse) · out_s}. Causal limits also cut the blocks a tile visits.
 */
final class DecodeRun {
    Tensor q;
    int sQ;
    int hQ;
    int d;
    int dv;
    float scale;
    boolean causal;
    MemorySegment cache;
    long cacheBaseBytes;
    long blockStrideBytes;
    long tokenStrideBytes;
    KvCacheFormat format;
    int numBlocks;
    int[] blockTable;
    int maxBlocks;
    int[] seqlens;
    int[] indices;
    int topk;
    boolean sparse;
    Tensor out;
    Tensor lse;
    MlaMetadata meta;

    private int rows;
    private int rowsPerTile;

    void run(ComputePool pool) {
        rows = meta.queryRows();
        rowsPerTile = rows <= TileKernel.NARROW_MAX ? rows : Workspace.ROWS;
        if (meta.partialSlots > 0) {
            meta.ensurePartials(dv);
        }
        pool.parallelFor(meta.rowBlocks() * meta.parts(), (tile, _) -> runTile(tile));
        if (meta.partialSlots > 0) {
            pool.parallelFor(meta.batch(), (request, _) -> combine(request));
        }
    }

    private void runTile(int tile) {
        int rowBlock = tile % meta.rowBlocks();
        int part = tile / meta.rowBlocks();
        int row0 = rowBlock * rowsPerTile;
        int tileRows = Math.min(rowsPerTile, rows - row0);
        Workspace w = Workspace.local(d, dv);
        int first = meta.beginRequest[part];
        int last = meta.endRequest[part];
        for (int request = first; request <= last; request++) {
            int fromBlock = request == first ? meta.beginBlock[part] : 0;
            int toBlock = request == last ? meta.endBlock[part] : Integer.MAX_VALUE;
            int split = request == first ? meta.beginSplit[part] : 0;
            attend(w, request, row0, tileRows, fromBlock, toBlock, split);
        }
    }

    private void attend(Workspace w, int request, int row0, int tileRows, int fromBlock, int toBlock, int split) {
        TileKernel.begin(w, tileRows, d, dv);
        boolean inPlace = !sparse && format == KvCacheFormat.BF16 && tokenStrideBytes == 2L * d
                && TileKernel.readBf16InPlace(w);
        int length = sparse ? topk : seqlens[request];
        int visible = 0;
        long qBytes = q.dtype().byteSize();
        for (int r = 0; r < tileRows; r++) {
            int row = row0 + r;
            KvReader.queryRow(w, q.segment(), q.dtype(), (q.offset() + ((long) request * rows + row) * d) * qBytes, d);
            TileKernel.putQuery(w, r, scale);
            int limit = causal ? length - sQ + row / hQ + 1 : length;
            TileKernel.limitRow(w, r, limit);
            visible = Math.max(visible, Math.min(limit, length));
        }
        int blocks = Math.min(toBlock, (visible + Workspace.BLOCK - 1) / Workspace.BLOCK);
        for (int block = fromBlock; block < blocks; block++) {
            if (inPlace) {
                int n = Math.min(Workspace.BLOCK, length - block * Workspace.BLOCK);
                long offset = cacheBaseBytes + blockTable[request * maxBlocks + block] * blockStrideBytes;
                if (n == Workspace.BLOCK && block + 1 < blocks) {
                    int nB = Math.min(Workspace.BLOCK, length - (block + 1) * Workspace.BLOCK);
                    long offsetB = cacheBaseBytes + blockTable[request * maxBlocks + block + 1] * blockStrideBytes;
                    TileKernel.twoBlocksBf16(w, cache, offset, offsetB, nB, block * Workspace.BLOCK);
                    block++;
                } else {
                    TileKernel.blockBf16(w, cache, offset, n, block * Workspace.BLOCK);
                }
                continue;
            }
            int n = sparse ? gather(w, request, block) : load(w, request, block, length);
            TileKernel.block(w, n, block * Workspace.BLOCK, w.kb(), d);
        }
        int base = meta.partialBase[request];
        for (int r = 0; r < tileRows; r++) {
            int row = row0 + r;
            float rowLse = TileKernel.finishRow(w, r);
            if (base < 0) {
                write(w, request, row, rowLse);
            } else {
                int slot = base + split;
                System.arraycopy(w.row(), 0, meta.partialOut, (slot * rows + row) * dv, dv);
                meta.partialLse[slot * rows + row] = rowLse == Float.POSITIVE_INFINITY ? Float.NEGATIVE_INFINITY : rowLse;
            }
        }
    }

    private int load(Workspace w, int request, int block, int length) {
        int physical = blockTable[request * maxBlocks + block];
        int n = Math.min(Workspace.BLOCK, length - block * Workspace.BLOCK);
        long offset = cacheBaseBytes + physical * blockStrideBytes;
        if (format != KvCacheFormat.FP8) {
            KvReader.plainTokens(w, cache, plainType(), offset, tokenStrideBytes, n, d);
        } else {
            for (int j = 0; j < n; j++) {
                KvReader.fp8Token(w, j, cache, offset + j * tokenStrideBytes);
            }
        }
        return n;
    }

    private int gather(Workspace w, int request, int block) {
        int from = request * topk + block * Workspace.BLOCK;
        int to = request * topk + Math.min(topk, (block + 1) * Workspace.BLOCK);
        int n = 0;
        for (int t = from; t < to; t++) {
            int index = indices[t];
            if (index < 0) {
                continue;
            }
            long offset = cacheBaseBytes + (index / Workspace.BLOCK) * blockStrideBytes
                    + (index % Workspace.BLOCK) * tokenStrideBytes;
            if (format != KvCacheFormat.FP8) {
                KvReader.plainToken(w, n, cache, plainType(), offset, d);
            } else {
                KvReader.fp8Token(w, n, cache, offset);
            }
            n++;
        }
        return n;
    }

    private DType plainType() {
        return format == KvCacheFormat.BF16 ? DType.BF16 : DType.F32;
    }

    private void write(Workspace w, int request, int row, float rowLse) {
        long outBytes = out.dtype().byteSize();
        KvReader.storeRow(w, out.segment(), out.dtype(), (out.offset() + ((long) request * rows + row) * dv) * outBytes, dv);
        lse.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, lse.offset() + lseIndex(request, row), rowLse);
    }

    /** {@code softmax_lse [b, h_q, s_q]}: index of query row {@code row} of {@code request}. */
    private long lseIndex(int request, int row) {
        int b;
        int s;
        int h;
        if (sparse) {
            b = request / sQ;
            s = request % sQ;
            h = row;
        } else {
            b = request;
            s = row / hQ;
            h = row % hQ;
        }
        return ((long) b * hQ + h) * sQ + s;
    }

    private void combine(int request) {
        int base = meta.partialBase[request];
        if (base < 0) {
            return;
        }
        int splits = meta.numSplits(request);
        Workspace w = Workspace.local(d, dv);
        float[] row = w.row();
        for (int i = 0; i < rows; i++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int s = 0; s < splits; s++) {
                max = Math.max(max, meta.partialLse[(base + s) * rows + i]);
            }
            java.util.Arrays.fill(row, 0, dv, 0f);
            if (max == Float.NEGATIVE_INFINITY) {
                write(w, request, i, Float.POSITIVE_INFINITY);
                continue;
            }
            double sum = 0;
            for (int s = 0; s < splits; s++) {
                sum += Math.exp(meta.partialLse[(base + s) * rows + i] - max);
            }
            float total = max + (float) Math.log(sum);
            for (int s = 0; s < splits; s++) {
                float weight = (float) Math.exp(meta.partialLse[(base + s) * rows + i] - total);
                int from = ((base + s) * rows + i) * dv;
                for (int c = 0; c < dv; c++) {
                    row[c] += weight * meta.partialOut[from + c];
                }
            }
            write(w, request, i, total);
        }
    }
}
