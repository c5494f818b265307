/* fuzz_ckpt_info.c - sgm_ckpt_read_info (checkpoint metadata: the
 * safetensors "__metadata__" keys and the tensors it checks) on a fuzzed
 * file. Seeded with tests/data/ckpt/mlp_v1_0.safetensors. */
#include "fuzz_util.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_input(data, size, ".safetensors");
    sgm_ckpt_info info;
    memset(&info, 0, sizeof info);
    sgm_error err = {0};
    (void)sgm_ckpt_read_info(path, &info, &err);
    sgm_train_config cfg;
    size_t d = 0;
    memset(&cfg, 0, sizeof cfg);
    (void)sgm_ckpt_train_config(path, &cfg, &d, &err);
    return 0;
}
