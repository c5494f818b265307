/* fuzz_npy.c - sgm_npy_load on arbitrary bytes (NumPy .npy 1.0/2.0). */
#include "fuzz_util.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_input(data, size, ".npy");
    sgm_array a = {0};
    sgm_error err = {0};
    if (sgm_npy_load(path, &a, &err) == SGM_OK) {
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
