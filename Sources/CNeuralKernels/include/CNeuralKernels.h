// Element-wise and row-wise kernels of the BERT encoder that BLAS does not cover: exact GELU, softmax and
// layer normalisation. Each is compiled for AVX-512, AVX2+FMA and a portable baseline, chosen once at load.
#ifndef ROUTERSHIFT_CNEURALKERNELS_H
#define ROUTERSHIFT_CNEURALKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// x <- 0.5 x (1 + erf(x / sqrt 2)), in place, `count` floats. erf is accurate to 1.5e-7 absolute.
void rs_gelu_erf(float *values, size_t count);

/// Each of `rows` rows of `columns` floats (`stride` apart) <- softmax(row), in place, max-subtracted.
void rs_softmax_rows(float *values, size_t rows, size_t columns, size_t stride);

/// Each of `rows` rows of `columns` floats <- (row - mean) / sqrt(variance + epsilon) * gamma + beta.
void rs_layer_norm_rows(float *values, size_t rows, size_t columns, const float *gamma, const float *beta,
                        float epsilon);

/// Whether this CPU runs the packed GEMM (AVX-512F); without it the encoder uses cblas_sgemm.
int rs_packed_gemm_available(void);

/// Packs PyTorch-layout weights W [outputs x inputs] into panels of 16 outputs, k-major, for
/// rs_gemm_packed. `outputs` must be a multiple of 16; `packed` holds outputs * inputs floats, 64-byte aligned.
void rs_pack_weights(const float *weights, size_t outputs, size_t inputs, float *packed);

/// C [rows x outputs] = A [rows x inputs] . W^T + bias, with W packed by rs_pack_weights.
void rs_gemm_packed(const float *a, size_t rows, size_t inputs, const float *packed, const float *bias,
                    size_t outputs, float *c);

#ifdef __cplusplus
}
#endif

#endif
