#include "CNeuralKernels.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

// A GEMM of int8 weights for the encoder's linear layers. Weights are quantised once, at load, per output
// channel (symmetric, [-127, 127]) and packed into panels of 16 outputs; activations are quantised per row
// when a layer runs, symmetric to [-2047, 2047]: 8-bit activations cost MiniLM up to 0.008 of cosine on a
// short sentence (its layer-norm outputs have a few large channels that take most of a row's range), 12
// bits cost under 0.001, and on either instruction set they cost the same time. Products accumulate
// exactly in int32 (|sum| <= K * 2047 * 127, so K <= 8192) and are scaled back to floats once.
//
// - AVX2: weights are sign-extended to 16 bits as they load (on the shuffle ports) and multiplied by the
//   16-bit activations with vpmaddwd, which cannot overflow. (vpmaddubsw on u8 x s8 saturates its pair
//   sums, and the vpsignb that avoids it competes with the multiplies for the same two ports.) Panels
//   hold pairs of inputs, [K/2][16][2] bytes.
// - AVX-512 VNNI: vpdpbusd multiplies unsigned by signed bytes, four at a time. An activation a is stored
//   as two unsigned bytes, a + 2048 = 64 h + l with h, l in [0, 63]; the row's products are
//   64 (h . w) + (l . w) - 2048 (sum of w), the sum computed at load. Panels hold groups of 4 inputs,
//   [K/4][16][4] bytes; a row's quantised values interleave 4 h bytes and 4 l bytes per group.
//
// The two kernels compute the same integers, so they give the same vectors up to float rounding.

enum { PANEL = 16 };

static size_t group_of(rs_int8_kernel kernel) { return kernel == RS_INT8_AVX512_VNNI ? 4 : 2; }

// MARK: - Quantisation

void rs_quantize_weights(rs_int8_kernel kernel, const float *weights, size_t outputs, size_t inputs, int8_t *packed,
                         float *scales, int32_t *sums) {
    size_t group = group_of(kernel);
    for (size_t n = 0; n < outputs; n++) {
        const float *row = weights + n * inputs;
        float largest = 0.0f;
        for (size_t k = 0; k < inputs; k++) largest = fmaxf(largest, fabsf(row[k]));
        float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
        float inverse = 1.0f / scale;
        int32_t sum = 0;
        int8_t *target = packed + (n / PANEL) * inputs * PANEL + (n % PANEL) * group;
        for (size_t k = 0; k < inputs; k++) {
            int32_t q = (int32_t)rintf(row[k] * inverse);
            q = q > 127 ? 127 : (q < -127 ? -127 : q);
            target[(k / group) * PANEL * group + k % group] = (int8_t)q;
            sum += q;
        }
        scales[n] = scale;
        sums[n] = sum;
    }
}

enum { ACTIVATION_LIMIT = 2047 };

/// Each row's scale (max |x| / 2047) and its values rounded to [-2047, 2047].
__attribute__((target("avx2,fma"))) static void quantize_words(const float *x, size_t rows, size_t columns,
                                                                int16_t *q, float *scales) {
    _Pragma("clang fp reassociate(on)") for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * columns;
        float largest = 0.0f;
        for (size_t i = 0; i < columns; i++) largest = fmaxf(largest, fabsf(row[i]));
        float scale = largest > 0.0f ? largest / (float)ACTIVATION_LIMIT : 1.0f;
        float inverse = 1.0f / scale;
        int16_t *target = q + r * columns;
        for (size_t i = 0; i < columns; i++) target[i] = (int16_t)(int32_t)__builtin_rintf(row[i] * inverse);
        scales[r] = scale;
    }
}

/// Rewrites the values of quantize_words in place as two bytes each, a + 2048 = 64 h + l, by groups of 4:
/// the 4 h bytes then the 4 l bytes take the 8 bytes the group's 16-bit values took.
static void split_words(void *values, size_t count) {
    for (size_t group = 0; group < count; group += 4) {
        int16_t words[4];
        memcpy(words, (int16_t *)values + group, sizeof words);
        uint8_t *target = (uint8_t *)values + 2 * group;
        for (int i = 0; i < 4; i++) {
            int32_t shifted = words[i] + 2048;
            target[i] = (uint8_t)(shifted >> 6);
            target[4 + i] = (uint8_t)(shifted & 63);
        }
    }
}

// MARK: - AVX2: rows x 16 outputs over all of K

