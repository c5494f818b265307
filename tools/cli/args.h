/* args.h - option parsing shared by the `sgm` subcommands.
 *
 * Each subcommand declares a table of long options (--name VALUE, --name=VALUE,
 * or a bare --name for switches). cli_parse() rejects unknown options, missing
 * values and repeated options; the typed getters reject values that do not
 * parse completely (no silent clamps). Every failure leaves a one-line message
 * in args->err and makes the caller return exit code 2.
 *
 * The process / schedule options are shared by `sample` and `schedule`:
 * cli_build_process() and cli_build_schedule() turn them into the library's
 * config structs and objects.
 */
#ifndef SGM_CLI_ARGS_H
#define SGM_CLI_ARGS_H

#include <stddef.h>
#include <stdio.h>

#include "sgm.h"

#define CLI_MAX_OPTS 96

typedef struct cli_opt {
    const char *name;  /* without the leading "--" */
    const char *meta;  /* value placeholder; NULL for a switch */
    const char *dflt;  /* default shown in --help (NULL: none) */
    const char *help;
} cli_opt;

typedef struct cli_args {
    const char *cmd;              /* "sample", "schedule", ... (for messages) */
    const cli_opt *opts[CLI_MAX_OPTS];
    size_t n_opts;
    const char *val[CLI_MAX_OPTS]; /* NULL when not given; "1" for a given switch */
    int help;                      /* --help / -h seen */
    char err[512];                 /* one-line message on failure */
} cli_args;

/* Appends a table of options (terminated by an entry with name NULL). */
void cli_add_opts(cli_args *a, const cli_opt *table);
/* Parses argv[1..argc-1]; returns 0 on success, -1 on error (a->err set). */
int cli_parse(cli_args *a, int argc, char **argv);
/* Prints the usage text of every registered option, with defaults. */
void cli_usage(const cli_args *a, FILE *f, const char *synopsis);

/* The raw value of an option (NULL if not given). */
const char *cli_get(const cli_args *a, const char *name);
int cli_has(const cli_args *a, const char *name);
/* Sets a->err (printf-style) and returns -1. */
int cli_fail(cli_args *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* An output path given as --opt: its folder must exist and be writable and
 * it must not be a folder; 0, or -1 with a message naming --opt. */
int cli_check_out(cli_args *a, const char *opt, const char *path);
/* Typed getters: 0 if absent (out untouched), 1 if parsed, -1 on a bad value. */
int cli_get_double(cli_args *a, const char *name, double *out);
int cli_get_int(cli_args *a, const char *name, long lo, long hi, int *out);
int cli_get_u64(cli_args *a, const char *name, uint64_t *out);
int cli_get_size(cli_args *a, const char *name, size_t lo, size_t *out);
int cli_get_bool(cli_args *a, const char *name, int *out);
/* Requires the option; -1 with "missing required option --name" otherwise. */
int cli_require(cli_args *a, const char *name);
/* Picks one of a NULL-terminated list of names; returns its index, or -1. */
int cli_get_choice(cli_args *a, const char *name, const char *const *choices, int *out);

/* Enumerated options take their names from the library's one name table per
 * enum (sgm_core.h, "enum names"; the architectures from sgm_net.h), never
 * from a copy here. e is an sgm_enum, CLI_ENUM_ARCH, or CLI_ENUM_DATA (the
 * built-in data sets, sgm_data_builtin_names; help text only). */
#define CLI_ENUM_ARCH SGM_ENUM_COUNT
#define CLI_ENUM_DATA (SGM_ENUM_COUNT + 1)
/* Parses --name through the table of e (canonical names and aliases): 0 if
 * absent (out untouched), 1 if parsed, -1 on an unknown name with
 * "--name: unknown value 'V' (expected a|b|c)". */
int cli_get_enum(cli_args *a, const char *name, int e, int *out);
/* "a|b|c": the canonical names of e in value order (sgm_enum_choices); for
 * schedules without the explicit lists, which --sigmas / --times give.
 * Returns buf. In help text (cli_opt.help) "{KEY}" stands for this list,
 * KEY one of process, betas, interp, schedule, prediction, param,
 * weighting, tsampling, arch, datasets. */
const char *cli_enum_choices(int e, char *buf, size_t len);
/* Whether value v of e is among those choices (all but the explicit
 * schedule lists). */
int cli_enum_listed(int e, int v);

/* Return values of cli_start() and the subcommands' parse_*_args(): 0 go
 * on, 1 --help was printed (exit 0), -1 bad input (a->err set, exit 2). */
enum { CLI_PARSED = 0, CLI_HELP = 1 };
/* The start of a subcommand: a is cleared and set up for `sgm CMD` with the
 * option tables (a NULL-terminated list), argv is parsed, and --help prints
 * the usage with the synopsis. CLI_PARSED, CLI_HELP or -1 (a->err set). */
int cli_start(cli_args *a, const char *cmd, const cli_opt *const *tables, int argc,
              char **argv, const char *synopsis);
/* "sgm CMD: ERR" (a->err, or "failed" when empty) on stderr; returns code. */
int cli_error(const cli_args *a, int code);

/* Parses a value list "a,b,c" or "@FILE" (text numbers separated by commas or
 * white space, or a 1-D .npy when FILE ends in .npy). Caller frees *out. */
int cli_get_list(cli_args *a, const char *name, double **out, size_t *n);

/* Shared option tables. */
extern const cli_opt cli_process_opts[];
extern const cli_opt cli_schedule_opts[];

/* Builds the process from --process and its options (required unless
 * default_kind is given, e.g. "ve"). Returns 0 or -1 (a->err set). */
int cli_build_process(cli_args *a, const char *default_kind, sgm_process **out);
/* Builds the schedule from --schedule / --sigmas / --times and options.
 * method (may be NULL) picks the diffusers grid when --grid is auto. */
int cli_build_schedule(cli_args *a, const sgm_process *proc, const char *method,
                       sgm_schedule **out);
/* The same with a default VE sigma range for when --sigma-min / --sigma-max
 * are not given (0: the schedule's own): a checkpoint's recorded range. */
int cli_build_schedule_range(cli_args *a, const sgm_process *proc, const char *method,
                             double sigma_min, double sigma_max, sgm_schedule **out);
/* Gives option `name` the value v when it was not given (v must outlive a). */
void cli_set_default(cli_args *a, const char *name, const char *v);

/* Monotonic seconds. */
double cli_now(void);

#endif
