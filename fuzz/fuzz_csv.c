/* fuzz_csv.c - the data loader, sgm_data_load, on a fuzzed FILE.csv. */
#include "fuzz_util.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_input(data, size, ".csv");
    double *x = NULL;
    size_t rows = 0, cols = 0;
    sgm_error err = {0};
    if (sgm_data_load(path, 0, 1, &x, &rows, &cols, &err) == SGM_OK) {
        volatile double s = 0;
        for (size_t i = 0; i < rows * cols; i++) s += x[i];
        (void)s;
    }
    free(x);
    return 0;
}