// Weights in pairs ([K/2][16][2] bytes), sign-extended to 16 bits as they load; activations as 16-bit pairs.
#define DEFINE_AVX2_KERNEL(ROWS)                                                                               \
    __attribute__((target("avx2,fma"))) static void avx2_kernel_##ROWS(                                        \
        const int16_t *a, size_t lda, const float *a_scales, const int8_t *panel, size_t k, const float *w_scales, \
        const float *bias, float *c, size_t ldc) {                                                             \
        __m256i acc0[ROWS], acc1[ROWS];                                                                        \
        for (int r = 0; r < ROWS; r++) acc0[r] = acc1[r] = _mm256_setzero_si256();                             \
        for (size_t g = 0; g < k; g += 2) {                                                                    \
            __m256i w0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(panel + g * PANEL)));           \
            __m256i w1 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(panel + g * PANEL + 16)));      \
            for (int r = 0; r < ROWS; r++) {                                                                   \
                int32_t pair;                                                                                  \
                memcpy(&pair, a + r * lda + g, 4);                                                             \
                __m256i x = _mm256_set1_epi32(pair);                                                           \
                acc0[r] = _mm256_add_epi32(acc0[r], _mm256_madd_epi16(x, w0));                                 \
                acc1[r] = _mm256_add_epi32(acc1[r], _mm256_madd_epi16(x, w1));                                 \
            }                                                                                                  \
        }                                                                                                      \
        __m256 s0 = _mm256_loadu_ps(w_scales), s1 = _mm256_loadu_ps(w_scales + 8);                             \
        __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);                                     \
        for (int r = 0; r < ROWS; r++) {                                                                       \
            __m256 scale = _mm256_set1_ps(a_scales[r]);                                                        \
            __m256 y0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc0[r]), _mm256_mul_ps(scale, s0), b0);            \
            __m256 y1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc1[r]), _mm256_mul_ps(scale, s1), b1);            \
            _mm256_storeu_ps(c + r * ldc, y0);                                                                 \
            _mm256_storeu_ps(c + r * ldc + 8, y1);                                                             \
        }                                                                                                      \
    }

DEFINE_AVX2_KERNEL(1)
DEFINE_AVX2_KERNEL(2)
DEFINE_AVX2_KERNEL(3)
DEFINE_AVX2_KERNEL(4)
DEFINE_AVX2_KERNEL(5)
DEFINE_AVX2_KERNEL(6)

typedef void (*avx2_kernel_fn)(const int16_t *, size_t, const float *, const int8_t *, size_t, const float *,
                               const float *, float *, size_t);
static const avx2_kernel_fn avx2_kernels[7] = {0,             avx2_kernel_1, avx2_kernel_2, avx2_kernel_3,
                                               avx2_kernel_4, avx2_kernel_5, avx2_kernel_6};
/// Rows per AVX2 call: 12 accumulators, 2 weight vectors and the broadcast fill the 16 ymm registers.
enum { AVX2_ROWS = 6 };

// MARK: - AVX-512 VNNI: rows x 32 outputs over all of K

#define DEFINE_VNNI_KERNEL(ROWS)                                                                               \
    __attribute__((target("avx512f,avx512bw,avx512vnni"))) static void vnni_kernel_##ROWS(                     \
        const uint8_t *a, size_t lda, const float *a_scales, const int8_t *p0, const int8_t *p1, size_t k,     \
        const float *w_scales, const int32_t *sums, const float *bias, float *c, size_t ldc) {                 \
        __m512i high0[ROWS], high1[ROWS], low0[ROWS], low1[ROWS];                                              \
        for (int r = 0; r < ROWS; r++) high0[r] = high1[r] = low0[r] = low1[r] = _mm512_setzero_si512();       \
        for (size_t g = 0; g < k; g += 4) {                                                                    \
            __m512i w0 = _mm512_load_si512((const void *)(p0 + g * PANEL));                                    \
            __m512i w1 = _mm512_load_si512((const void *)(p1 + g * PANEL));                                    \
            for (int r = 0; r < ROWS; r++) {                                                                   \
                int32_t quads[2];                                                                              \
                memcpy(quads, a + r * lda + 2 * g, 8);                                                         \
                __m512i h = _mm512_set1_epi32(quads[0]), l = _mm512_set1_epi32(quads[1]);                      \
                high0[r] = _mm512_dpbusd_epi32(high0[r], h, w0);                                               \
                high1[r] = _mm512_dpbusd_epi32(high1[r], h, w1);                                               \
                low0[r] = _mm512_dpbusd_epi32(low0[r], l, w0);                                                 \
                low1[r] = _mm512_dpbusd_epi32(low1[r], l, w1);                                                 \
            }                                                                                                  \
        }                                                                                                      \
        __m512i offset0 = _mm512_slli_epi32(_mm512_loadu_si512((const void *)sums), 11);                       \
        __m512i offset1 = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(sums + PANEL)), 11);             \
        __m512 s0 = _mm512_loadu_ps(w_scales), s1 = _mm512_loadu_ps(w_scales + PANEL);                         \
        __m512 b0 = _mm512_loadu_ps(bias), b1 = _mm512_loadu_ps(bias + PANEL);                                 \
        for (int r = 0; r < ROWS; r++) {                                                                       \
            __m512 scale = _mm512_set1_ps(a_scales[r]);                                                        \
            __m512i sum0 = _mm512_sub_epi32(_mm512_add_epi32(_mm512_slli_epi32(high0[r], 6), low0[r]), offset0); \
            __m512i sum1 = _mm512_sub_epi32(_mm512_add_epi32(_mm512_slli_epi32(high1[r], 6), low1[r]), offset1); \
            _mm512_storeu_ps(c + r * ldc, _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum0), _mm512_mul_ps(scale, s0), b0)); \
            _mm512_storeu_ps(c + r * ldc + PANEL,                                                              \
                             _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum1), _mm512_mul_ps(scale, s1), b1));         \
        }                                                                                                      \
    }

