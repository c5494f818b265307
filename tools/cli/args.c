/* args.c - option parsing and the process / schedule options shared by the
 * `sgm` subcommands (see args.h). Values are parsed strictly: a number must
 * be consumed completely by strtod/strtol and be finite; enumerated names
 * are looked up in the library's name tables (cli_get_enum), the CLI's own
 * switches (--final, --grid, ...) in the tables below. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_check_out(cli_args *a, const char *opt, const char *path) {
    if (!*path) return cli_fail(a, "--%s: empty path", opt);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return cli_fail(a, "--%s %s: is a directory", opt, path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return cli_fail(a, "--%s %s: '%s' is not a folder", opt, path, dir);
    if (access(dir, W_OK) != 0)
        return cli_fail(a, "--%s %s: folder '%s' is not writable (%s)", opt, path, dir,
                        strerror(errno));
    /* access() says yes to root everywhere, and to folders where no file can
       be made (/proc): create and remove a probe file to be sure */
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.sgm-check.XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0)
        return cli_fail(a, "--%s %s: cannot create a file in folder '%s' (%s)", opt, path, dir,
                        strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

int cli_fail(cli_args *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    /* keep the message on one line */
    for (char *p = a->err; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return -1;
}

void cli_add_opts(cli_args *a, const cli_opt *table) {
    for (const cli_opt *o = table; o->name; o++)
        if (a->n_opts < CLI_MAX_OPTS) a->opts[a->n_opts++] = o;
}

static int find_opt(const cli_args *a, const char *name, size_t len) {
    for (size_t i = 0; i < a->n_opts; i++)
        if (strlen(a->opts[i]->name) == len && strncmp(a->opts[i]->name, name, len) == 0)
            return (int)i;
    return -1;
}

int cli_parse(cli_args *a, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == 0)
            return cli_fail(a, "unexpected argument '%s' (options are --name VALUE)", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int k = find_opt(a, name, len);
        if (k < 0)
            return cli_fail(a, "unknown option '--%.*s' (run `sgm %s --help`)", (int)len, name,
                            a->cmd);
        /* a repeated option: the last one wins (scripts can override defaults) */
        if (!a->opts[k]->meta) { /* switch: --flag or --flag=0/1 */
            a->val[k] = eq ? eq + 1 : "1";
            continue;
        }
        if (eq) {
            a->val[k] = eq + 1;
        } else {
            if (i + 1 >= argc)
                return cli_fail(a, "option --%s needs a value (%s)", a->opts[k]->name,
                                a->opts[k]->meta);
            a->val[k] = argv[++i];
        }
        if (a->val[k][0] == 0)
            return cli_fail(a, "option --%s has an empty value", a->opts[k]->name);
    }
    return 0;
}

/* the enum a help-text key "{KEY}" names (cli_enum_choices), -1 for none */
static int enum_of_key(const char *key, size_t len) {
    static const struct {
        const char *key;
        int e;
    } keys[] = {{"process", SGM_ENUM_PROCESS},   {"betas", SGM_ENUM_BETAS},
                {"interp", SGM_ENUM_INTERP},     {"schedule", SGM_ENUM_SCHEDULE},
                {"prediction", SGM_ENUM_PREDICTION}, {"param", SGM_ENUM_PARAM},
                {"weighting", SGM_ENUM_WEIGHTING}, {"tsampling", SGM_ENUM_TSAMPLING},
                {"arch", CLI_ENUM_ARCH},         {"datasets", CLI_ENUM_DATA}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].key) == len && strncmp(keys[i].key, key, len) == 0) return keys[i].e;
    return -1;
}

/* help text with every "{KEY}" replaced by the names of its enum */
static void print_help(FILE *f, const char *help) {
    for (const char *p = help; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        int e = close ? enum_of_key(p + 1, (size_t)(close - p - 1)) : -1;
        if (e < 0) {
            size_t len = strcspn(p + 1, "{") + 1;
            fprintf(f, "%.*s", (int)len, p);
            p += len;
            continue;
        }
        char list[512];
        fputs(cli_enum_choices(e, list, sizeof list), f);
        p = close + 1;
    }
}

