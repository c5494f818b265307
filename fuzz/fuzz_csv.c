/* fuzz_csv.c - the CSV table reader of sgm_data_load (FILE.csv; its parser
 * sgm__csv_parse) on fuzzed text in memory. */
#include "fuzz_util.h"
#include "io/parse_mem.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstring(data, size);
    double *x = NULL;
    size_t rows = 0, cols = 0;
    sgm_error err = {0};
    if (sgm__csv_parse("input.csv", text, &x, &rows, &cols, &err) == SGM_OK) {
        volatile double s = 0;
        for (size_t i = 0; i < rows * cols; i++) s += x[i];
        (void)s;
    }
    free(x);
    free(text);
    return 0;
}
