/* fuzz_sigmas.c - the CLI's value lists (--sigmas / --times: "a,b,c" or
 * @FILE, text or a 1-D .npy; tools/cli/args.c cli_get_list), then the
 * library's check of the list as an explicit schedule (cli_build_schedule).
 * The first byte picks the option and the form, the rest is the list. */
#include "fuzz_util.h"
#include "args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int mode = data[0] % 3, times = (data[0] >> 2) & 1;
    data++;
    size--;
    char *value;
    if (mode == 0) {
        value = fuzz_cstring(data, size);
    } else {
        const char *path = fuzz_write_input(data, size, mode == 1 ? ".txt" : ".npy");
        value = malloc(strlen(path) + 2);
        if (!value) abort();
        value[0] = '@';
        strcpy(value + 1, path);
    }
    const char *opt = times ? "--times" : "--sigmas";
    char *argv[] = {(char *)"schedule", (char *)opt, value, NULL};
    static const cli_opt *const tables[] = {cli_process_opts, cli_schedule_opts, NULL};
    cli_args a;
    memset(&a, 0, sizeof a);
    a.cmd = "schedule";
    for (size_t i = 0; tables[i]; i++) cli_add_opts(&a, tables[i]);
    if (cli_parse(&a, 3, argv) == 0) {
        double *v = NULL;
        size_t n = 0;
        if (cli_get_list(&a, opt + 2, &v, &n) == 1) {
            volatile double s = 0;
            for (size_t i = 0; i < n; i++) s += v[i];
            (void)s;
            free(v);
            /* the same list through the schedule the CLI builds from it */
            sgm_process *proc = NULL;
            if (cli_build_process(&a, "ve", &proc) == 0) {
                sgm_schedule *sched = NULL;
                (void)cli_build_schedule(&a, proc, NULL, &sched);
                sgm_schedule_free(sched);
            }
            sgm_process_free(proc);
        }
    }
    free(value);
    return 0;
}
