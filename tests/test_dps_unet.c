/* test_dps_unet.c - the network denoiser's vjp reuses the activations that a
 * denoiser call at the same query left on the net (src/model/net_model_grad.c;
 * issue 9, acceptance 5: a DPS step is one forward and one backward). A tiny
 * untrained U-Net (1 x 8 x 8, EDM preconditioning, so that c_skip enters the
 * vjp) loaded at max_batch 2, queries of 3 rows (two chunks):
 *  - reference: the vjp right after a denoiser call at another point (no
 *    reuse possible: 4 net calls, forward + backward per chunk);
 *  - after a denoiser call at the same query: the same bits, out and vjp, in
 *    3 net calls (the last chunk's forward is reused);
 *  - after a denoiser call and then a foreign forward on the net
 *    (sgm_model_net): the same bits again, in 4 calls (no stale reuse);
 *  - DPS (sgm_posterior_run, ddpm, mask operator, 2 rows, 3 steps): 2 net
 *    calls per step, and the result equals, bit for bit, the result of a run
 *    whose denoiser spoils every reuse with a foreign forward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net_internal.h"
#include "sgm/sgm_guidance.h"
#include "test_unet_util.h"
#include "test_util.h"

#define HW 8
#define D (HW * HW)
#define N 3

static sgm_model *load_tiny(void) {
    char path[] = "/tmp/test_dps_unet_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    close(fd);
    sgm_train_config c = tu_tiny_unet_config(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EDM, HW, 0);
    double x[4 * D];
    int lab[4];
    tu_bar_images(x, lab, 4, HW);
    sgm_error e = {0};
    sgm_trainer *t = NULL;
    sgm_model *m = NULL;
    if (sgm_trainer_create(&c, x, 4, D, &t, &e) || sgm_trainer_save(t, path, &e) ||
        sgm_model_load(path, 1, 2, &m, &e))
        fprintf(stderr, "tiny U-Net: %s\n", e.msg);
    sgm_trainer_free(t);
    unlink(path);
    return m;
}

/* a denoiser that spoils the reuse: the model's answer, then a forward of
 * other rows on its net */
typedef struct spoil {
    sgm_model *m;
} spoil;

static int spoil_fn(const sgm_eval *q, void *out, void *ud) {
    sgm_model *m = ((spoil *)ud)->m;
    sgm_denoiser den = sgm_model_denoiser(m);
    int rc = den.fn(q, out, den.user_data);
    float x[D] = {0}, o[D], c = 0.5f;
    if (!rc && sgm_net_forward(sgm_model_net(m), o, x, &c, NULL, 1, NULL) != SGM_OK) rc = 1;
    return rc;
}

static void test_vjp_reuse(sgm_model *m, const sgm_process *proc) {
    sgm_denoiser den = sgm_model_denoiser(m);
    sgm_denoiser_grad gr = sgm_model_denoiser_grad(m);
    sgm_net *net = sgm_model_net(m);
    static double x[N * D], x2[N * D], v[N * D], tmp[N * D];
    static double out_ref[N * D], vj_ref[N * D], out[N * D], vj[N * D];
    sgm_rng_normal_rows_f64(1, 0, 0, N, D, x);
    sgm_rng_normal_rows_f64(2, 0, 0, N, D, x2);
    sgm_rng_normal_rows_f64(3, 0, 0, N, D, v);
    sgm_eval q, q2;
    memset(&q, 0, sizeof q);
    q.n = N, q.d = D, q.dtype = SGM_F64, q.x = x;
    q.t = 0.4 * sgm_process_t_max(proc);
    q.alpha = sgm_process_alpha(proc, q.t), q.sigma = sgm_process_sigma(proc, q.t);
    q2 = q, q2.x = x2;
    /* reference: nothing to reuse */
    CHECK(den.fn(&q2, tmp, den.user_data) == 0, "denoiser at x2");
    unsigned long long c0 = sgm__net_calls(net);
    CHECK(gr.vjp(&q, v, out_ref, vj_ref, gr.user_data) == 0, "vjp (reference)");
    CHECK(sgm__net_calls(net) - c0 == 4, "no reuse: forward + backward per chunk (%llu calls)",
          sgm__net_calls(net) - c0);
    /* reuse after a denoiser call at the same query */
    CHECK(den.fn(&q, tmp, den.user_data) == 0, "denoiser at x");
    c0 = sgm__net_calls(net);
    CHECK(gr.vjp(&q, v, out, vj, gr.user_data) == 0, "vjp (reuse)");
    CHECK(sgm__net_calls(net) - c0 == 3, "reuse: the last chunk's forward is skipped (%llu calls)",
          sgm__net_calls(net) - c0);
    CHECK(memcmp(out, out_ref, sizeof out) == 0 && memcmp(vj, vj_ref, sizeof vj) == 0,
          "reused activations give the same bits");
    /* a foreign forward in between: no stale reuse */
    CHECK(den.fn(&q, tmp, den.user_data) == 0, "denoiser at x");
    float fx[D] = {0}, fo[D], fc = 0.5f;
    CHECK(sgm_net_forward(net, fo, fx, &fc, NULL, 1, NULL) == SGM_OK, "foreign forward");
    c0 = sgm__net_calls(net);
    CHECK(gr.vjp(&q, v, out, vj, gr.user_data) == 0, "vjp (after a foreign call)");
    CHECK(sgm__net_calls(net) - c0 == 4, "stale activations are not reused (%llu calls)",
          sgm__net_calls(net) - c0);
    CHECK(memcmp(out, out_ref, sizeof out) == 0 && memcmp(vj, vj_ref, sizeof vj) == 0,
          "recomputed after a foreign call: the same bits");
}

