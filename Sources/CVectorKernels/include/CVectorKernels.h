// Single-pair and few-pair Float32 dot-product kernels for the HNSW hot path.
//
// Each kernel is compiled for AVX-512F, AVX2+FMA and a portable baseline; the widest one the CPU supports is
// chosen once at load time (a Swift build targets baseline x86-64, so Swift SIMD types would be SSE-only here).
// Batched products over contiguous rows go through BLAS instead (see VectorIndex/FlatIndex.swift).
#ifndef ROUTERSHIFT_CVECTORKERNELS_H
#define ROUTERSHIFT_CVECTORKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The dot product of `a` and `b`, `count` floats each.
float rs_dot(const float *a, const float *b, size_t count);

/// Four dot products of `query` with `v0`...`v3` in one pass over the query: the query is loaded once per
/// chunk and the four independent accumulator chains keep the FMA units busy while rows stream in from memory.
void rs_dot4(const float *query, const float *v0, const float *v1, const float *v2, const float *v3,
             size_t count, float *out);

/// The name of the kernel chosen for this CPU: "avx512", "avx2" or "baseline".
const char *rs_kernel_name(void);

/// Asks the CPU to start loading the cache line at `address` for a read.
static inline void rs_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#ifdef __cplusplus
}
#endif

#endif
