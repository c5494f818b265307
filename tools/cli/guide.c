/* guide.c - the guidance and thresholding options (guide.h): parse, check,
 * and wrap the model's denoiser with sgm_cfg / sgm_threshold (sgm_edit.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "guide.h"

const cli_opt cli_guide_opts[] = {
    {"guidance-scale", "G", NULL,
     "classifier-free guidance, diffusers convention D_u + G (D_c - D_u) (G = 1 + W)"},
    {"guidance-rescale", "P", "0", "guidance rescale phi in [0, 1] (Lin et al. 2023)"},
    {"guidance-interval", "A,B", "0,inf", "guide only for VE sigma in [A, B]"},
    {"cfg-sequential", NULL, NULL, "two network calls per step instead of one batched call"},
    {"cfgpp", NULL, NULL, "CFG++ re-noising (euler, euler_a, dpmpp_2m)"},
    {"threshold", "KIND", "none", "data-prediction threshold: none|clip|dynamic"},
    {"threshold-percentile", "P", "0.995", "dynamic thresholding quantile in (0, 1]"},
    {"threshold-max", "M", "1", "clip bound / dynamic floor (> 0)"},
    {NULL, NULL, NULL, NULL}};

static int parse_interval(cli_args *a, sgm_cfg_config *c) {
    const char *v = cli_get(a, "guidance-interval");
    if (!v) return 0;
    char *e;
    double lo = strtod(v, &e), hi;
    if (e == v || *e != ',') return cli_fail(a, "--guidance-interval %s: expected A,B", v);
    const char *p = e + 1;
    hi = strtod(p, &e);
    if (e == p || *e || !(lo >= 0) || !(hi >= lo))
        return cli_fail(a, "--guidance-interval %s: expected 0 <= A <= B", v);
    c->interval_lo = lo, c->interval_hi = hi;
    return 0;
}

static int cfgpp_method(cli_args *a, sgm_sampler_config *sc) {
    static const char *const pairs[][2] = {
        {"euler", "euler_cfgpp"}, {"euler_a", "euler_a_cfgpp"}, {"dpmpp_2m", "dpmpp_2m_cfgpp"}};
    const sgm_method_info *mi = sgm_method_find(sc->method);
    for (size_t i = 0; mi && i < 3; i++) {
        if (strcmp(mi->name, pairs[i][1]) == 0) return 0;
        if (strcmp(mi->name, pairs[i][0]) == 0) {
            snprintf(sc->method, sizeof sc->method, "%s", pairs[i][1]);
            return 0;
        }
    }
    return cli_fail(a, "--cfgpp works with the samplers euler, euler_a and dpmpp_2m (not %s)",
                    sc->method);
}

static int parse_threshold(cli_args *a, sgm_threshold_config *t) {
    *t = sgm_threshold_config_default();
    static const char *const kinds[] = {"none", "clip", "dynamic", NULL};
    int k = 0;
    if (cli_get_choice(a, "threshold", kinds, &k) < 0) return -1;
    t->kind = (sgm_threshold_kind)k;
    if (cli_get_double(a, "threshold-percentile", &t->percentile) < 0 ||
        cli_get_double(a, "threshold-max", &t->max_value) < 0)
        return -1;
    if (!(t->percentile > 0 && t->percentile <= 1))
        return cli_fail(a, "--threshold-percentile %g is outside (0, 1]", t->percentile);
    if (!(t->max_value > 0) || !isfinite(t->max_value))
        return cli_fail(a, "--threshold-max %g must be finite and > 0", t->max_value);
    return 0;
}

int cli_guide_parse(cli_args *a, cli_guide *g, sgm_sampler_config *sc) {
    memset(g, 0, sizeof *g);
    g->cfg = sgm_cfg_config_default();
    int has_w = cli_has(a, "guidance"), has_g = cli_has(a, "guidance-scale");
    if (has_w && has_g) return cli_fail(a, "give --guidance W or --guidance-scale G, not both");
    g->guided = has_w || has_g;
    if (has_g) g->cfg.convention = SGM_CFG_SCALE;
    if (cli_get_double(a, has_g ? "guidance-scale" : "guidance", &g->cfg.scale) < 0) return -1;
    if (!(g->cfg.scale >= 0) || !isfinite(g->cfg.scale))
        return cli_fail(a, "--%s %g: the guidance scale must be finite and >= 0",
                        has_g ? "guidance-scale" : "guidance", g->cfg.scale);
    if (cli_get_double(a, "guidance-rescale", &g->cfg.rescale) < 0) return -1;
    if (!(g->cfg.rescale >= 0 && g->cfg.rescale <= 1))
        return cli_fail(a, "--guidance-rescale %g is outside [0, 1]", g->cfg.rescale);
    if (parse_interval(a, &g->cfg) < 0) return -1;
    g->cfg.batched = !cli_has(a, "cfg-sequential");
    g->cfgpp = cli_has(a, "cfgpp");
    g->extended = has_g || cli_has(a, "guidance-rescale") || cli_has(a, "guidance-interval") ||
                  !g->cfg.batched || g->cfgpp;
    if (g->extended && !g->guided)
        return cli_fail(a, "--guidance-rescale / --guidance-interval / --cfg-sequential / "
                           "--cfgpp need --guidance W or --guidance-scale G");
    if (g->cfgpp && cfgpp_method(a, sc) < 0) return -1;
    return parse_threshold(a, &g->thr);
}

int cli_guide_uses_wrapper(const cli_guide *g, const cli_model *m) {
    return m->gmm ? 1 : g->extended;
}

int cli_guide_build(cli_args *a, const cli_guide *g, cli_model *m, const int *labels,
                    size_t count, const sgm_process *proc, sgm_sampler *smp, sgm_denoiser *den,
                    cli_guided *out) {
    memset(out, 0, sizeof *out);
    sgm_error err = {0};
    if (labels && cli_guide_uses_wrapper(g, m)) {
        sgm_cond_denoiser cond =
            m->gmm ? sgm_gmm_cond_denoiser(m->gmm) : sgm_model_cond_denoiser(m->net);
        if (sgm_cfg_create(&g->cfg, &cond, labels, count, &out->cfg, &err))
            return cli_fail(a, "%s", err.msg);
        *den = sgm_cfg_denoiser(out->cfg);
        if (g->cfgpp) {
            sgm_denoiser u = sgm_cfg_unguided(out->cfg);
            if (sgm_sampler_set_unguided(smp, &u, &err)) return cli_fail(a, "%s", err.msg);
        }
    }
    if (g->thr.kind != SGM_THRESH_NONE) {
        if (sgm_threshold_create(&g->thr, den, proc, &out->thr, &err))
            return cli_fail(a, "%s", err.msg);
        *den = sgm_threshold_denoiser(out->thr);
    }
    return 0;
}

void cli_guided_report(const cli_guided *g, FILE *f) {
    if (!g->cfg) return;
    sgm_cfg_stats s;
    sgm_cfg_get_stats(g->cfg, &s);
    fprintf(f, "guidance: %zu denoiser queries, %zu guided, %zu network calls (%zu rows)\n",
            s.queries, s.guided, s.net_calls, s.net_rows);
}

void cli_guided_free(cli_guided *g) {
    sgm_cfg_free(g->cfg);
    sgm_threshold_free(g->thr);
    memset(g, 0, sizeof *g);
}
