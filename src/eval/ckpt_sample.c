/* ckpt_sample.c - samples of a trained checkpoint along its default sampling
 * path (sgm_ckpt.h: sampler, Karras et al. 2022 schedule over the trained
 * VE sigma range), in data units: what `sgm sample --model ckpt:F` does
 * with no sampler options, for the held-out evaluation during training and
 * the quality tests. x_T = sigma(t_0) * normals of draw 0 of the seed, the
 * sampler's noise from draws 1, 2, ... (the convention of `sgm sample`). */
#include <stdlib.h>

#include "eval_internal.h"
#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_schedule.h"

sgm_status sgm_ckpt_sample_default(const char *path, int steps, size_t n, uint64_t seed,
                                   double *out, sgm_error *err) {
    sgm_ckpt_info info;
    sgm_status rc = sgm_ckpt_read_info(path, &info, err);
    if (rc != SGM_OK) return rc;
    const sgm_ckpt_sampling *p = &info.sampling;
    if (p->steps < 1)
        return sgm__set_error(err, SGM_ERR_UNSUPPORTED, "%s: no default sampling path", path);
    if (n == 0) return SGM_OK;
    sgm_model *net = NULL;
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    sgm_sampler *smp = NULL;
    sgm_sampler_config sc;
    sgm_schedule_config shc;
    size_t d = info.d;
    if ((rc = sgm_model_load(path, 1, 0, &net, err)) != SGM_OK ||
        (rc = sgm_process_create(sgm_model_process_config(net), &proc, err)) != SGM_OK ||
        (rc = sgm_schedule_kind_from_name(p->schedule, &shc.kind)) != SGM_OK) {
        if (net && proc) sgm__set_error(err, rc, "%s: unknown schedule '%s'", path, p->schedule);
        goto done;
    }
    shc = sgm_schedule_config_default(shc.kind);
    shc.steps = steps > 0 ? steps : p->steps;
    shc.sigma_min = p->sigma_min, shc.sigma_max = p->sigma_max;
    if ((rc = sgm_schedule_create(&shc, proc, &sched, err)) != SGM_OK ||
        (rc = sgm_sampler_config_default(p->sampler, &sc, err)) != SGM_OK)
        goto done;
    if (p->order > 0) sc.order = p->order;
    if ((rc = sgm_sampler_create(&sc, proc, n, d, &smp, err)) != SGM_OK) goto done;
    sgm_rng_normal_rows_f64(seed, 0, 0, n, d, out);
    double std0 = sgm_process_sigma(proc, sched->t[0]);
    for (size_t i = 0; i < n * d; i++) out[i] *= std0;
    sgm_denoiser den = sgm_model_denoiser(net);
    sgm_rng rng = {seed, 1};
    if ((rc = sgm_sampler_run(smp, sched, &den, &rng, 0, n, out, err)) == SGM_OK)
        sgm_model_unstandardize(net, n, SGM_F64, out);
done:
    sgm_sampler_free(smp);
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    sgm_model_free(net);
    return rc;
}