void cli_usage(const cli_args *a, FILE *f, const char *synopsis) {
    fprintf(f, "usage: sgm %s %s\n\noptions:\n", a->cmd, synopsis);
    for (size_t i = 0; i < a->n_opts; i++) {
        const cli_opt *o = a->opts[i];
        char lhs[64];
        snprintf(lhs, sizeof lhs, "--%s%s%s", o->name, o->meta ? " " : "", o->meta ? o->meta : "");
        fprintf(f, "  %-30s ", lhs);
        print_help(f, o->help);
        if (o->dflt) fprintf(f, " [default: %s]", o->dflt);
        fputc('\n', f);
    }
}

int cli_start(cli_args *a, const char *cmd, const cli_opt *const *tables, int argc,
              char **argv, const char *synopsis) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    for (size_t i = 0; tables[i]; i++) cli_add_opts(a, tables[i]);
    if (cli_parse(a, argc, argv) < 0) return -1;
    if (!a->help) return CLI_PARSED;
    cli_usage(a, stdout, synopsis);
    return CLI_HELP;
}

int cli_error(const cli_args *a, int code) {
    fprintf(stderr, "sgm %s: %s\n", a->cmd, a->err[0] ? a->err : "failed");
    return code;
}

const char *cli_get(const cli_args *a, const char *name) {
    int k = find_opt(a, name, strlen(name));
    return k < 0 ? NULL : a->val[k];
}

int cli_has(const cli_args *a, const char *name) { return cli_get(a, name) != NULL; }

int cli_require(cli_args *a, const char *name) {
    if (!cli_has(a, name)) return cli_fail(a, "missing required option --%s", name);
    return 0;
}

int cli_get_double(cli_args *a, const char *name, double *out) {
    const char *v = cli_get(a, name);
    if (!v) return 0;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end != 0 || !isfinite(x) || errno == ERANGE)
        return cli_fail(a, "--%s: '%s' is not a finite number", name, v);
    *out = x;
    return 1;
}

static int parse_long(cli_args *a, const char *name, const char *v, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end != 0 || errno == ERANGE)
        return cli_fail(a, "--%s: '%s' is not an integer", name, v);
    *out = x;
    return 1;
}

int cli_get_int(cli_args *a, const char *name, long lo, long hi, int *out) {
    const char *v = cli_get(a, name);
    if (!v) return 0;
    long x = 0;
    if (parse_long(a, name, v, &x) < 0) return -1;
    if (x < lo || x > hi)
        return cli_fail(a, "--%s: %ld is out of range [%ld, %ld]", name, x, lo, hi);
    *out = (int)x;
    return 1;
}

int cli_get_u64(cli_args *a, const char *name, uint64_t *out) {
    const char *v = cli_get(a, name);
    if (!v) return 0;
    char *end;
    errno = 0;
    if (v[0] == '-') return cli_fail(a, "--%s: '%s' must be >= 0", name, v);
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end != 0 || errno == ERANGE)
        return cli_fail(a, "--%s: '%s' is not a non-negative integer", name, v);
    *out = (uint64_t)x;
    return 1;
}

int cli_get_size(cli_args *a, const char *name, size_t lo, size_t *out) {
    uint64_t x = 0;
    int r = cli_get_u64(a, name, &x);
    if (r <= 0) return r;
    if (x < lo) return cli_fail(a, "--%s: must be >= %zu (got %llu)", name, lo,
                                (unsigned long long)x);
    if (x > (uint64_t)SIZE_MAX / 64) return cli_fail(a, "--%s: value too large", name);
    *out = (size_t)x;
    return 1;
}

int cli_get_bool(cli_args *a, const char *name, int *out) {
    const char *v = cli_get(a, name);
    if (!v) return 0;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0) *out = 1;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0) *out = 0;
    else return cli_fail(a, "--%s: '%s' is not 0 or 1", name, v);
    return 1;
}

