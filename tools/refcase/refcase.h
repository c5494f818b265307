/* refcase.h - shared state of sgm-refcase, the runner for reference cases in
 * the ../shared/reference format (case.json + init.npy + a model file named
 * relative to the folder that holds cases/ and models/). One file per
 * implementation turns a case.json into library calls. */
#ifndef SGM_REFCASE_H
#define SGM_REFCASE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "sgm.h"

typedef struct refcase {
    const char *dir;     /* case directory */
    char root[4096];     /* folder holding cases/ and models/ */
    cJSON *json;         /* parsed case.json */
    const char *impl;    /* "k-diffusion", "dpm-solver", "diffusers" */
    const char *kind;    /* "sampler" or "schedule" */
    sgm_gmm *gmm;        /* the model (sampler cases) */
    sgm_array init;      /* init.npy (sampler cases) */
    /* output */
    int out_ndim;
    size_t out_shape[2];
    double *out;         /* malloc'd */
    size_t nfe;          /* NFE the run used (sampler cases) */
    sgm_error err;
} refcase;

/* each returns 0 on success, non-zero with rc->err filled */
int refcase_kdiff(refcase *rc);
int refcase_dpm(refcase *rc);
int refcase_diffusers(refcase *rc);
int refcase_comfy(refcase *rc);

/* helpers */
int rc_fail(refcase *rc, const char *fmt, ...);
const cJSON *rc_get(const cJSON *obj, const char *path); /* "a.b.c" */
double rc_num(const cJSON *obj, const char *path, double dflt);
const char *rc_str(const cJSON *obj, const char *path, const char *dflt);
/* array of numbers -> malloc'd doubles; NULL if absent */
double *rc_vec(const cJSON *obj, const char *path, size_t *n);
/* Runs a sampler over rc->init and stores the result as the output.
 * den may be NULL (the exact GMM, prediction x0). */
int rc_run(refcase *rc, const sgm_process *proc, const sgm_schedule *sched,
           const sgm_sampler_config *cfg, const sgm_denoiser *den);
/* diffusers cases (refcase_diffusers_model.c): the process of a scheduler
 * config and the exact-GMM model answering eps / v at its own noise level */
typedef struct rc_dmodel {
    const sgm_gmm *g;
    const sgm_process *p; /* vp-discrete, SGM_INTERP_LOG_SIGMA */
    sgm_prediction pred;
} rc_dmodel;
int rc_dmodel_fn(const sgm_eval *q, void *out, void *user);
int rc_diffusers_process(refcase *rc, const cJSON *cfg, sgm_process **p);
/* schedule from the case's timesteps [n] and float32 sigmas [n + 1] (uniq:
 * consecutive duplicates removed first, as in PNDM's PLMS list and Heun's
 * interleaved arrays) */
int rc_diffusers_array_schedule(refcase *rc, const sgm_process *p, int uniq,
                                sgm_schedule **out);
/* rc_vec with consecutive duplicates removed */
double *rc_uniq_vec(const cJSON *j, const char *path, size_t *n);
/* Stores a 1-D output vector (schedule cases). Copies v. */
int rc_set_vec(refcase *rc, const double *v, size_t n);

#endif
