/* ckpt_sampling.c - the default sampling path of a checkpoint (sgm_ckpt.h,
 * metadata "sampling" since format 1.2): the training time range (shared
 * with the trainer), the rule that turns the training configuration into a
 * sampler / schedule / VE sigma range, and its JSON form. The range follows
 * the log-normal noise-level density of EDM (Karras et al. 2022,
 * arXiv:2206.00364, sec. 5), whose 3-sigma interval holds 99.7% of the
 * training noise levels. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/internal.h"
#include "../io/json_util.h"
#include "ckpt_internal.h"

sgm_status sgm__train_t_range(const sgm_train_config *c, const sgm_process *proc, double *t_lo,
                              double *t_hi, sgm_error *err) {
    double lo = c->t_lo > 0 ? c->t_lo : sgm_process_t_min(proc);
    if (!(lo > 0)) lo = 1e-3;
    double hi = c->t_hi > 0 ? c->t_hi : sgm_process_t_max(proc);
    if (c->process.kind == SGM_PROCESS_FLOW && hi > 1 - 1e-3) hi = 1 - 1e-3;
    if (!(hi > lo))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG, "empty training time range [%g, %g]", lo,
                              hi);
    *t_lo = lo, *t_hi = hi;
    return SGM_OK;
}

sgm_status sgm_ckpt_sampling_default(const sgm_train_config *c, sgm_ckpt_sampling *out,
                                     sgm_error *err) {
    memset(out, 0, sizeof *out);
    sgm_process *proc = NULL;
    sgm_status rc = sgm_process_create(&c->process, &proc, err);
    double tl = 0, th = 0;
    if (rc == SGM_OK) rc = sgm__train_t_range(c, proc, &tl, &th, err);
    if (rc != SGM_OK) {
        sgm_process_free(proc);
        return rc;
    }
    double lo = sgm_process_sigma(proc, tl) / sgm_process_alpha(proc, tl);
    double hi = sgm_process_sigma(proc, th) / sgm_process_alpha(proc, th);
    sgm_process_free(proc);
    if (c->tsampling == SGM_TS_LOGNORMAL) {
        lo = fmax(lo, exp(c->p_mean - 3 * c->p_std));
        hi = fmin(hi, fmax(exp(c->p_mean + 3 * c->p_std), 10.0));
    }
    if (!(lo > 0 && hi > lo && isfinite(hi)))
        return sgm__set_error(err, SGM_ERR_INVALID_ARG,
                              "no finite trained sigma range ([%g, %g])", lo, hi);
    /* MR: the MR Sampler (its data-prediction ODE, the library's default
       form) on a grid uniform in log-SNR, over the whole trained range */
    const int mr = c->process.kind == SGM_PROCESS_MR;
    snprintf(out->sampler, sizeof out->sampler, mr ? "mrs_ode" : "dpmpp_2m");
    snprintf(out->schedule, sizeof out->schedule, mr ? "logsnr" : "karras");
    out->steps = 20;
    out->sigma_min = lo, out->sigma_max = hi;
    return SGM_OK;
}

cJSON *sgm__ckpt_sampling_json(const sgm_ckpt_sampling *s) {
    cJSON *o = cJSON_CreateObject();
    /* NULL (o freed) when an add failed: out of memory must not drop keys */
    int ok = o != NULL;
    ok &= cJSON_AddStringToObject(o, "sampler", s->sampler) != NULL;
    ok &= cJSON_AddStringToObject(o, "schedule", s->schedule) != NULL;
    ok &= cJSON_AddNumberToObject(o, "steps", s->steps) != NULL;
    ok &= cJSON_AddNumberToObject(o, "sigma_min", s->sigma_min) != NULL;
    ok &= cJSON_AddNumberToObject(o, "sigma_max", s->sigma_max) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

sgm_status sgm__ckpt_sampling_read(const char *text, const char *path, sgm_ckpt_sampling *s,
                                   sgm_error *err) {
    cJSON *o = cJSON_Parse(text);
    const char *sm = o ? sgm__json_str(o, "sampler") : NULL;
    const char *sc = o ? sgm__json_str(o, "schedule") : NULL;
    long steps = 0;
    int ok = sm && sc && strlen(sm) < sizeof s->sampler && strlen(sc) < sizeof s->schedule &&
             sgm__json_int(o, "steps", 1, 1000000, &steps) &&
             sgm__json_num(o, "sigma_min", &s->sigma_min) &&
             sgm__json_num(o, "sigma_max", &s->sigma_max) && s->sigma_min > 0 &&
             s->sigma_max > s->sigma_min && isfinite(s->sigma_max);
    if (ok) {
        snprintf(s->sampler, sizeof s->sampler, "%s", sm);
        snprintf(s->schedule, sizeof s->schedule, "%s", sc);
        s->steps = (int)steps;
    }
    cJSON_Delete(o);
    return ok ? SGM_OK
              : sgm__set_error(err, SGM_ERR_FORMAT,
                               "%s: metadata 'sampling' is not a valid sampling path", path);
}