static int name_eq(const char *x, const char *y) {
    for (; *x && *y; x++, y++) {
        int cx = tolower((unsigned char)*x), cy = tolower((unsigned char)*y);
        if (cx == '-') cx = '_';
        if (cy == '-') cy = '_';
        if (cx != cy) return 0;
    }
    return *x == 0 && *y == 0;
}

static int unknown_value(cli_args *a, const char *name, const char *v, const char *list) {
    return cli_fail(a, "--%s: unknown value '%s' (expected %s)", name, v, list);
}

int cli_get_choice(cli_args *a, const char *name, const char *const *choices, int *out) {
    const char *v = cli_get(a, name);
    if (!v) return 0;
    for (int i = 0; choices[i]; i++)
        if (name_eq(v, choices[i])) {
            *out = i;
            return 1;
        }
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? "|" : "", choices[i]);
    }
    return unknown_value(a, name, v, list);
}

/* ---------------------------------------------------------------- enums --- */

/* the canonical name of value v of e; NULL past the end */
static const char *enum_name(int e, int v) {
    if (e == CLI_ENUM_ARCH) return v >= 0 && v < SGM_ARCH_COUNT ? sgm_arch_name((sgm_arch)v) : NULL;
    return sgm_enum_name((sgm_enum)e, v);
}

/* the explicit schedule lists have options of their own (--sigmas, --times) */
int cli_enum_listed(int e, int v) {
    return !(e == SGM_ENUM_SCHEDULE &&
             (v == SGM_SCHEDULE_USER_SIGMAS || v == SGM_SCHEDULE_USER_TIMES));
}

const char *cli_enum_choices(int e, char *buf, size_t len) {
    if (len == 0) return buf;
    if (e == CLI_ENUM_DATA) { /* "a,b,c" */
        snprintf(buf, len, "%s", sgm_data_builtin_names());
        for (char *p = buf; *p; p++)
            if (*p == ',') *p = '|';
        return buf;
    }
    if (e != CLI_ENUM_ARCH && e != SGM_ENUM_SCHEDULE) {
        sgm_enum_choices((sgm_enum)e, buf, len);
        return buf;
    }
    size_t n = 0;
    buf[0] = 0;
    for (int v = 0; enum_name(e, v); v++)
        if (cli_enum_listed(e, v) && n < len)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "|" : "", enum_name(e, v));
    return buf;
}

int cli_get_enum(cli_args *a, const char *name, int e, int *out) {
    const char *v = cli_get(a, name);
    if (!v) return 0;
    int x = 0;
    sgm_arch arch = SGM_ARCH_MLP;
    sgm_status st = e == CLI_ENUM_ARCH ? sgm_arch_from_name(v, &arch)
                                       : sgm_enum_parse((sgm_enum)e, v, &x);
    if (st == SGM_OK) {
        *out = e == CLI_ENUM_ARCH ? (int)arch : x;
        return 1;
    }
    char list[512];
    return unknown_value(a, name, v, cli_enum_choices(e, list, sizeof list));
}

/* ---------------------------------------------------------------- lists --- */

static int parse_numbers(cli_args *a, const char *name, const char *text, double **out,
                         size_t *n) {
    size_t cap = 16, m = 0;
    double *v = malloc(cap * sizeof *v);
    if (!v) return cli_fail(a, "out of memory");
    const char *p = text;
    for (;;) {
        while (*p && (isspace((unsigned char)*p) || *p == ',')) p++;
        if (!*p) break;
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x) || errno == ERANGE ||
            (*end && !isspace((unsigned char)*end) && *end != ',')) {
            free(v);
            return cli_fail(a, "--%s: value %zu of the list is not a finite number", name,
                            m + 1);
        }
        if (m == cap) {
            cap *= 2;
            double *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                return cli_fail(a, "out of memory");
            }
            v = nv;
        }
        v[m++] = x;
        p = end;
    }
    if (m == 0) {
        free(v);
        return cli_fail(a, "--%s: empty list", name);
    }
    *out = v;
    *n = m;
    return 1;
}

