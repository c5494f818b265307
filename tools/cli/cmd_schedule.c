/* cmd_schedule.c - `sgm schedule`: prints the points of a schedule, one line
 * each: index, process time t, VE sigma (sigma / alpha), alpha, separated by
 * tabs, %.17g (round-trips exactly). The process defaults to ve.
 * `sgm schedule --optimize ...` is the schedule optimiser (cmd_schedule_opt.c). */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"

static const cli_opt schedule_extra_opts[] = {
    {"sampler", "NAME", NULL, "sampler whose diffusers grid --grid auto follows"},
    {"optimize", NULL, NULL, "the schedule optimiser (options: sgm schedule --optimize --help)"},
    {NULL, NULL, NULL, NULL}};

int cmd_schedule(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--optimize") == 0) return cmd_schedule_optimize(argc, argv);
    cli_args a;
    memset(&a, 0, sizeof a);
    a.cmd = "schedule";
    cli_add_opts(&a, cli_schedule_opts);
    cli_add_opts(&a, cli_process_opts);
    cli_add_opts(&a, schedule_extra_opts);
    sgm_process *proc = NULL;
    sgm_schedule *sched = NULL;
    int rc = 2;
    if (cli_parse(&a, argc, argv) < 0) goto bad;
    if (a.help) {
        cli_usage(&a, stdout, "--schedule NAME --steps N [--process P ...]");
        rc = 0;
        goto done;
    }
    const char *method = cli_get(&a, "sampler");
    if (method && !sgm_method_find(method)) {
        cli_fail(&a, "unknown sampler '%s' (run `sgm list`)", method);
        goto bad;
    }
    if (cli_build_process(&a, "ve", &proc) < 0) goto bad;
    if (cli_build_schedule(&a, proc, method ? sgm_method_find(method)->name : NULL, &sched) < 0)
        goto bad;
    for (size_t i = 0; i < sched->n; i++)
        printf("%zu\t%.17g\t%.17g\t%.17g\n", i, sched->t[i], sched->sigma[i], sched->alpha[i]);
    rc = 0;
    goto done;
bad:
    fprintf(stderr, "sgm schedule: %s\n", a.err);
    rc = 2;
done:
    sgm_schedule_free(sched);
    sgm_process_free(proc);
    return rc;
}
