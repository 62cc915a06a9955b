/*
 * Native peers for `flyer bench`: the same loops as Flyer's Java kernels, written in plain C
 * for gcc -O3 -march=native, so each Java figure stands beside what the C compiler makes of the
 * same work on the same machine in the same run. Flyer's own code, not taken from elsewhere.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void flyer_copy(float *restrict a, const float *restrict b, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] = b[i];
}

void flyer_triad(float *restrict a, const float *restrict b, const float *restrict c, float s, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

typedef float v16 __attribute__((vector_size(64)));

/* 12 independent chains of vector FMAs: enough to cover the latency of two FMA pipes. */
float flyer_fma_peak(long iters) {
    v16 acc[12];
    v16 x, y;
    for (int l = 0; l < 16; l++) { x[l] = 0.999f; y[l] = 0.001f; }
    for (int k = 0; k < 12; k++) for (int l = 0; l < 16; l++) acc[k][l] = (float) k;
    for (long i = 0; i < iters; i++) {
        for (int k = 0; k < 12; k++) acc[k] = acc[k] * x + y;
    }
    float sum = 0;
    for (int k = 0; k < 12; k++) for (int l = 0; l < 16; l++) sum += acc[k][l];
    return sum;
}

void flyer_bf16_encode(const float *restrict src, uint16_t *restrict dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &src[i], 4);
        uint32_t rounded = (b + 0x7FFFu + ((b >> 16) & 1u)) >> 16;
        uint32_t quiet = (b >> 16) | 0x40u;
        dst[i] = (uint16_t) (((b & 0x7FFFFFFFu) > 0x7F800000u) ? quiet : rounded);
    }
}

void flyer_bf16_decode(const uint16_t *restrict src, float *restrict dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t b = (uint32_t) src[i] << 16;
        memcpy(&dst[i], &b, 4);
    }
}

/* E4M3FN, saturating, round-to-nearest-even. */
void flyer_e4m3_encode(const float *restrict src, uint8_t *restrict dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &src[i], 4);
        uint32_t sign = (b >> 24) & 0x80u;
        uint32_t abs = b & 0x7FFFFFFFu;
        float af;
        memcpy(&af, &abs, 4);
        float sub = af + 16384.0f;
        uint32_t subBits;
        memcpy(&subBits, &sub, 4);
        int32_t subCode = (int32_t) (subBits - 0x46800000u);
        int32_t normal = (int32_t) ((abs + 0x7FFFFu + ((abs >> 20) & 1u)) >> 20) - 960;
        int32_t code = abs < 0x3C800000u ? subCode : normal;
        code = code > 0x7E ? 0x7E : code;
        code = abs > 0x7F800000u ? 0x7F : code;
        dst[i] = (uint8_t) (code | (int32_t) sign);
    }
}

void flyer_e4m3_decode(const uint8_t *restrict src, float *restrict dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t c = src[i];
        uint32_t mag = c & 0x7Fu;
        uint32_t bits = mag << 20;
        float f;
        memcpy(&f, &bits, 4);
        f *= 0x1p120f;
        memcpy(&bits, &f, 4);
        bits = mag == 0x7Fu ? 0x7FC00000u : bits;
        bits |= (c & 0x80u) << 24;
        memcpy(&dst[i], &bits, 4);
    }
}

typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));

/*
 * Rows [row0, row1) of out = A . B^T for one FP32 row A (k floats, each 64 in "quarter order":
 * a'[g + 16q + i] = a[g + 4i + q], as SkinnyKernel.toQuarterOrder writes them) and FP8 E4M3 rows
 * of B (k bytes each), with 128x128 block scales (already times 2^120): the loop of Flyer's one-row
 * kernel (SkinnyKernel.single). 64 codes load as 16 ints; byte q of every int is brought to the top
 * (an unsigned shift, so no signed overflow), spread by an arithmetic >> 4 and masked, giving the value times 2^-120 as float bits; four
 * partial sums per 128-deep block, promoted times the block's scale. k must be a multiple of 128.
 */
void flyer_fp8_gemv(const float *restrict a, int k, const float *restrict bscale, const uint8_t *restrict b,
                    long row0, long row1, float *restrict out) {
    int blocks = k / 128;
    const i32x16 mask = (i32x16) {0} + (int32_t) 0x87F00000u;
    for (long j = row0; j < row1; j++) {
        const uint8_t *row = b + j * (long) k;
        v16 acc = {0};
        for (int kb = 0; kb < blocks; kb++) {
            v16 p0 = {0}, p1 = {0}, p2 = {0}, p3 = {0};
            for (int kk = kb * 128; kk < kb * 128 + 128; kk += 64) {
                u32x16 c;
                v16 x0, x1, x2, x3;
                memcpy(&c, row + kk, 64);
                memcpy(&x0, a + kk, 64);
                memcpy(&x1, a + kk + 16, 64);
                memcpy(&x2, a + kk + 32, 64);
                memcpy(&x3, a + kk + 48, 64);
                p0 += x0 * (v16) (((i32x16) (c << 24) >> 4) & mask);
                p1 += x1 * (v16) (((i32x16) (c << 16) >> 4) & mask);
                p2 += x2 * (v16) (((i32x16) (c << 8) >> 4) & mask);
                p3 += x3 * (v16) (((i32x16) c >> 4) & mask);
            }
            acc += (p0 + p1 + (p2 + p3)) * bscale[(j / 128) * blocks + kb];
        }
        float s = 0;
        for (int l = 0; l < 16; l++) s += acc[l];
        out[j] = s;
    }
}