int cli_get_list(cli_args *a, const char *name, double **out, size_t *n) {
    const char *v = cli_get(a, name);
    if (!v) return 0;
    sgm_error err = {0};
    if (v[0] != '@') return parse_numbers(a, name, v, out, n);
    const char *path = v + 1;
    size_t pl = strlen(path);
    if (pl > 4 && strcmp(path + pl - 4, ".npy") == 0) {
        sgm_array arr = {0};
        if (sgm_npy_load(path, &arr, &err))
            return cli_fail(a, "--%s: %s", name, err.msg);
        if (arr.ndim != 1 || arr.count == 0) {
            sgm_array_free(&arr);
            return cli_fail(a, "--%s: %s must be a non-empty 1-D array", name, path);
        }
        *out = arr.data;
        *n = arr.count;
        return 1;
    }
    char *text = NULL;
    if (sgm_read_file(path, &text, NULL, &err)) return cli_fail(a, "--%s: %s", name, err.msg);
    int r = parse_numbers(a, name, text, out, n);
    free(text);
    return r;
}

/* -------------------------------------------------------------- process --- */

const cli_opt cli_process_opts[] = {
    {"process", "NAME", NULL, "{process} (see `sgm list`)"},
    {"sigma-min", "A", "0.002 (ve)", "ve: smallest sigma; other processes: schedule range"},
    {"sigma-max", "B", "80 (ve)", "ve: largest sigma; other processes: schedule range"},
    {"beta-0", "B0", "0.1", "vp / subvp: beta(0)"},
    {"beta-1", "B1", "20", "vp / subvp: beta(1)"},
    {"cosine-s", "S", "0.008", "vp-cosine: offset s"},
    {"betas", "KIND", "linear", "vp-discrete: {betas}"},
    {"beta-start", "B", "1e-4", "vp-discrete: first beta"},
    {"beta-end", "B", "0.02", "vp-discrete: last beta"},
    {"n-train", "N", "1000", "vp-discrete: number of training steps"},
    {"interp", "KIND", "log_alpha", "vp-discrete: {interp}"},
    {"rescale-zero-snr", NULL, "off", "vp-discrete: zero terminal SNR rescale"},
    {"t-eps", "T", "1e-3 (1/N discrete)", "smallest time of time schedules"},
    {"t-max", "T", "1 (ve: sigma-max)", "largest time of schedules"},
    {"mr-lambda", "L", "1", "mr: stationary std lambda (x_T ~ N(mu, lambda^2))"},
    {"mr-alpha-T", "A", "0.005", "mr: exp(-thetabar(1)), IR-SDE's eps"},
    {"mr-theta", "KIND", "cosine", "mr: theta schedule cosine|constant"},
    {NULL, NULL, NULL, NULL}};

