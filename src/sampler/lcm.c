/* lcm.c - multi-step consistency sampling (Song et al. 2023, "Consistency
 * Models", Alg. 1; Luo et al. 2023 LCM), as ComfyUI's sample_lcm: at each
 * point jump to the data prediction D(x~, s_i) and re-noise it to the next
 * level with fresh noise, x~ = D + s_{i+1} z; the last step returns D. One
 * NFE and (except the last step) one noise draw per step. */
#include "sampler_internal.h"

static int lcm_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return 1;
}

static sgm_status lcm_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *D = s->buf[0];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    if (q.s > 0) {
        sgm__lc2_noise(s, x, 1, D, q.s * s->cfg.s_noise, p.s, q.s);
    } else {
        sgm__copy(s, x, D);
    }
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_lcm = {
    {"lcm", "consistency", "multi-step consistency sampling: x = D + s_next z (ComfyUI lcm)", 1,
     1, 0},
    NULL, NULL, lcm_nbuf, NULL, lcm_step};
