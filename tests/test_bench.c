/* test_bench.c - the NFE-vs-error benchmark runner (sgm_bench.h) on the 2-D
 * ring mixture with a small grid: row layout, honest NFE accounting (the
 * NFE used never exceeds the budget; 2-evaluation-per-step heun gets half
 * the steps), errors decreasing with NFE for euler and heun, NaN errors for
 * stochastic samplers, the CSV (header, one line per row, atomic write) and
 * the PNG (signature and IHDR size), and bad configurations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgm.h"
#include "sgm/sgm_bench.h"
#include "sgm/sgm_plot.h"
#include "test_util.h"

/* LeakSanitizer: fontconfig (used by cairo's text) keeps a process-wide
 * cache that it never frees; not a leak of sgm. Only read under ASan. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig\n"; }

static const sgm_bench_row *find(const sgm_bench_result *r, const char *sampler, int budget) {
    for (size_t i = 0; i < r->n_rows; i++)
        if (strcmp(r->rows[i].sampler, sampler) == 0 && r->rows[i].nfe_budget == budget)
            return &r->rows[i];
    return NULL;
}

static unsigned long be32(const unsigned char *p) {
    return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) |
           ((unsigned long)p[2] << 8) | p[3];
}

int main(void) {
    char path[4096], csv[4096], png[4096];
    sgm_error err = {0};
    sgm_gmm *g = NULL;
    CHECK(sgm_gmm_load(tu_src("tests/data/models/gmm2d.json", path, sizeof path), &g, &err) ==
              SGM_OK,
          "load: %s", err.msg);
    sgm_process_config pc = sgm_process_config_default(SGM_PROCESS_VE);
    sgm_process *proc = NULL;
    CHECK(sgm_process_create(&pc, &proc, &err) == SGM_OK, "process: %s", err.msg);
    if (!g || !proc) TEST_MAIN_END();

    const char *samplers[] = {"euler", "heun", "euler_a", "rk45"};
    const int nfe[] = {5, 10, 20, 40};
    sgm_bench_config cfg;
    sgm_bench_config_default(&cfg);
    cfg.proc = proc;
    cfg.gmm = g;
    cfg.samplers = samplers;
    cfg.n_samplers = 4;
    cfg.nfe = nfe;
    cfg.n_nfe = 4;
    cfg.n = 64; /* small: the test checks structure and monotonicity, not metric values */
    cfg.seed = 5;
    cfg.n_projections = 64;
    sgm_bench_result res = {0};
    CHECK(sgm_bench_run(&cfg, &res, &err) == SGM_OK, "run: %s", err.msg);
    /* default schedule (karras): 2 baselines + 4 samplers x 4 budgets */
    CHECK(res.n_rows == 2 + 4 * 4, "rows %zu", res.n_rows);
    CHECK(res.n == 64 && res.d == 2, "n %zu d %zu", res.n, res.d);
    CHECK(res.n_rows > 1 && strcmp(res.rows[0].sampler, "exact") == 0 &&
              strcmp(res.rows[1].sampler, "reference") == 0,
          "baseline rows first");
    for (size_t i = 0; i < res.n_rows; i++) {
        const sgm_bench_row *w = &res.rows[i];
        CHECK(strcmp(w->schedule, "karras") == 0, "schedule %s", w->schedule);
        if (w->nfe_budget && w->status == SGM_OK)
            CHECK(w->nfe <= (size_t)w->nfe_budget, "%s: nfe %zu > budget %d", w->sampler,
                  w->nfe, w->nfe_budget);
    }
    /* NFE accounting: euler 1 evaluation per step, heun 2 (no final Euler step:
       the schedules end at sigma_min) */
    for (int b = 0; b < 4; b++) {
        const sgm_bench_row *e = find(&res, "euler", nfe[b]), *h = find(&res, "heun", nfe[b]);
        CHECK(e && e->status == SGM_OK && e->steps == nfe[b] && e->nfe == (size_t)nfe[b],
              "euler at %d", nfe[b]);
        CHECK(h && h->status == SGM_OK && h->steps == nfe[b] / 2 &&
                  h->nfe == (size_t)(2 * (nfe[b] / 2)),
              "heun at %d: steps %d nfe %zu", nfe[b], h ? h->steps : -1, h ? h->nfe : 0);
        const sgm_bench_row *a = find(&res, "euler_a", nfe[b]);
        CHECK(a && a->status == SGM_OK && a->stochastic && isnan(a->err_rms) && isfinite(a->sw2),
              "euler_a at %d: no ODE error, metrics present", nfe[b]);
    }
    /* errors decrease with NFE (first order: roughly halves per doubling; the
       test only asks for a strict decrease, which any convergent method meets
       on this range) */
    for (int b = 1; b < 4; b++) {
        const sgm_bench_row *e0 = find(&res, "euler", nfe[b - 1]), *e1 = find(&res, "euler", nfe[b]);
        const sgm_bench_row *h0 = find(&res, "heun", nfe[b - 1]), *h1 = find(&res, "heun", nfe[b]);
        if (e0 && e1) CHECK(e1->err_rms < e0->err_rms, "euler %d: %g >= %g", nfe[b], e1->err_rms, e0->err_rms);
        if (h0 && h1) CHECK(h1->err_rms < h0->err_rms, "heun %d: %g >= %g", nfe[b], h1->err_rms, h0->err_rms);
    }
    /* heun at 40 NFE beats euler at 40 NFE (second vs first order) */
    const sgm_bench_row *e40 = find(&res, "euler", 40), *h40 = find(&res, "heun", 40);
    if (e40 && h40) CHECK(h40->err_rms < e40->err_rms, "heun %g vs euler %g", h40->err_rms, e40->err_rms);
    /* rk45 needs 6+ evaluations per step: budget 5 is reported, not failed */
    const sgm_bench_row *r5 = find(&res, "rk45", 5);
    CHECK(r5 && r5->status == SGM_ERR_UNSUPPORTED && r5->msg[0], "rk45 at 5 NFE");
    long best = sgm_bench_best_error(&res, 40);
    CHECK(best >= 0 && !res.rows[best].stochastic && isfinite(res.rows[best].err_rms),
          "best at 40");

    /* CSV */
    tu_bin("test_bench_out.csv", csv, sizeof csv);
    unlink(csv);
    CHECK(sgm_bench_write_csv(&res, csv, &err) == SGM_OK, "csv: %s", err.msg);
    FILE *f = fopen(csv, "r");
    CHECK(f != NULL, "csv exists");
    if (f) {
        char line[1024];
        size_t n_lines = 0;
        int header_ok = 0, euler10 = 0;
        while (fgets(line, sizeof line, f)) {
            if (n_lines == 0) header_ok = strncmp(line, "sampler,schedule,stochastic,", 28) == 0;
            if (strncmp(line, "euler,karras,0,0,10,10,,10,", 27) == 0) euler10 = 1;
            n_lines++;
        }
        fclose(f);
        CHECK(header_ok, "csv header");
        CHECK(n_lines == res.n_rows + 1, "csv lines %zu", n_lines);
        CHECK(euler10, "csv euler row at 10 NFE");
    }
    /* atomic: a failing write leaves nothing */
    CHECK(sgm_bench_write_csv(&res, "/nonexistent-dir/x.csv", &err) == SGM_ERR_IO, "csv io");
    CHECK(access("/nonexistent-dir/x.csv", F_OK) != 0, "no partial csv");

    /* PNG */
    tu_bin("test_bench_out.png", png, sizeof png);
    unlink(png);
    if (sgm_plot_available()) {
        CHECK(sgm_bench_plot(&res, png, "test", &err) == SGM_OK, "plot: %s", err.msg);
        unsigned char hdr[24] = {0};
        f = fopen(png, "rb");
        CHECK(f != NULL, "png exists");
        if (f) {
            CHECK(fread(hdr, 1, 24, f) == 24, "png header");
            fclose(f);
        }
        static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        CHECK(memcmp(hdr, sig, 8) == 0 && memcmp(hdr + 12, "IHDR", 4) == 0, "png signature");
        CHECK(be32(hdr + 16) >= 200 && be32(hdr + 20) >= 150, "png size %lux%lu",
              be32(hdr + 16), be32(hdr + 20));
    } else {
        CHECK(sgm_bench_plot(&res, png, "test", &err) == SGM_ERR_UNSUPPORTED, "no cairo");
    }
    sgm_bench_result_free(&res);

    /* bad configurations: an error, nothing allocated */
    sgm_bench_config bad = cfg;
    const char *unknown[] = {"euler", "no_such_sampler"};
    bad.samplers = unknown;
    bad.n_samplers = 2;
    res.rows = NULL;
    CHECK(sgm_bench_run(&bad, &res, &err) == SGM_ERR_UNKNOWN_NAME && strstr(err.msg, "no_such"),
          "unknown sampler: %s", err.msg);
    CHECK(res.rows == NULL, "nothing allocated");
    bad = cfg;
    const int zero[] = {10, 0};
    bad.nfe = zero;
    bad.n_nfe = 2;
    CHECK(sgm_bench_run(&bad, &res, &err) == SGM_ERR_INVALID_ARG, "budget 0");
    bad = cfg;
    bad.n = 1;
    CHECK(sgm_bench_run(&bad, &res, &err) == SGM_ERR_INVALID_ARG, "n = 1");
    bad = cfg;
    bad.gmm = NULL;
    CHECK(sgm_bench_run(&bad, &res, &err) == SGM_ERR_INVALID_ARG, "no model");
    bad = cfg;
    bad.n_nfe = 0;
    CHECK(sgm_bench_run(&bad, &res, &err) == SGM_ERR_INVALID_ARG, "empty budgets");

    sgm_process_free(proc);
    sgm_gmm_free(g);
    TEST_MAIN_END();
}
