/* quants.h — scalar reference kernels for every supported tensor type
 * (dequantize, quantize, dot product). Block layouts: spec/quants.md §2. */
#ifndef LF_TENSOR_QUANTS_H
#define LF_TENSOR_QUANTS_H

#include "llamafile.h"

#endif
