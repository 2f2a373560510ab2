#include "CNeuralKernels.h"

#include <immintrin.h>
#include <string.h>

// A GEMM for the encoder's linear layers, whose weights never change: they are packed once, at load, into
// panels of 16 output columns laid out k-major ([N/16][K][16]), so the micro-kernel streams each panel
// with aligned-stride loads and no call ever copies the weights again. BLAS packs them on every call,
// which for the few rows of one sentence costs as much as the product itself.

enum { PANEL = 16 };

void rs_pack_weights(const float *weights, size_t outputs, size_t inputs, float *packed) {
    for (size_t panel = 0; panel < outputs / PANEL; panel++) {
        float *target = packed + panel * inputs * PANEL;
        for (size_t k = 0; k < inputs; k++) {
            for (size_t lane = 0; lane < PANEL; lane++) {
                target[k * PANEL + lane] = weights[(panel * PANEL + lane) * inputs + k];
            }
        }
    }
}

// Rows x 32 columns (two panels) of C = A . W^T + bias, over all of K. ROWS is a compile-time constant in
// each instance, so the accumulators stay in registers (2 * ROWS of the 32 zmm registers).
#define DEFINE_KERNEL_32(ROWS)                                                                                   \
    __attribute__((target("avx512f"))) static void kernel32_##ROWS(                                             \
        const float *a, size_t lda, const float *p0, const float *p1, size_t k, const float *bias, float *c,   \
        size_t ldc) {                                                                                          \
        __m512 acc0[ROWS], acc1[ROWS];                                                                         \
        __m512 b0 = _mm512_loadu_ps(bias), b1 = _mm512_loadu_ps(bias + PANEL);                                 \
        for (int r = 0; r < ROWS; r++) {                                                                       \
            acc0[r] = b0;                                                                                      \
            acc1[r] = b1;                                                                                      \
        }                                                                                                      \
        for (size_t i = 0; i < k; i++) {                                                                       \
            __m512 w0 = _mm512_load_ps(p0 + i * PANEL), w1 = _mm512_load_ps(p1 + i * PANEL);                   \
            for (int r = 0; r < ROWS; r++) {                                                                   \
                __m512 x = _mm512_set1_ps(a[r * lda + i]);                                                     \
                acc0[r] = _mm512_fmadd_ps(x, w0, acc0[r]);                                                     \
                acc1[r] = _mm512_fmadd_ps(x, w1, acc1[r]);                                                     \
            }                                                                                                  \
        }                                                                                                      \
        for (int r = 0; r < ROWS; r++) {                                                                       \
            _mm512_storeu_ps(c + r * ldc, acc0[r]);                                                            \
            _mm512_storeu_ps(c + r * ldc + PANEL, acc1[r]);                                                    \
        }                                                                                                      \
    }

#define DEFINE_KERNEL_16(ROWS)                                                                                   \
    __attribute__((target("avx512f"))) static void kernel16_##ROWS(                                             \
        const float *a, size_t lda, const float *p0, size_t k, const float *bias, float *c, size_t ldc) {      \
        __m512 acc[ROWS];                                                                                      \
        __m512 b0 = _mm512_loadu_ps(bias);                                                                     \
        for (int r = 0; r < ROWS; r++) acc[r] = b0;                                                            \
        for (size_t i = 0; i < k; i++) {                                                                       \
            __m512 w0 = _mm512_load_ps(p0 + i * PANEL);                                                        \
            for (int r = 0; r < ROWS; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + i]), w0, acc[r]); \
        }                                                                                                      \
        for (int r = 0; r < ROWS; r++) _mm512_storeu_ps(c + r * ldc, acc[r]);                                  \
    }

DEFINE_KERNEL_32(1)
DEFINE_KERNEL_32(2)
DEFINE_KERNEL_32(3)
DEFINE_KERNEL_32(4)
DEFINE_KERNEL_32(5)
DEFINE_KERNEL_32(6)
DEFINE_KERNEL_32(7)
DEFINE_KERNEL_32(8)
DEFINE_KERNEL_16(1)
DEFINE_KERNEL_16(2)
DEFINE_KERNEL_16(3)
DEFINE_KERNEL_16(4)
DEFINE_KERNEL_16(5)
DEFINE_KERNEL_16(6)
DEFINE_KERNEL_16(7)
DEFINE_KERNEL_16(8)

typedef void (*kernel32_fn)(const float *, size_t, const float *, const float *, size_t, const float *, float *,
                            size_t);
typedef void (*kernel16_fn)(const float *, size_t, const float *, size_t, const float *, float *, size_t);

static const kernel32_fn kernels32[9] = {0,           kernel32_1, kernel32_2, kernel32_3, kernel32_4,
                                         kernel32_5, kernel32_6, kernel32_7, kernel32_8};
static const kernel16_fn kernels16[9] = {0,           kernel16_1, kernel16_2, kernel16_3, kernel16_4,
                                         kernel16_5, kernel16_6, kernel16_7, kernel16_8};

static int packed_gemm_supported = 0;

__attribute__((constructor)) static void detect(void) {
    __builtin_cpu_init();
    packed_gemm_supported = __builtin_cpu_supports("avx512f");
}

int rs_packed_gemm_available(void) { return packed_gemm_supported; }

void rs_gemm_packed(const float *a, size_t rows, size_t inputs, const float *packed, const float *bias,
                    size_t outputs, float *c) {
    // Rows in blocks whose slice of A stays in a 256 KB share of L2 while every panel streams past it.
    size_t block = (256 * 1024) / (inputs * sizeof(float));
    block = block < 8 ? 8 : block - block % 8;
    size_t panelFloats = inputs * PANEL;
    for (size_t first = 0; first < rows; first += block) {
        size_t last = first + block < rows ? first + block : rows;
        size_t column = 0;
        for (; column + 2 * PANEL <= outputs; column += 2 * PANEL) {
            const float *p0 = packed + (column / PANEL) * panelFloats;
            for (size_t row = first; row < last; row += 8) {
                size_t count = last - row < 8 ? last - row : 8;
                kernels32[count](a + row * inputs, inputs, p0, p0 + panelFloats, inputs, bias + column,
                                 c + row * outputs + column, outputs);
            }
        }
        if (column < outputs) {
            const float *p0 = packed + (column / PANEL) * panelFloats;
            for (size_t row = first; row < last; row += 8) {
                size_t count = last - row < 8 ? last - row : 8;
                kernels16[count](a + row * inputs, inputs, p0, inputs, bias + column, c + row * outputs + column,
                                 outputs);
            }
        }
    }
}