DEFINE_VNNI_KERNEL(1)
DEFINE_VNNI_KERNEL(2)
DEFINE_VNNI_KERNEL(3)
DEFINE_VNNI_KERNEL(4)
DEFINE_VNNI_KERNEL(5)
DEFINE_VNNI_KERNEL(6)

typedef void (*vnni_kernel_fn)(const uint8_t *, size_t, const float *, const int8_t *, const int8_t *, size_t,
                               const float *, const int32_t *, const float *, float *, size_t);
static const vnni_kernel_fn vnni_kernels[7] = {0,             vnni_kernel_1, vnni_kernel_2, vnni_kernel_3,
                                               vnni_kernel_4, vnni_kernel_5, vnni_kernel_6};

// MARK: - Dispatch

static rs_int8_kernel best_kernel = RS_INT8_NONE;

__attribute__((constructor)) static void detect_int8(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni")) {
        best_kernel = RS_INT8_AVX512_VNNI;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        best_kernel = RS_INT8_AVX2;
    }
}

rs_int8_kernel rs_int8_best_kernel(void) { return best_kernel; }

void rs_quantize_rows(rs_int8_kernel kernel, const float *x, size_t rows, size_t columns, void *q, float *scales) {
    quantize_words(x, rows, columns, (int16_t *)q, scales);
    if (kernel == RS_INT8_AVX512_VNNI) split_words(q, rows * columns);
}

void rs_gemm_int8(rs_int8_kernel kernel, const void *quantized, const float *a_scales, size_t rows, size_t inputs,
                  const int8_t *packed, const float *w_scales, const int32_t *w_sums, const float *bias,
                  size_t outputs, float *c) {
    size_t panel_bytes = inputs * PANEL;
    if (kernel == RS_INT8_AVX512_VNNI) {
        const uint8_t *a = quantized;
        for (size_t column = 0; column < outputs; column += 2 * PANEL) {
            const int8_t *p0 = packed + (column / PANEL) * panel_bytes;
            for (size_t row = 0; row < rows; row += 6) {
                size_t count = rows - row < 6 ? rows - row : 6;
                vnni_kernels[count](a + row * 2 * inputs, 2 * inputs, a_scales + row, p0, p0 + panel_bytes, inputs,
                                    w_scales + column, w_sums + column, bias + column, c + row * outputs + column,
                                    outputs);
            }
        }
        return;
    }
    const int16_t *a = quantized;
    for (size_t column = 0; column < outputs; column += PANEL) {
        const int8_t *panel = packed + (column / PANEL) * panel_bytes;
        // Rows split as evenly as the blocks allow (32 = 6 + 6 + 5 + 5 + 5 + 5), so no call runs a thin tail.
        size_t blocks = (rows + AVX2_ROWS - 1) / AVX2_ROWS;
        for (size_t block = 0, row = 0; block < blocks; block++) {
            size_t count = rows / blocks + (block < rows % blocks ? 1 : 0);
            avx2_kernels[count](a + row * inputs, inputs, a_scales + row, panel, inputs, w_scales + column,
                                bias + column, c + row * outputs + column, outputs);
            row += count;
        }
    }
}
