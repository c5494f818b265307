/* fuzz_safetensors.c - the safetensors reader (sgm_st_load's parser,
 * sgm__st_parse: header JSON + tensor table + data) on arbitrary bytes in
 * memory, then the lookups over whatever loaded. */
#include "fuzz_util.h"
#include "io/parse_mem.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sgm_safetensors st = {0};
    sgm_error err = {0};
    if (sgm__st_parse("input.safetensors", fuzz_copy(data, size), size, &st, &err) == SGM_OK) {
        volatile unsigned s = 0;
        for (size_t i = 0; i < st.n_tensors; i++) {
            const sgm_st_tensor *t = &st.tensors[i];
            if (sgm_st_find(&st, t->name) == NULL) abort();
            size_t n = sgm_st_dtype_size(t->dtype);
            for (int k = 0; k < t->ndim; k++) n *= t->shape[k];
            const unsigned char *p = t->data;
            for (size_t k = 0; k < n; k++) s += p[k];
        }
        for (size_t i = 0; i < st.n_meta; i++)
            if (sgm_st_meta(&st, st.meta_keys[i]) == NULL || st.meta_vals[i] == NULL) abort();
        (void)s;
    }
    sgm_st_free(&st);
    return 0;
}
