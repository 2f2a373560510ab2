#include "CVectorKernels.h"

#include <immintrin.h>
#include <stdint.h>

// MARK: - Baseline

static float dot_baseline(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static void dot4_baseline(const float *q, const float *v0, const float *v1, const float *v2, const float *v3,
                          size_t n, float *out) {
    out[0] = dot_baseline(q, v0, n);
    out[1] = dot_baseline(q, v1, n);
    out[2] = dot_baseline(q, v2, n);
    out[3] = dot_baseline(q, v3, n);
}

// MARK: - AVX2 + FMA

__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 shuf = _mm_movehdup_ps(lo);
    __m128 sums = _mm_add_ps(lo, shuf);
    shuf = _mm_movehl_ps(shuf, sums);
    sums = _mm_add_ss(sums, shuf);
    return _mm_cvtss_f32(sums);
}

__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

__attribute__((target("avx2,fma"))) static void dot4_avx2(const float *q, const float *v0, const float *v1,
                                                          const float *v2, const float *v3, size_t n,
                                                          float *out) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(q + i);
        s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v0 + i), s0);
        s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v1 + i), s1);
        s2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v2 + i), s2);
        s3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v3 + i), s3);
    }
    float r0 = hsum256(s0), r1 = hsum256(s1), r2 = hsum256(s2), r3 = hsum256(s3);
    for (; i < n; i++) {
        r0 += q[i] * v0[i];
        r1 += q[i] * v1[i];
        r2 += q[i] * v2[i];
        r3 += q[i] * v3[i];
    }
    out[0] = r0;
    out[1] = r1;
    out[2] = r2;
    out[3] = r3;
}

// MARK: - AVX-512F

__attribute__((target("avx512f"))) static float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 mask = (__mmask16)((1u << (n - i)) - 1u);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx512f"))) static void dot4_avx512(const float *q, const float *v0, const float *v1,
                                                           const float *v2, const float *v3, size_t n,
                                                           float *out) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(q + i);
        s0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v0 + i), s0);
        s1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v1 + i), s1);
        s2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v2 + i), s2);
        s3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v3 + i), s3);
    }
    if (i < n) {
        __mmask16 mask = (__mmask16)((1u << (n - i)) - 1u);
        __m512 x = _mm512_maskz_loadu_ps(mask, q + i);
        s0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v0 + i), s0);
        s1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v1 + i), s1);
        s2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v2 + i), s2);
        s3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask, v3 + i), s3);
    }
    out[0] = _mm512_reduce_add_ps(s0);
    out[1] = _mm512_reduce_add_ps(s1);
    out[2] = _mm512_reduce_add_ps(s2);
    out[3] = _mm512_reduce_add_ps(s3);
}

// MARK: - Dispatch

typedef float (*dot_fn)(const float *, const float *, size_t);
typedef void (*dot4_fn)(const float *, const float *, const float *, const float *, const float *, size_t,
                        float *);

static dot_fn selected_dot = dot_baseline;
static dot4_fn selected_dot4 = dot4_baseline;
static const char *selected_name = "baseline";

__attribute__((constructor)) static void select_kernels(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        selected_dot = dot_avx512;
        selected_dot4 = dot4_avx512;
        selected_name = "avx512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        selected_dot = dot_avx2;
        selected_dot4 = dot4_avx2;
        selected_name = "avx2";
    }
}

float rs_dot(const float *a, const float *b, size_t count) { return selected_dot(a, b, count); }

void rs_dot4(const float *query, const float *v0, const float *v1, const float *v2, const float *v3,
             size_t count, float *out) {
    selected_dot4(query, v0, v1, v2, v3, count, out);
}

const char *rs_kernel_name(void) { return selected_name; }
