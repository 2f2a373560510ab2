// The C BLAS interface of OpenBLAS (Debian: libopenblas-dev). Imported by VectorIndex and Embedding.
#include <cblas.h>
