/* sgm.h - score-based generative models in C: umbrella header.
 * See docs/api.md for a tour and examples/ for a complete program. */
#ifndef SGM_H
#define SGM_H
#include "sgm/sgm_core.h"
#include "sgm/sgm_process.h"
#include "sgm/sgm_sampler.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_eval.h"
#include "sgm/sgm_likelihood.h"
#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_train.h"
#endif
