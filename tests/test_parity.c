/* test_parity.c - acceptance 1 of the sampler core: every reference case
 * copied from ../shared/reference (k-diffusion, DPM-Solver, diffusers, ComfyUI) is run
 * through `sgm-refcase CASE_DIR OUT.npy --check`, which applies the README's
 * criterion (all finite, max|out - ref| <= 1e-4 max|ref|). Prints the pass
 * count per implementation; fails if any case fails or cannot be run.
 * SGM_PARITY_FILTER=substring restricts the cases (for development). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_util.h"

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    char root[4096], tool[4096], out[4096];
    tu_src("tests/data/reference/cases", root, sizeof root);
    tu_bin("sgm-refcase", tool, sizeof tool);
    tu_bin("parity_out.npy", out, sizeof out);
    const char *filter = getenv("SGM_PARITY_FILTER");
    const char *impls[] = {"k-diffusion", "dpm-solver", "diffusers", "comfyui"};
    int total_fail = 0;
    for (int k = 0; k < 4; k++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", root, impls[k]);
        DIR *d = opendir(dir);
        CHECK(d != NULL, "cannot open %s", dir);
        if (!d) continue;
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            if (filter && !strstr(e->d_name, filter)) continue;
            /* case folders only (comfyui/ also holds the cases' SUMMARY.md) */
            char sub[4600];
            struct stat sb;
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            if (stat(sub, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                names = realloc(names, cap * sizeof *names);
            }
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, cmp);
        int pass = 0, fail = 0;
        for (size_t i = 0; i < n; i++) {
            char cmd[16384];
            snprintf(cmd, sizeof cmd, "'%s' '%s/%s' '%s' --check 2>&1", tool, dir, names[i], out);
            FILE *p = popen(cmd, "r");
            char line[1024] = "";
            char all[4096] = "";
            while (p && fgets(line, sizeof line, p))
                if (strlen(all) + strlen(line) < sizeof all) strcat(all, line);
            int rc = p ? pclose(p) : -1;
            if (rc == 0 && strncmp(all, "PASS", 4) == 0) {
                pass++;
            } else {
                fail++;
                if (fail <= 40) fprintf(stderr, "  %s/%s: %s", impls[k], names[i], all);
            }
            free(names[i]);
        }
        free(names);
        printf("parity %-12s %d/%d cases pass\n", impls[k], pass, pass + fail);
        CHECK(fail == 0, "%s: %d cases fail", impls[k], fail);
        CHECK(filter || pass > 0, "%s: no cases found", impls[k]);
        total_fail += fail;
    }
    (void)total_fail;
    remove(out);
    TEST_MAIN_END();
}