static void test_dps(sgm_model *m, const sgm_process *proc) {
    enum { R = 2, S = 3 };
    sgm_error e = {0};
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_TIME_UNIFORM);
    sc.steps = S;
    sgm_schedule *sched = NULL;
    CHECK(sgm_schedule_create(&sc, proc, &sched, &e) == SGM_OK, "schedule: %s", e.msg);
    double mask[D], y[D];
    for (int i = 0; i < D; i++) mask[i] = i < D / 2, y[i] = 0.1 * (i % 5) - 0.2;
    sgm_operator_config oc = sgm_operator_config_default(SGM_OP_MASK);
    oc.c = 1, oc.h = HW, oc.w = HW, oc.mask = mask;
    sgm_operator *op = NULL;
    CHECK(sgm_operator_create(&oc, &op, &e) == SGM_OK, "operator: %s", e.msg);
    sgm_sampler_config cfg;
    sgm_sampler_config_default("ddpm", &cfg, &e);
    sgm_posterior_config pc = sgm_posterior_config_default(SGM_POST_DPS);
    sgm_denoiser_grad gr = sgm_model_denoiser_grad(m);
    spoil sp = {m};
    sgm_denoiser dens[2] = {sgm_model_denoiser(m), {spoil_fn, &sp, sgm_model_denoiser(m).prediction}};
    static double x[2][R * D];
    unsigned long long calls[2];
    for (int k = 0; k < 2 && sched && op; k++) {
        sgm_rng rng = sgm_rng_init(4);
        sgm_rng_normal_rows_f64(5, 0, 0, R, D, x[k]);
        sgm_posterior_stats st = {0};
        unsigned long long c0 = sgm__net_calls(sgm_model_net(m));
        CHECK(sgm_posterior_run(&pc, &cfg, proc, sched, &dens[k], &gr, op, y, &rng, 0, R, x[k],
                                &st, &e) == SGM_OK,
              "dps: %s", e.msg);
        calls[k] = sgm__net_calls(sgm_model_net(m)) - c0;
        CHECK(st.nfe == S && st.nvjp == S, "dps: %zu network evaluations, %zu vjps", st.nfe,
              st.nvjp);
    }
    printf("dps, %d steps: %llu net calls (forward + backward), %llu when every reuse is "
           "spoiled (+1 foreign forward per step)\n",
           S, calls[0], calls[1]);
    CHECK(calls[0] == 2 * S, "dps: one forward and one backward per step (%llu calls)", calls[0]);
    CHECK(calls[1] == 4 * S, "spoiled dps: forward, foreign forward, forward, backward per step");
    CHECK(memcmp(x[0], x[1], sizeof x[0]) == 0, "dps: reuse does not change a bit of the result");
    sgm_operator_free(op);
    sgm_schedule_free(sched);
}

int main(void) {
    sgm_model *m = load_tiny();
    CHECK(m != NULL, "tiny U-Net loads");
    if (!m) TEST_MAIN_END();
    sgm_process *proc = NULL;
    sgm_error e = {0};
    CHECK(sgm_process_create(sgm_model_process_config(m), &proc, &e) == SGM_OK, "process");
    if (proc) {
        test_vjp_reuse(m, proc);
        test_dps(m, proc);
    }
    sgm_process_free(proc);
    sgm_model_free(m);
    TEST_MAIN_END();
}
