/* brownian.c - STUB: Brownian-tree noise; falls back to independent draws. */
#include "sampler_internal.h"

void sgm__brownian_increment(sgm__s *s, double s_from, double s_to, void *z);

void sgm__brownian_increment(sgm__s *s, double s_from, double s_to, void *z) {
    (void)s_from;
    (void)s_to;
    sgm__randn(s, z);
}
