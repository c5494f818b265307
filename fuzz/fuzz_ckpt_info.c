/* fuzz_ckpt_info.c - checkpoint metadata (sgm_ckpt_read_info's parser,
 * sgm__ckpt_info_parse: the safetensors file, then the "__metadata__" keys
 * decoded and range-checked) on fuzzed bytes in memory. sgm_ckpt_train_config
 * is sgm_ckpt_read_info plus a copy, so it is not called again. Seeded with
 * the metadata of tests/data/ckpt/{mlp,unet}_v1_0.safetensors without their
 * tensors (the metadata reader does not look at tensor data). */
#include "fuzz_util.h"
#include "io/parse_mem.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sgm_ckpt_info info;
    memset(&info, 0, sizeof info);
    sgm_error err = {0};
    (void)sgm__ckpt_info_parse("input.safetensors", fuzz_copy(data, size), size, &info, &err);
    return 0;
}
