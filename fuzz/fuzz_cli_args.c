/* fuzz_cli_args.c - the CLI's option parser (tools/cli/args.c) on an argv
 * split from the input at newlines and NUL bytes: cli_parse over the shared
 * process / schedule tables plus one option of each typed getter, then every
 * getter, and cli_build_process / cli_build_schedule when the values parse.
 * No command runs; nothing is written. */
#include <limits.h>

#include "fuzz_util.h"
#include "args.h"

#define MAX_ARGS 64

static const cli_opt extra_opts[] = {
    {"n", "N", "1000", "size"},
    {"seed", "S", "0", "u64"},
    {"threads", "N", "0", "int"},
    {"eta", "E", "0", "double"},
    {"ema", "B", "on", "bool"},
    {"param", "KIND", "eps", "{param}"},
    {"weighting", "KIND", "uniform", "{weighting}"},
    {"tsampling", "KIND", "lognormal", "{tsampling}"},
    {"prediction", "KIND", "eps", "{prediction}"},
    {"method", "NAME", NULL, "sampler"},
    {"mode", "KIND", "a", "a|b|c"},
    {"verbose", NULL, "off", "switch"},
    {"json", NULL, "off", "switch"},
    {NULL, NULL, NULL, NULL}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = fuzz_cstring(data, size);
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = (char *)"fuzz";
    char *p = buf, *end = buf + size;
    while (p <= end && argc < MAX_ARGS) {
        char *q = p;
        while (q < end && *q != '\n' && *q != 0) q++;
        *q = 0;
        argv[argc++] = p;
        p = q + 1;
    }
    argv[argc] = NULL;

    static const cli_opt *const tables[] = {cli_process_opts, cli_schedule_opts, extra_opts,
                                            NULL};
    cli_args a;
    memset(&a, 0, sizeof a);
    a.cmd = "fuzz";
    for (size_t i = 0; tables[i]; i++) cli_add_opts(&a, tables[i]);
    if (cli_parse(&a, argc, argv) == 0) {
        for (size_t i = 0; i < a.n_opts; i++) (void)cli_get(&a, a.opts[i]->name);
        size_t n;
        uint64_t seed;
        int ival, b, choice, e;
        double x;
        (void)cli_get_size(&a, "n", 1, &n);
        (void)cli_get_u64(&a, "seed", &seed);
        (void)cli_get_int(&a, "threads", INT_MIN, INT_MAX, &ival);
        (void)cli_get_double(&a, "eta", &x);
        (void)cli_get_bool(&a, "ema", &b);
        (void)cli_get_bool(&a, "verbose", &b);
        (void)cli_get_enum(&a, "param", SGM_ENUM_PARAM, &e);
        (void)cli_get_enum(&a, "weighting", SGM_ENUM_WEIGHTING, &e);
        (void)cli_get_enum(&a, "tsampling", SGM_ENUM_TSAMPLING, &e);
        (void)cli_get_enum(&a, "prediction", SGM_ENUM_PREDICTION, &e);
        static const char *const modes[] = {"a", "b", "c", NULL};
        (void)cli_get_choice(&a, "mode", modes, &choice);
        (void)cli_require(&a, "method");
        /* the builders, where the sizes keep a run short: the library
           allows 1e6 training steps and 1e7 schedule steps */
        /* @FILE lists are fuzz_sigmas' job; here they could name /dev/zero */
        const char *sig = cli_get(&a, "sigmas"), *tim = cli_get(&a, "times");
        int files = (sig && sig[0] == '@') || (tim && tim[0] == '@');
        int steps = 0, ntrain = 0;
        if (!files && cli_get_int(&a, "steps", INT_MIN, INT_MAX, &steps) >= 0 && steps <= 4096 &&
            cli_get_int(&a, "n-train", INT_MIN, INT_MAX, &ntrain) >= 0 && ntrain <= 4096) {
            sgm_process *proc = NULL;
            if (cli_build_process(&a, "ve", &proc) == 0) {
                sgm_schedule *sched = NULL;
                (void)cli_build_schedule(&a, proc, cli_get(&a, "method"), &sched);
                sgm_schedule_free(sched);
            }
            sgm_process_free(proc);
        }
    }
    free(buf);
    return 0;
}
