/* The implementation on its own, as one translation unit: linked into the
   C++ test, and built as libworkerpool.so (and workerpool.dll) for the
   shared-library tests. */
#define WORKERPOOL_IMPLEMENTATION
#include "workerpool.h"
