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
