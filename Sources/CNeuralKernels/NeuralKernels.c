#include "CNeuralKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// MARK: - Scalar building blocks, written so that the loops below vectorise

/// exp(x) by range reduction to [-ln2/2, ln2/2] and the Cephes degree-6 polynomial (about 1 ulp).
static inline float fast_expf(float x) {
    x = fminf(fmaxf(x, -87.3f), 88.7f);
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/// erf(x), Abramowitz & Stegun 7.1.26: |error| <= 1.5e-7.
static inline float fast_erff(float x) {
    float z = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * z);
    float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    float magnitude = 1.0f - poly * fast_expf(-z * z);
    return copysignf(magnitude, x);
}

#define DEFINE_KERNELS(SUFFIX, TARGET)                                                                         \
    TARGET static void gelu_##SUFFIX(float *x, size_t n) {                                                     \
        for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + fast_erff(x[i] * 0.70710678118654752f)); \
    }                                                                                                          \
    TARGET static void softmax_##SUFFIX(float *values, size_t rows, size_t columns, size_t stride) {           \
        _Pragma("clang fp reassociate(on)") for (size_t r = 0; r < rows; r++) {                                \
            float *row = values + r * stride;                                                                  \
            float top = row[0];                                                                                \
            for (size_t i = 1; i < columns; i++) top = row[i] > top ? row[i] : top;                            \
            float sum = 0.0f;                                                                                  \
            for (size_t i = 0; i < columns; i++) {                                                             \
                row[i] = fast_expf(row[i] - top);                                                              \
                sum += row[i];                                                                                 \
            }                                                                                                  \
            float inverse = 1.0f / sum;                                                                        \
            for (size_t i = 0; i < columns; i++) row[i] *= inverse;                                            \
        }                                                                                                      \
    }                                                                                                          \
    TARGET static void layer_norm_##SUFFIX(float *values, size_t rows, size_t columns, const float *gamma,      \
                                           const float *beta, float epsilon) {                                 \
        _Pragma("clang fp reassociate(on)") for (size_t r = 0; r < rows; r++) {                                \
            float *row = values + r * columns;                                                                 \
            float sum = 0.0f;                                                                                  \
            for (size_t i = 0; i < columns; i++) sum += row[i];                                                \
            float mean = sum / (float)columns;                                                                 \
            float squares = 0.0f;                                                                              \
            for (size_t i = 0; i < columns; i++) {                                                             \
                float centred = row[i] - mean;                                                                 \
                squares += centred * centred;                                                                  \
            }                                                                                                  \
            float scale = 1.0f / sqrtf(squares / (float)columns + epsilon);                                    \
            for (size_t i = 0; i < columns; i++) row[i] = (row[i] - mean) * scale * gamma[i] + beta[i];        \
        }                                                                                                      \
    }

DEFINE_KERNELS(avx512, __attribute__((target("avx512f,avx512dq,avx512vl"))))
DEFINE_KERNELS(avx2, __attribute__((target("avx2,fma"))))
DEFINE_KERNELS(baseline, )

// MARK: - Dispatch

static void (*selected_gelu)(float *, size_t) = gelu_baseline;
static void (*selected_softmax)(float *, size_t, size_t, size_t) = softmax_baseline;
static void (*selected_layer_norm)(float *, size_t, size_t, const float *, const float *, float) = layer_norm_baseline;

__attribute__((constructor)) static void select_kernels(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl")) {
        selected_gelu = gelu_avx512;
        selected_softmax = softmax_avx512;
        selected_layer_norm = layer_norm_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        selected_gelu = gelu_avx2;
        selected_softmax = softmax_avx2;
        selected_layer_norm = layer_norm_avx2;
    }
}

void rs_gelu_erf(float *values, size_t count) { selected_gelu(values, count); }

void rs_softmax_rows(float *values, size_t rows, size_t columns, size_t stride) {
    selected_softmax(values, rows, columns, stride);
}

void rs_layer_norm_rows(float *values, size_t rows, size_t columns, const float *gamma, const float *beta,
                        float epsilon) {
    selected_layer_norm(values, rows, columns, gamma, beta, epsilon);
}
