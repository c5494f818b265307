/* cli.h - the subcommands of `sgm`, one file each (cmd_*.c). Each returns
 * the process exit code: 0 success, 2 bad input / usage, 1 runtime failure. */
#ifndef SGM_CLI_H
#define SGM_CLI_H

#include <stddef.h>

int cmd_sample(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_nll(int argc, char **argv);
int cmd_encode(int argc, char **argv);
/* cmd_nll.c: the shared driver of `nll` (encode = 0) and `encode` (1). */
int cli_likelihood_main(int argc, char **argv, int encode);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_invert(int argc, char **argv);
int cmd_mixture(int argc, char **argv);
int cmd_dpmv3(int argc, char **argv);
/* cmd_dpmv3.c: reads an EMS file [4, K, d] into out (views into arr, which
 * the caller frees); -1 with a->err set on bad input. */
struct cli_args;
struct sgm_array;
struct sgm_dpmv3_ems;
int cli_ems_load(struct cli_args *a, const char *path, size_t d, struct sgm_array *arr,
                 struct sgm_dpmv3_ems *out);
/* cmd_schedule_opt.c: `sgm schedule --optimize` */
int cmd_schedule_optimize(int argc, char **argv);

#endif
