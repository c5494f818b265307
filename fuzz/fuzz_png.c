/* fuzz_png.c - the PNG reader (sgm_png_read's parser, sgm__png_parse:
 * libpng's simplified API from memory) on arbitrary bytes, as gray (first
 * byte even) or RGB (odd), the rest as the PNG file. */
#include "fuzz_util.h"
#include "io/parse_mem.h"
#include "sgm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int channels = (data[0] & 1) ? 3 : 1;
    uint8_t *pix = NULL;
    int w = 0, h = 0;
    sgm_error err = {0};
    if (sgm__png_parse("input.png", data + 1, size - 1, channels, &pix, &w, &h, &err) ==
        SGM_OK) {
        /* touch every pixel: a wrong size shows up under ASan */
        if (w < 1 || h < 1) abort();
        volatile unsigned s = 0;
        size_t n = (size_t)w * (size_t)h * (size_t)channels;
        for (size_t i = 0; i < n; i++) s += pix[i];
        (void)s;
    } else if (pix) {
        abort(); /* a failed read hands nothing back */
    }
    free(pix);
    return 0;
}