int cli_build_process(cli_args *a, const char *default_kind, sgm_process **out) {
    *out = NULL;
    const char *kname = cli_get(a, "process");
    if (!kname) kname = default_kind;
    if (!kname) return cli_fail(a, "missing required option --process");
    sgm_process_kind kind;
    if (sgm_process_kind_from_name(kname, &kind))
        return cli_fail(a, "unknown process '%s' (run `sgm list`)", kname);
    sgm_process_config pc = sgm_process_config_default(kind);
    double smin = 0, smax = 0;
    if (cli_get_double(a, "sigma-min", &smin) < 0 || cli_get_double(a, "sigma-max", &smax) < 0)
        return -1;
    if (cli_has(a, "sigma-min") && !(smin > 0))
        return cli_fail(a, "--sigma-min must be > 0 (got %g)", smin);
    if (cli_has(a, "sigma-max") && !(smax > 0))
        return cli_fail(a, "--sigma-max must be > 0 (got %g)", smax);
    if (cli_has(a, "sigma-min") && cli_has(a, "sigma-max") && !(smin < smax))
        return cli_fail(a, "--sigma-min (%g) must be < --sigma-max (%g)", smin, smax);
    if (kind == SGM_PROCESS_VE) {
        if (cli_get_double(a, "sigma-min", &pc.sigma_min) < 0) return -1;
        if (cli_get_double(a, "sigma-max", &pc.sigma_max) < 0) return -1;
        pc.t_eps = pc.sigma_min;
        pc.t_max = pc.sigma_max;
    }
    if (cli_get_double(a, "beta-0", &pc.beta_0) < 0) return -1;
    if (cli_get_double(a, "beta-1", &pc.beta_1) < 0) return -1;
    if (cli_get_double(a, "cosine-s", &pc.cosine_s) < 0) return -1;
    int bi = (int)pc.betas;
    if (cli_get_enum(a, "betas", SGM_ENUM_BETAS, &bi) < 0) return -1;
    pc.betas = (sgm_beta_schedule)bi;
    if (cli_get_double(a, "beta-start", &pc.beta_start) < 0) return -1;
    if (cli_get_double(a, "beta-end", &pc.beta_end) < 0) return -1;
    if (cli_get_int(a, "n-train", 2, 1000000, &pc.n_train) < 0) return -1;
    int ii = (int)pc.interp;
    if (cli_get_enum(a, "interp", SGM_ENUM_INTERP, &ii) < 0) return -1;
    pc.interp = (sgm_vp_interp)ii;
    if (cli_get_bool(a, "rescale-zero-snr", &pc.rescale_zero_snr) < 0) return -1;
    if (cli_get_double(a, "t-eps", &pc.t_eps) < 0) return -1;
    if (cli_get_double(a, "t-max", &pc.t_max) < 0) return -1;
    if (kind != SGM_PROCESS_VP_DISCRETE &&
        (cli_has(a, "betas") || cli_has(a, "beta-start") || cli_has(a, "beta-end") ||
         cli_has(a, "n-train") || cli_has(a, "interp") || cli_has(a, "rescale-zero-snr")))
        return cli_fail(a, "--betas/--beta-start/--beta-end/--n-train/--interp/"
                           "--rescale-zero-snr apply to --process vp-discrete only");
    if (kind != SGM_PROCESS_VP_LINEAR && kind != SGM_PROCESS_SUBVP &&
        (cli_has(a, "beta-0") || cli_has(a, "beta-1")))
        return cli_fail(a, "--beta-0/--beta-1 apply to --process vp and subvp only");
    if (kind != SGM_PROCESS_MR &&
        (cli_has(a, "mr-lambda") || cli_has(a, "mr-alpha-T") || cli_has(a, "mr-theta")))
        return cli_fail(a, "--mr-lambda/--mr-alpha-T/--mr-theta apply to --process mr only");
    if (kind == SGM_PROCESS_MR) {
        static const char *const th[] = {"cosine", "constant", NULL};
        int ti = (int)pc.mr_theta;
        if (cli_get_double(a, "mr-lambda", &pc.mr_lambda) < 0 ||
            cli_get_double(a, "mr-alpha-T", &pc.mr_alpha_T) < 0 ||
            cli_get_choice(a, "mr-theta", th, &ti) < 0)
            return -1;
        pc.mr_theta = (sgm_mr_theta)ti;
        if (!(pc.mr_lambda > 0 && isfinite(pc.mr_lambda)))
            return cli_fail(a, "--mr-lambda must be finite and > 0 (got %g)", pc.mr_lambda);
        if (!(pc.mr_alpha_T > 0 && pc.mr_alpha_T < 1))
            return cli_fail(a, "--mr-alpha-T must be in (0, 1) (got %g)", pc.mr_alpha_T);
    }
    if (!(pc.t_eps >= 0 && pc.t_max > pc.t_eps))
        return cli_fail(a, "need 0 <= t-eps < t-max (got %g, %g)", pc.t_eps, pc.t_max);
    sgm_error err = {0};
    if (sgm_process_create(&pc, out, &err)) return cli_fail(a, "%s", err.msg);
    return 0;
}

