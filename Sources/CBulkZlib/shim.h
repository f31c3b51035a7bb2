#ifndef C_BULK_ZLIB_H
#define C_BULK_ZLIB_H

#include <zlib.h>

// inflateInit2 is a macro, which Swift cannot call.
static inline int CBulkZlib_inflateInit2(z_streamp stream, int windowBits) {
  return inflateInit2(stream, windowBits);
}

#endif
