/* prediction.c - names of the model parameterizations (the conversion to x0
 * itself is sgm_prediction_to_x0 in sampler.c). */
#include "../core/internal.h"
#include "sgm/sgm_sampler.h"

static const char *const names[] = {"eps", "x0", "v", "score", "flow"};

const char *sgm_prediction_name(sgm_prediction p) {
    if ((unsigned)p < sizeof names / sizeof names[0]) return names[p];
    return "?";
}

sgm_status sgm_prediction_from_name(const char *name, sgm_prediction *out) {
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (sgm__name_eq(name, names[i])) {
            *out = (sgm_prediction)i;
            return SGM_OK;
        }
    static const struct {
        const char *a;
        sgm_prediction p;
    } al[] = {{"epsilon", SGM_PRED_EPS},        {"noise", SGM_PRED_EPS},
              {"sample", SGM_PRED_X0},          {"x_start", SGM_PRED_X0},
              {"data", SGM_PRED_X0},            {"v_prediction", SGM_PRED_V},
              {"velocity", SGM_PRED_FLOW},      {"flow_prediction", SGM_PRED_FLOW}};
    for (unsigned i = 0; i < sizeof al / sizeof al[0]; i++)
        if (sgm__name_eq(name, al[i].a)) {
            *out = al[i].p;
            return SGM_OK;
        }
    return SGM_ERR_UNKNOWN_NAME;
}
