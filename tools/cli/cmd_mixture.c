/* cmd_mixture.c - `sgm mixture`: writes member SEED of the seeded family of
 * random Gaussian mixtures (sgm_gmm_family, src/model/gmm_family.c) as the
 * JSON that `--data gmm:FILE.json` and `--model gmm:FILE.json` read, and
 * optionally exact draws of it (.npy: held-out data for `sgm train
 * --eval-data`, reference sets for `sgm eval`).
 * Exit codes: 0 written; 2 bad input (options, unwritable output). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_model.h"

static const cli_opt mixture_opts[] = {
    {"seed", "S", "0", "member of the family"},
    {"dim", "D", "2", "dimension (the test family uses 2, 8, 16)"},
    {"out", "FILE.json", NULL, "mixture to write"},
    {"draws", "N", "0", "also write N exact draws of the mixture (needs --draws-out)"},
    {"draws-out", "FILE.npy", NULL, "where the draws go"},
    {"draws-seed", "S", "1", "seed of the draws"},
    {NULL, NULL, NULL, NULL}};

int cmd_mixture(int argc, char **argv) {
    cli_args a;
    const cli_opt *const tables[] = {mixture_opts, NULL};
    int r = cli_start(&a, "mixture", tables, argc, argv, "--seed S --dim D --out FILE.json");
    if (r == CLI_HELP) return 0;
    uint64_t seed = 0, dseed = 1;
    int d = 2;
    size_t n = 0;
    const char *dout = cli_get(&a, "draws-out");
    if (r < 0 || cli_require(&a, "out") < 0 || cli_get_u64(&a, "seed", &seed) < 0 ||
        cli_get_int(&a, "dim", 1, 256, &d) < 0 || cli_check_out(&a, "out", cli_get(&a, "out")) < 0 ||
        cli_get_size(&a, "draws", 0, &n) < 0 || cli_get_u64(&a, "draws-seed", &dseed) < 0 ||
        (dout && cli_check_out(&a, "draws-out", dout) < 0))
        return cli_error(&a, 2);
    if ((n > 0) != (dout != NULL)) {
        cli_fail(&a, "--draws N and --draws-out FILE.npy go together");
        return cli_error(&a, 2);
    }
    sgm_error err = {0};
    sgm_gmm *g = NULL;
    char note[96];
    snprintf(note, sizeof note, "sgm mixture --seed %llu --dim %d", (unsigned long long)seed, d);
    if (sgm_gmm_family(seed, (size_t)d, &g, &err) != SGM_OK ||
        sgm_gmm_save(g, cli_get(&a, "out"), note, &err) != SGM_OK) {
        fprintf(stderr, "sgm mixture: %s\n", err.msg);
        sgm_gmm_free(g);
        return 2;
    }
    double *x = n ? malloc(n * (size_t)d * sizeof *x) : NULL;
    if (n && !x) {
        fprintf(stderr, "sgm mixture: out of memory\n");
        sgm_gmm_free(g);
        return 1;
    }
    if (n) {
        sgm_gmm_sample(g, dseed, 0, 0, n, x);
        size_t shape[2] = {n, (size_t)d};
        sgm_status st = sgm_npy_save(dout, 2, shape, x, 0, &err);
        free(x);
        if (st != SGM_OK) {
            fprintf(stderr, "sgm mixture: %s\n", err.msg);
            sgm_gmm_free(g);
            return 2;
        }
    }
    printf("sgm mixture: %zu components in %d dimensions -> %s\n", sgm_gmm_components(g), d,
           cli_get(&a, "out"));
    sgm_gmm_free(g);
    return 0;
}
