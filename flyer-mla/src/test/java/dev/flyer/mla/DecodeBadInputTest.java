package dev.flyer.mla;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** Bad input gets a specific IllegalArgumentException, and nothing is computed. */
class DecodeBadInputTest {
    private final DecodeCase c = new DecodeCase(3, 2, 1, 16, new int[] {130, 64}, KvCacheFormat.BF16);
    private final DecodeOptions options = DecodeOptions.mla();

    private MlaMetadata meta() {
        return FlashMla.metadata(c.seqlens, 1, 16);
    }

    @Test
    void blockIdOutsideTheCache() {
        int[] table = c.blockTable.clone();
        table[1] = 10_000;
        assertThatThrownBy(() -> FlashMla.decode(c.q, c.cache, table, c.seqlens, meta(), options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block_table[0][1] = 10000");
    }

    @Test
    void seqlenBeyondTheTable() {
        int[] lens = {64 * c.maxBlocks + 1, 64};
        assertThatThrownBy(() -> FlashMla.decode(c.q, c.cache, c.blockTable, lens, meta(), options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cache_seqlens[0]");
    }

    @Test
    void negativeSeqlen() {
        assertThatThrownBy(() -> FlashMla.metadata(new int[] {-1}, 1, 16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cache_seqlens[0] must be >= 0");
    }

    @Test
    void metadataOfAnotherBatch() {
        MlaMetadata other = FlashMla.metadata(new int[] {130, 63}, 1, 16);
        assertThatThrownBy(() -> FlashMla.decode(c.q, c.cache, c.blockTable, c.seqlens, other, options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("planned for another batch");
    }

    @Test
    void headDimMismatch() {
        Tensor q = Tensor.allocate(Arena.ofAuto(), DType.BF16, 2, 1, 16, 512);
        assertThatThrownBy(() -> FlashMla.decode(q, c.cache, c.blockTable, c.seqlens, meta(), options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("k_cache head dim 576 != q head dim 512");
    }

    @Test
    void wrongPageSizeAndDtypes() {
        Tensor cache32 = Tensor.allocate(Arena.ofAuto(), DType.BF16, 4, 32, 1, 576);
        assertThatThrownBy(() -> FlashMla.decode(c.q, cache32, c.blockTable, c.seqlens, meta(), options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("page block size must be 64, got 32");
        Tensor qI8 = Tensor.allocate(Arena.ofAuto(), DType.I8, 2, 1, 16, 576);
        assertThatThrownBy(() -> FlashMla.decode(qI8, c.cache, c.blockTable, c.seqlens, meta(), options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("q dtype must be BF16 or F32, got I8");
        assertThatThrownBy(() -> FlashMla.decode(c.q, c.cache, c.blockTable, c.seqlens, meta(),
                options.withFormat(KvCacheFormat.FP8)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("FP8 format, got BF16");
    }

    @Test
    void headDimVLargerThanD() {
        assertThatThrownBy(() -> FlashMla.decode(c.q, c.cache, c.blockTable, c.seqlens, meta(), options.withHeadDimV(600)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("head_dim_v must be in [1, d=576], got 600");
    }

    @Test
    void wrongOutputShape() {
        Tensor out = Tensor.allocate(Arena.ofAuto(), DType.BF16, 2, 1, 16, 256);
        Tensor lse = Tensor.allocate(Arena.ofAuto(), DType.F32, 2, 16, 1);
        assertThatThrownBy(() -> FlashMla.decode(c.q, c.cache, c.blockTable, c.seqlens, meta(), options, out, lse))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out must be contiguous [2, 1, 16, 512]");
    }

    @Test
    void sparseIndexOutOfRangeAndCausal() {
        int[] indices = new int[2 * 8];
        indices[3] = 64 * 1000;
        MlaMetadata sparse = FlashMla.sparseMetadata(2, 1, 16, 8);
        assertThatThrownBy(() -> FlashMla.sparseDecode(c.q, c.cache, indices, 8, sparse, options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("indices[0][3] = 64000");
        assertThatThrownBy(() -> FlashMla.sparseDecode(c.q, c.cache, new int[16], 8, sparse, options.withCausal(true)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("causal must be false");
        assertThatThrownBy(() -> FlashMla.sparseDecode(c.q, c.cache, new int[15], 8, sparse, options))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("indices must be [b, s_q, topk]");
    }
}
