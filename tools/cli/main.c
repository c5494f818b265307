/* main.c - the `sgm` command: dispatches to one file per subcommand. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sgm.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"sample", cmd_sample, "draw samples with any process, parameterization and sampler"},
    {"schedule", cmd_schedule, "print the sigmas / times of a schedule"},
    {"list", cmd_list, "list processes, samplers and schedules"},
    {"eval", cmd_eval, "sample-quality metrics between two sets and against a mixture"},
    {"nll", cmd_nll, "log-likelihood (nats, bits/dim) through the probability-flow ODE"},
    {"encode", cmd_encode, "x_0 -> x_T along the probability-flow ODE"},
    {"train", cmd_train, "train a score network (mlp) by denoising score matching"},
    {"bench", cmd_bench, "NFE-vs-error benchmark of samplers x schedules (CSV + log-log PNG)"},
    {"demo", cmd_demo, "train the mlp on a 2-D set, sample with dpmpp_2m, write a PNG + report"},
    {"mixture", cmd_mixture, "write a member of the seeded family of random Gaussian mixtures (JSON)"},
};

static void usage(FILE *f) {
    fprintf(f, "sgm %s - score-based generative models\n\nusage: sgm <command> [options]\n\n",
            SGM_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nRun `sgm <command> --help` for the options of a command.\n");
}

int main(int argc, char **argv) {
    /* past a file-size limit (ulimit -f) a write fails with EFBIG, which the
       atomic writer reports (and cleans up after), instead of killing us */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("sgm %s\n", SGM_VERSION_STRING);
        printf("convolutions: %s\n", sgm_nn_conv2d_have_dnnl() ? "oneDNN" : "im2col + GEMM (no oneDNN)");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "sgm: unknown command '%s' (run `sgm --help`)\n", argv[1]);
    return 2;
}
