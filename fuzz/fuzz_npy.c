/* fuzz_npy.c - the .npy reader (sgm_npy_load's parser, sgm__npy_parse) on
 * arbitrary bytes (NumPy .npy 1.0/2.0), in memory: exactly the input's
 * bytes, so ASan sees a read one past the end. */
#include "fuzz_util.h"
#include "io/parse_mem.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sgm_array a = {0};
    sgm_error err = {0};
    if (sgm__npy_parse("input.npy", (const char *)data, size, &a, &err) == SGM_OK) {
        /* touch every element: a wrong count or shape shows up under ASan */
        volatile double s = 0;
        size_t prod = 1;
        for (int i = 0; i < a.ndim; i++) prod *= a.shape[i];
        if (prod != a.count) abort();
        for (size_t i = 0; i < a.count; i++) s += a.data[i];
        (void)s;
    }
    sgm_array_free(&a);
    return 0;
}
