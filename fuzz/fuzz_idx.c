/* fuzz_idx.c - the IDX reader (sgm_idx_read's parser, sgm__idx_parse) on
 * arbitrary bytes in memory: raw IDX, or gzip (input starting 1f 8b), which
 * zlib inflates on the way. */
#include "fuzz_util.h"
#include "io/parse_mem.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sgm_idx x = {0};
    sgm_error err = {0};
    if (sgm__idx_parse("input.idx", data, size, &x, &err) == SGM_OK) {
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