/* ------------------------------------------------------------- schedule --- */

const cli_opt cli_schedule_opts[] = {
    {"schedule", "NAME", NULL, "{schedule} (see `sgm list`)"},
    {"steps", "N", NULL, "number of steps (points = steps + 1)"},
    {"rho", "R", "7 (karras), 1 (polyexponential)", "schedule exponent"},
    {"final", "KIND", "the schedule's own", "end point: zero|sigma_min|none"},
    {"steps-offset", "K", "0", "diffusers steps_offset (leading/trailing/linspace)"},
    {"grid", "KIND", "auto", "diffusers grid: auto|ddim|dpmsolver (auto: from the sampler)"},
    {"sigmas", "LIST|@FILE", NULL, "explicit decreasing VE sigmas (replaces --schedule)"},
    {"times", "LIST|@FILE", NULL, "explicit decreasing process times (replaces --schedule)"},
    {"beta-alpha", "A", "0.6", "beta schedule: Beta(alpha, beta) alpha (> 0)"},
    {"beta-beta", "B", "0.6", "beta schedule: Beta(alpha, beta) beta (> 0)"},
    {"ays-model", "NAME", "sd1 (ays), flux (optimal_steps)",
     "table of ays (sd1|sdxl|svd) or optimal_steps (flux|wan|chroma)"},
    {"flow-shift", "S", "1", "flow process: SD3 time shift t -> S t / (1 + (S - 1) t)"},
    {"flow-seq-len", "N", "0", "flow process: Flux resolution-dependent shift for N tokens"},
    {NULL, NULL, NULL, NULL}};

/* diffusers classes that use the DPMSolver-style grid (schedule.h: SGM_DGRID_DPMSOLVER) */
static int dpmsolver_grid(const char *method) {
    static const char *const m[] = {"dpm_solver", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde",
                                    "unipc",      "deis",     "sa_solver",    NULL};
    if (!method) return 0;
    for (int i = 0; m[i]; i++)
        if (name_eq(method, m[i])) return 1;
    return 0;
}

/* the ComfyUI kinds' parameters and the flow shift (checked by the library
 * too; named here so the error says which flag) */
static int cli_schedule_extras(cli_args *a, sgm_schedule_config *sc) {
    if (cli_get_double(a, "beta-alpha", &sc->beta_alpha) < 0) return -1;
    if (cli_get_double(a, "beta-beta", &sc->beta_beta) < 0) return -1;
    if (!(sc->beta_alpha > 0) || !(sc->beta_beta > 0))
        return cli_fail(a, "--beta-alpha and --beta-beta must be > 0 (got %g, %g)",
                        sc->beta_alpha, sc->beta_beta);
    if (cli_has(a, "ays-model")) {
        const char *m = cli_get(a, "ays-model");
        if (strlen(m) >= sizeof sc->table) return cli_fail(a, "unknown --ays-model '%s'", m);
        snprintf(sc->table, sizeof sc->table, "%s", m);
    }
    if (cli_get_double(a, "flow-shift", &sc->flow_shift) < 0) return -1;
    if (!(sc->flow_shift > 0)) return cli_fail(a, "--flow-shift must be > 0 (got %g)", sc->flow_shift);
    if (cli_get_int(a, "flow-seq-len", 0, 100000000, &sc->flow_shift_seq_len) < 0) return -1;
    return 0;
}

int cli_build_schedule(cli_args *a, const sgm_process *proc, const char *method,
                       sgm_schedule **out) {
    return cli_build_schedule_range(a, proc, method, 0, 0, out);
}

void cli_set_default(cli_args *a, const char *name, const char *v) {
    int k = find_opt(a, name, strlen(name));
    if (k >= 0 && !a->val[k]) a->val[k] = v;
}

