/* heunpp2.c - Heun++ (heunpp2), as ComfyUI's sample_heunpp2 (after
 * Carzit/sd-webui-samplers-scheduler): from s_i, Euler predictors to s_{i+1}
 * and s_{i+2} give slopes d_2, d_3, and the step uses
 *   d' = (1 - w2 - w3) d + w2 d_2 + w3 d_3,  w2 = s_{i+1}/(3 s_0), w3 = s_{i+2}/(3 s_0)
 * (three slopes), d' = (1 - w2) d + w2 d_2 with w2 = s_{i+1}/(2 s_0) on the
 * step before last, plain Euler on the last step. The weights use the FIRST
 * point of the schedule s_0 as coded in the reference, so the method is close
 * to Euler (order 1). NFE: 3 per step, 2 on the step before last, 1 on the
 * last. Churn (s_churn > 0) is not supported. */
#include "sampler_internal.h"

enum { HP_D = 0, HP_DEN, HP_X2, HP_D2, HP_X3, HP_NBUF };

static int hp_nbuf(const sgm_sampler_config *c) {
    (void)c;
    return HP_NBUF;
}

static sgm_status hp_validate(const sgm_sampler_config *c, sgm_error *err) {
    if (c->s_churn != 0)
        return sgm__fail(err, SGM_ERR_INVALID_ARG, "heunpp2: s_churn is not supported");
    return SGM_OK;
}

static sgm_status hp_step(sgm__s *s, void *x) {
    sgm__pt p = sgm__cur(s), q = sgm__next(s);
    void *d = s->buf[HP_D], *D = s->buf[HP_DEN], *x2 = s->buf[HP_X2], *d2 = s->buf[HP_D2];
    void *x3 = s->buf[HP_X3];
    sgm_status st = sgm__denoise(s, x, p, D);
    if (st) return st;
    sgm__lc2(s, d, 1 / p.s, x, -1 / p.s, D);
    double dt = q.s - p.s, s0 = s->pts[0].s, send = s->pts[s->n_pts - 1].s;
    size_t i = s->i;
    if (q.s == send) {
        sgm__lc2(s, x, 1, x, dt, d);
    } else {
        sgm__lc2(s, x2, 1, x, dt, d);
        if ((st = sgm__denoise(s, x2, q, D))) return st;
        sgm__lc2(s, d2, 1 / q.s, x2, -1 / q.s, D);
        sgm__pt r = s->pts[i + 2];
        if (r.s == send) {
            double w2 = q.s / (2 * s0);
            sgm__lc3(s, x, 1, x, dt * (1 - w2), d, dt * w2, d2);
        } else {
            sgm__lc2(s, x3, 1, x2, r.s - q.s, d2);
            if ((st = sgm__denoise(s, x3, r, D))) return st;
            /* d3 = (x3 - D)/s_{i+2}, kept as its two parts */
            double w2 = q.s / (3 * s0), w3 = r.s / (3 * s0), w1 = 1 - w2 - w3;
            sgm__lc4(s, x, 1, x, dt * w1, d, dt * w2, d2, dt * w3 / r.s, x3);
            sgm__lc2(s, x, 1, x, -dt * w3 / r.s, D);
        }
    }
    s->i++;
    return SGM_OK;
}

const sgm__method sgm__m_heunpp2 = {
    {"heunpp2", "heun++,heunpp", "Heun++ with three slopes weighted by s/s_0 (ComfyUI heunpp2)",
     1, 0, 0},
    NULL, hp_validate, hp_nbuf, NULL, hp_step};
