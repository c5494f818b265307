/* test_fixture.h - the reader of the SGMNNFX fixture container written by
 * tools/ref/gen_nn.py and tools/ref/gen_unet.py (PyTorch reference values):
 * magic "SGMNNFX\0", u32 version 1, u32 record count, then per record a u32
 * name length and the name, u32 dtype (0 float32, 1 float64, 2 int32), u32
 * ndim, ndim u32 sizes and the little-endian data; nothing after the last
 * record. Every value is converted to double. Shared by test_nn_parity.c
 * and test_unet_parity.c. */
#ifndef SGM_TEST_FIXTURE_H
#define SGM_TEST_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx_rec {
    char name[96];
    int ndim;
    size_t shape[8];
    size_t count;
    double *data;
} fx_rec;

typedef struct fx {
    char path[512];
    int n;
    fx_rec *rec; /* [n] */
} fx;

static int fx_u32(FILE *f, uint32_t *v) {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static void fx_free(fx *x) {
    for (int i = 0; i < x->n; i++) free(x->rec[i].data);
    free(x->rec);
    x->rec = NULL;
    x->n = 0;
}

/* one record's header and data; 0 on success */
static int fx_read_rec(FILE *f, fx_rec *rc) {
    uint32_t len, dt, nd;
    if (fx_u32(f, &len) || len >= sizeof rc->name || fread(rc->name, 1, len, f) != len) return -1;
    rc->name[len] = 0;
    if (fx_u32(f, &dt) || dt > 2 || fx_u32(f, &nd) || nd > 8) return -1;
    rc->ndim = (int)nd;
    rc->count = 1;
    for (uint32_t i = 0; i < nd; i++) {
        uint32_t s;
        if (fx_u32(f, &s)) return -1;
        rc->shape[i] = s;
        rc->count *= s;
    }
    rc->data = malloc((rc->count ? rc->count : 1) * sizeof(double));
    if (!rc->data) return -1;
    for (size_t i = 0; i < rc->count; i++) {
        if (dt == 1) {
            double v;
            if (fread(&v, 8, 1, f) != 1) return -1;
            rc->data[i] = v;
        } else if (dt == 0) {
            float v;
            if (fread(&v, 4, 1, f) != 1) return -1;
            rc->data[i] = v;
        } else {
            int32_t v;
            if (fread(&v, 4, 1, f) != 1) return -1;
            rc->data[i] = v;
        }
    }
    return 0;
}

/* Reads the whole file at path into x; 0 on success, -1 (with a line on
 * stderr naming the file and how to regenerate it) otherwise. */
static int fx_open(const char *path, const char *generator, fx *x) {
    memset(x, 0, sizeof *x);
    snprintf(x->path, sizeof x->path, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open (regenerate with %s)\n", path, generator);
        return -1;
    }
    char magic[8];
    uint32_t ver, cnt;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "SGMNNFX\0", 8) || fx_u32(f, &ver) ||
        ver != 1 || fx_u32(f, &cnt) || cnt > 4096 ||
        !(x->rec = calloc(cnt ? cnt : 1, sizeof *x->rec)))
        goto bad;
    for (uint32_t r = 0; r < cnt; r++)
        if (fx_read_rec(f, &x->rec[x->n++]) != 0) goto bad;
    if (fgetc(f) != EOF) goto bad; /* the file must end after the last record */
    fclose(f);
    return 0;
bad:
    fclose(f);
    fx_free(x);
    fprintf(stderr, "%s: malformed fixture (regenerate with %s)\n", path, generator);
    return -1;
}

/* the record with this name, or NULL */
static const fx_rec *fx_find(const fx *x, const char *name) {
    for (int i = 0; i < x->n; i++)
        if (!strcmp(x->rec[i].name, name)) return &x->rec[i];
    return NULL;
}

#endif