int cli_build_schedule_range(cli_args *a, const sgm_process *proc, const char *method,
                             double sigma_min, double sigma_max, sgm_schedule **out) {
    *out = NULL;
    int has_sig = cli_has(a, "sigmas"), has_t = cli_has(a, "times"), has_k = cli_has(a, "schedule");
    if (has_sig + has_t + has_k > 1)
        return cli_fail(a, "give only one of --schedule, --sigmas, --times");
    if (!has_sig && !has_t && !has_k)
        return cli_fail(a, "missing required option --schedule (or --sigmas / --times)");
    sgm_schedule_kind kind;
    double *user = NULL;
    size_t n_user = 0;
    if (has_k) {
        const char *kn = cli_get(a, "schedule");
        if (sgm_schedule_kind_from_name(kn, &kind))
            return cli_fail(a, "unknown schedule '%s' (run `sgm list`)", kn);
        if (kind == SGM_SCHEDULE_USER_SIGMAS || kind == SGM_SCHEDULE_USER_TIMES)
            return cli_fail(a, "--schedule %s: give the values with --sigmas / --times", kn);
    } else {
        kind = has_sig ? SGM_SCHEDULE_USER_SIGMAS : SGM_SCHEDULE_USER_TIMES;
        if (cli_get_list(a, has_sig ? "sigmas" : "times", &user, &n_user) < 0) return -1;
    }
    sgm_schedule_config sc = sgm_schedule_config_default(kind);
    sc.user = user;
    sc.n_user = n_user;
    int rc = -1;
    if (has_k) {
        if (cli_require(a, "steps") < 0) goto done;
        if (cli_get_int(a, "steps", LONG_MIN, 10000000, &sc.steps) < 0) goto done;
        if (sc.steps < 1) {
            cli_fail(a, "--steps must be >= 1 (got %d)", sc.steps);
            goto done;
        }
    } else if (cli_has(a, "steps")) {
        cli_fail(a, "--steps is implied by the length of --%s", has_sig ? "sigmas" : "times");
        goto done;
    }
    if (sigma_min > 0) sc.sigma_min = sigma_min;
    if (sigma_max > 0) sc.sigma_max = sigma_max;
    if (cli_get_double(a, "sigma-min", &sc.sigma_min) < 0) goto done;
    if (cli_get_double(a, "sigma-max", &sc.sigma_max) < 0) goto done;
    if (cli_has(a, "sigma-min") && !(sc.sigma_min > 0)) {
        cli_fail(a, "--sigma-min must be > 0 (got %g)", sc.sigma_min);
        goto done;
    }
    if (cli_has(a, "sigma-min") && cli_has(a, "sigma-max") && !(sc.sigma_min < sc.sigma_max)) {
        cli_fail(a, "--sigma-min (%g) must be < --sigma-max (%g)", sc.sigma_min, sc.sigma_max);
        goto done;
    }
    if (cli_get_double(a, "rho", &sc.rho) < 0) goto done;
    static const char *const finals[] = {"default", "zero", "sigma_min", "none", NULL};
    int fi = 0;
    if (cli_get_choice(a, "final", finals, &fi) < 0) goto done;
    sc.final_point = (sgm_final)fi;
    if (cli_get_int(a, "steps-offset", 0, 1000000, &sc.steps_offset) < 0) goto done;
    static const char *const grids[] = {"auto", "ddim", "dpmsolver", NULL};
    int gi = 0;
    if (cli_get_choice(a, "grid", grids, &gi) < 0) goto done;
    if (gi == 0) sc.grid = dpmsolver_grid(method) ? SGM_DGRID_DPMSOLVER : SGM_DGRID_DDIM;
    else sc.grid = gi == 1 ? SGM_DGRID_DDIM : SGM_DGRID_DPMSOLVER;
    if (cli_schedule_extras(a, &sc) < 0) goto done;
    sgm_error err = {0};
    if (sgm_schedule_create(&sc, proc, out, &err)) {
        cli_fail(a, "%s", err.msg);
        goto done;
    }
    rc = 0;
done:
    free(user);
    return rc;
}
