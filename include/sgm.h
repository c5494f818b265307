/* sgm.h - score-based generative models in C: umbrella header.
 * See docs/api.md for a tour, docs/architecture.md for how the parts fit,
 * and examples/ for complete programs. */
#ifndef SGM_H
#define SGM_H
#include "sgm/sgm_core.h"
#include "sgm/sgm_process.h"
#include "sgm/sgm_schedule.h"
#include "sgm/sgm_sampler.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_eval.h"
#include "sgm/sgm_likelihood.h"
#include "sgm/sgm_nn.h"
#include "sgm/sgm_unet.h"
#include "sgm/sgm_net.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_bench.h"
#include "sgm/sgm_schedule_opt.h"
#include "sgm/sgm_edit.h"
#include "sgm/sgm_png.h"
#include "sgm/sgm_plot.h"
#include "sgm/sgm_guidance.h"
#endif
