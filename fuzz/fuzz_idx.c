/* fuzz_idx.c - sgm_idx_read on arbitrary bytes, as a raw IDX file or (first
 * byte odd) through the ".gz" path, where zlib inflates gzip input and
 * passes anything else through. */
#include "fuzz_util.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const char *suffix = (data[0] & 1) ? ".gz" : "";
    const char *path = fuzz_write_input(data + 1, size - 1, suffix);
    sgm_idx x = {0};
    sgm_error err = {0};
    if (sgm_idx_read(path, &x, &err) == SGM_OK) {
        size_t prod = 1;
        for (int i = 0; i < x.ndim; i++) prod *= x.dims[i];
        if (prod != x.count) abort();
        volatile unsigned s = 0;
        for (size_t i = 0; i < x.count; i++) s += x.data[i];
        (void)s;
    }
    sgm_idx_free(&x);
    return 0;
}
