/* main.c - the `sgm` command: dispatches to one file per subcommand. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "sgm.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
    int sharded; /* runs as P processes under mpirun (dist.h) */
} commands[] = {
    {"sample", cmd_sample, "draw samples with any process, parameterization and sampler", 1},
    {"schedule", cmd_schedule, "print the sigmas / times of a schedule", 0},
    {"list", cmd_list, "list processes, samplers and schedules", 0},
    {"eval", cmd_eval, "sample-quality metrics between two sets and against a mixture", 1},
    {"nll", cmd_nll, "log-likelihood (nats, bits/dim) through the probability-flow ODE", 1},
    {"encode", cmd_encode, "x_0 -> x_T along the probability-flow ODE", 1},
    {"train", cmd_train, "train a score network (mlp) by denoising score matching", 1},
    {"bench", cmd_bench, "NFE-vs-error benchmark of samplers x schedules (CSV + log-log PNG)", 1},
    {"restore", cmd_restore,
     "posterior sampling for y = A(x) + noise: dps, pigdm, replace, repaint, reddiff", 0},
    {"edit", cmd_edit, "SDEdit / img2img: noise rows to a strength, sample them back", 0},
    {"invert", cmd_invert,
     "data -> latent by DDIM / DPM-Solver++ / exactly reversible inversion", 0},
    {"demo", cmd_demo, "train the mlp on a 2-D set, sample with dpmpp_2m, write a PNG + report", 0},
    {"mixture", cmd_mixture,
     "write a member of the seeded family of random Gaussian mixtures (JSON)", 0},
    {"dpmv3-calibrate", cmd_dpmv3,
     "DPM-Solver-v3 statistics (EMS) of a model, for sample --sampler dpm_solver_v3 --ems", 0},
};

/* Runs command i, as one of the P processes of `mpirun -np P` when started
 * so (dist.h): only train, sample, nll, encode, eval and bench share their
 * work (docs/scaling.md). */
static int run_command(size_t i, int argc, char **argv) {
    cli_dist_init(&argc, &argv);
    int code;
    if (cli_dist_size() > 1 && !commands[i].sharded) {
        fprintf(stderr, "sgm %s: cannot run as %d MPI processes (only train, sample, nll, "
                        "encode, eval and bench are sharded); run it without mpirun\n",
                commands[i].name, cli_dist_size());
        code = 2;
    } else {
        code = commands[i].fn(argc - 1, argv + 1);
    }
    cli_dist_finalize();
    return code;
}

static void usage(FILE *f) {
    fprintf(f, "sgm %s - score-based generative models\n\nusage: sgm <command> [options]\n\n",
            SGM_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].help);
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
        if (strcmp(argv[1], commands[i].name) == 0) return run_command(i, argc, argv);
    fprintf(stderr, "sgm: unknown command '%s' (run `sgm --help`)\n", argv[1]);
    return 2;
}
