/* train_internal.h - the trainer object, shared by trainer.c (life cycle,
 * checkpoints) and train_step.c (one optimisation step). */
#ifndef SGM_TRAIN_INTERNAL_H
#define SGM_TRAIN_INTERNAL_H

#include "sgm/sgm_net.h"
#include "sgm/sgm_train.h"

struct sgm_trainer {
    sgm_train_config cfg;
    sgm_process *proc;
    sgm_net *net;
    float *P, *G;     /* the network's parameters / gradients */
    size_t np;
    int *labels;      /* [rows] or NULL */
    int *lab;         /* [batch] labels of the step */
    double *ud;       /* [batch] label-dropout uniforms */
    float *ema, *m, *v;
    size_t rows;
    int d;
    float *z;
    float *mu;        /* MR: [rows, d] the condition of each row (standardized units) */
    size_t dc;        /* condition columns of the network input (sgm_net_cond_dim) */
    double *mean, *std;
    long step;
    double ema_loss;
    double t_lo, t_hi;
    /* batch buffers */
    double *u, *gn, *gl;
    float *eps, *xin, *cn, *out, *tgt, *dout;
    double *w;
    double lam_lo, lam_hi; /* lambda(t_hi) < lambda(t_lo) */
    sgm_train_shard shard; /* rows of the global batch; reduce NULL: all, alone */
};

#endif
