/* sgm_public_api.h - force-included (-include) into every source file of
 * libsgm, which is compiled with -fvisibility=hidden. Declaring the whole
 * public API (include/sgm.h) here under default visibility, before any other
 * declaration, gives exactly the functions of the public headers default
 * visibility; everything else (the sgm__ internals, static helpers) stays
 * hidden. This needs no export macro in the 18 public headers; the linker
 * version script cmake/sgm.map is the second check on the shared library. */
#ifndef SGM_PUBLIC_API_H
#define SGM_PUBLIC_API_H
#pragma GCC visibility push(default)
#include "sgm.h"
#pragma GCC visibility pop
#endif
