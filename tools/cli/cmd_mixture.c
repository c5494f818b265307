/* cmd_mixture.c - `sgm mixture`: writes member SEED of the seeded family of
 * random Gaussian mixtures (sgm_gmm_family, src/model/gmm_family.c) as the
 * JSON that `--data gmm:FILE.json` and `--model gmm:FILE.json` read.
 * Exit codes: 0 written; 2 bad input (options, unwritable output). */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "sgm/sgm_model.h"

static const cli_opt mixture_opts[] = {
    {"seed", "S", "0", "member of the family"},
    {"dim", "D", "2", "dimension (the test family uses 2, 8, 16)"},
    {"out", "FILE.json", NULL, "mixture to write"},
    {NULL, NULL, NULL, NULL}};

int cmd_mixture(int argc, char **argv) {
    cli_args a;
    const cli_opt *const tables[] = {mixture_opts, NULL};
    int r = cli_start(&a, "mixture", tables, argc, argv, "--seed S --dim D --out FILE.json");
    if (r == CLI_HELP) return 0;
    uint64_t seed = 0;
    int d = 2;
    if (r < 0 || cli_require(&a, "out") < 0 || cli_get_u64(&a, "seed", &seed) < 0 ||
        cli_get_int(&a, "dim", 1, 256, &d) < 0 || cli_check_out(&a, "out", cli_get(&a, "out")) < 0)
        return cli_error(&a, 2);
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
    printf("sgm mixture: %zu components in %d dimensions -> %s\n", sgm_gmm_components(g), d,
           cli_get(&a, "out"));
    sgm_gmm_free(g);
    return 0;
}
