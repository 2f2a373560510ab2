// Element-wise and row-wise kernels of the BERT encoder that BLAS does not cover (exact GELU, softmax and
// layer normalisation, each compiled for AVX-512, AVX2+FMA and a portable baseline, chosen once at load),
// and packed fp32 and int8-weight GEMMs for its linear layers.
#ifndef ROUTERSHIFT_CNEURALKERNELS_H
#define ROUTERSHIFT_CNEURALKERNELS_H

#include <stddef.h>
#include <stdint.h>

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

/// The kernels of the int8-weight GEMM (QuantizedGemm.c says how each works). rs_int8_best_kernel() names
/// the best this CPU runs; every CPU that runs AVX-512 VNNI also runs AVX2.
typedef enum {
    RS_INT8_NONE = 0,
    /// vpmaddwd on weights widened to 16 bits: any AVX2 + FMA CPU.
    RS_INT8_AVX2 = 1,
    /// vpdpbusd on activations split into two unsigned bytes: AVX-512 F, BW and VNNI.
    RS_INT8_AVX512_VNNI = 2,
} rs_int8_kernel;

rs_int8_kernel rs_int8_best_kernel(void);

/// Quantises W [outputs x inputs] (PyTorch layout) per output channel to [-127, 127] for `kernel`:
/// `scales[n]` is max |W[n]| / 127, `sums[n]` the sum of row n's quantised weights, `packed` (outputs *
/// inputs bytes, 64-byte aligned) the panels rs_gemm_int8 reads. `outputs` must be a multiple of 32,
/// `inputs` of 4.
void rs_quantize_weights(rs_int8_kernel kernel, const float *weights, size_t outputs, size_t inputs, int8_t *packed,
                         float *scales, int32_t *sums);

/// Quantises each of `rows` rows of `columns` floats to [-2047, 2047] with its own scale (max |x| / 2047),
/// into `q` (2 * rows * columns bytes) as `kernel` reads them. `columns` must be a multiple of 4.
void rs_quantize_rows(rs_int8_kernel kernel, const float *x, size_t rows, size_t columns, void *q, float *scales);

/// C [rows x outputs] = (A_q . W_q^T) * a_scale[row] * w_scale[column] + bias, with `kernel` (one this CPU runs), A quantised by rs_quantize_rows and W by rs_quantize_weights for it.
/// `inputs` must be at most 8192, so that the int32 sums cannot overflow.
void rs_gemm_int8(rs_int8_kernel kernel, const void *quantized, const float *a_scales, size_t rows, size_t inputs,
                  const int8_t *packed, const float *w_scales, const int32_t *w_sums, const float *bias,
                  size_t outputs, float *c);

#ifdef __cplusplus
}
#endif

#endif
