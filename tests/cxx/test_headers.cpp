// test_headers.cpp - every public header of sgm compiles as C++ (their extern "C"
// guards) and a call links against the C library.
#include "sgm/sgm_bench.h"
#include "sgm/sgm_guidance.h"
#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_core.h"
#include "sgm/sgm_data.h"
#include "sgm/sgm_edit.h"
#include "sgm/sgm_eval.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_likelihood.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_net.h"
#include "sgm/sgm_nn.h"
#include "sgm/sgm_plot.h"
#include "sgm/sgm_png.h"
#include "sgm/sgm_process.h"
#include "sgm/sgm_sampler.h"
#include "sgm/sgm_schedule.h"
#include "sgm/sgm_schedule_opt.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_unet.h"
#include "sgm.h"

#include <cstdio>
#include <cstring>

int main() {
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    sgm_process *proc = nullptr;
    sgm_error err{};
    if (sgm_process_create(&pc, &proc, &err) != SGM_OK) {
        std::fprintf(stderr, "test_headers: %s\n", err.msg);
        return 1;
    }
    sgm_process_free(proc);
    if (std::strcmp(sgm_status_str(SGM_OK), "ok") != 0) return 1;
    std::printf("test_headers: %s compiles as C++\n", SGM_VERSION_STRING);
    return 0;
}
