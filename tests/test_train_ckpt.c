/* test_train_ckpt.c - training and checkpoints (sgm_train.h, sgm_ckpt.h):
 * every process x parameterization x weighting x t-density trains with a
 * finite loss; a run of 2N steps equals N steps + save + resume + N steps bit
 * for bit (params, EMA, Adam moments); checkpoint writes leave no temporary
 * file and a failed write keeps the previous file; truncated / corrupt files
 * and a network for another data width fail with clear errors; a diverging
 * run reports SGM_ERR_NONFINITE; the loss decreases on moons; the network
 * denoiser loads the EMA weights and answers at sigma = 0. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sgm/sgm_ckpt.h"
#include "sgm/sgm_train.h"
#include "sgm/sgm_model.h"
#include "sgm/sgm_io.h"
#include "sgm/sgm_data.h"
#include "test_util.h"

static sgm_train_config tiny(sgm_process_kind k, sgm_param p) {
    sgm_train_config c = sgm_train_config_default(k, p);
    c.net.mlp.width = 32, c.net.mlp.n_blocks = 1, c.net.mlp.d_emb = 16, c.batch = 64, c.warmup = 5, c.seed = 7;
    return c;
}

static double *moons(size_t n) {
    double *x = NULL;
    sgm_error e;
    CHECK(sgm_data_builtin("moons", n, 3, &x, &e) == SGM_OK, "moons");
    return x;
}

static int run(sgm_trainer *t, int n) {
    sgm_error e;
    double l;
    for (int i = 0; i < n; i++)
        if (sgm_trainer_step(t, &l, &e) != SGM_OK || !isfinite(l)) return 0;
    return 1;
}

static int same_tensors(const char *a, const char *b) {
    sgm_safetensors A, B;
    sgm_error e;
    if (sgm_st_load(a, &A, &e) || sgm_st_load(b, &B, &e)) return 0;
    int ok = A.n_tensors == B.n_tensors && A.n_tensors > 0;
    for (size_t i = 0; ok && i < A.n_tensors; i++) {
        const sgm_st_tensor *u = &A.tensors[i], *v = sgm_st_find(&B, u->name);
        size_t c = 1;
        for (int j = 0; j < u->ndim; j++) c *= u->shape[j];
        ok = v && v->dtype == u->dtype && memcmp(u->data, v->data, c * sgm_st_dtype_size(u->dtype)) == 0;
    }
    ok = ok && strcmp(sgm_st_meta(&A, "step"), sgm_st_meta(&B, "step")) == 0 &&
         strcmp(sgm_st_meta(&A, "ema_loss"), sgm_st_meta(&B, "ema_loss")) == 0;
    sgm_st_free(&A), sgm_st_free(&B);
    return ok;
}

/* the atomic writer's temporary files (sgm_io.h) */
static int tmp_files_in(const char *dir) { return tu_count_files(dir, ".sgm-tmp."); }

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

int main(void) {
    const size_t N = 2000;
    double *x = moons(N);
    sgm_error e;
    char dir[] = "/tmp/sgm_train_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char pa[256], pb[256], pc[256];
    snprintf(pa, sizeof pa, "%s/a.safetensors", dir);
    snprintf(pb, sizeof pb, "%s/b.safetensors", dir);
    snprintf(pc, sizeof pc, "%s/c.safetensors", dir);

    /* data: every built-in set is finite, seeded, and of plausible spread */
    {
        const char *names[] = {"moons", "swissroll", "checkerboard", "8gaussians", "rings",
                               "pinwheel"};
        for (int i = 0; i < 6; i++) {
            double *a = NULL, *b = NULL, m[2], sd[2];
            CHECK(sgm_data_builtin(names[i], 1000, 5, &a, &e) == SGM_OK, "%s", names[i]);
            CHECK(sgm_data_builtin(names[i], 1000, 5, &b, &e) == SGM_OK, "%s again", names[i]);
            int fin = 1;
            for (int j = 0; a && j < 2000; j++) fin &= isfinite(a[j]);
            CHECK(a && b && fin && memcmp(a, b, 2000 * sizeof *a) == 0, "%s: finite, seeded",
                  names[i]);
            if (a) sgm_data_stats(a, 1000, 2, m, sd);
            /* every set lives within a few units of the origin with unit-order spread */
            CHECK(a && fabs(m[0]) < 3 && fabs(m[1]) < 3 && sd[0] > 0.2 && sd[0] < 6 && sd[1] > 0.1 &&
                      sd[1] < 6,
                  "%s: mean (%g, %g) std (%g, %g)", names[i], m[0], m[1], sd[0], sd[1]);
            free(a), free(b);
        }
        double *a = NULL;
        CHECK(sgm_data_builtin("spirals3", 10, 0, &a, &e) == SGM_ERR_UNKNOWN_NAME && !a,
              "unknown set");
        char csv[256];
        snprintf(csv, sizeof csv, "%s/t.csv", dir);
        FILE *f = fopen(csv, "w");
        fputs("x,y,z\n1,2,3\n4, 5 ,6\n\n7,8,9.5\n", f);
        fclose(f);
        size_t r, cc;
        CHECK(sgm_data_load(csv, 0, 0, &a, &r, &cc, &e) == SGM_OK && r == 3 && cc == 3 &&
                  a[8] == 9.5 && a[4] == 5,
              "csv with header: %s", e.msg);
        free(a);
        f = fopen(csv, "w");
        fputs("1,2\n3\n", f);
        fclose(f);
        CHECK(sgm_data_load(csv, 0, 0, &a, &r, &cc, &e) == SGM_ERR_FORMAT, "ragged csv: %s", e.msg);
        remove(csv);
        double col[4] = {1, 1, 1, 1}, mm, ss;
        sgm_data_stats(col, 4, 1, &mm, &ss);
        CHECK(mm == 1 && ss == 1, "constant column gets std 1");
    }

    /* the identity behind importance sampling: g^2 / sigma^2 = -2 d lambda / dt */
    {
        const sgm_process_kind ks[] = {SGM_PROCESS_VE, SGM_PROCESS_VP_LINEAR, SGM_PROCESS_VP_COSINE,
                                       SGM_PROCESS_VP_DISCRETE, SGM_PROCESS_SUBVP, SGM_PROCESS_FLOW};
        const double ts[] = {0.01345, 0.10055, 0.37045, 0.62015, 0.90075}; /* off the
                                                discrete table grid (n+1)/1000 */
        for (int k = 0; k < 6; k++) {
            sgm_process_config pcf = sgm_process_config_default(ks[k]);
            sgm_process *p = NULL;
            CHECK(sgm_process_create(&pcf, &p, &e) == SGM_OK, "process");
            double worst = 0, worst_g2 = 0;
            for (int i = 0; p && i < 5; i++) {
                double t = ts[i], h = 1e-5 * t, s = sgm_process_sigma(p, t);
                double rhs = -(sgm_process_lambda(p, t + h) - sgm_process_lambda(p, t - h)) / h;
                /* the density importance sampling divides by */
                double q = 2 * (sgm_process_dsigma(p, t) / s -
                                sgm_process_dalpha(p, t) / sgm_process_alpha(p, t));
                worst = fmax(worst, fabs(q - rhs) / fabs(rhs));
                worst_g2 = fmax(worst_g2, fabs(sgm_process_g2(p, t) / (s * s) - rhs) / fabs(rhs));
            }
            if (ks[k] != SGM_PROCESS_VP_DISCRETE) /* its g2 comes from the beta table itself */
                CHECK(worst_g2 < 1e-5, "%s: g2/sigma^2 = -2 dlambda/dt, rel %g",
                      sgm_process_kind_name(ks[k]), worst_g2);
            /* central difference with h = 1e-5 t: truncation ~1e-10, rounding
               ~1e-16 / 1e-5 relative; 1e-5 leaves room for the discrete table's
               piecewise-linear kinks (none of the t above sits on one) */
            CHECK(worst < 1e-5, "%s: 2 (sigma'/sigma - alpha'/alpha) = -2 dlambda/dt, rel %g",
                  sgm_process_kind_name(ks[k]), worst);
            sgm_process_free(p);
        }
    }

    /* every process x parameterization, and each weighting / density */
    const sgm_process_kind kinds[] = {SGM_PROCESS_VE, SGM_PROCESS_VP_LINEAR, SGM_PROCESS_VP_COSINE,
                                      SGM_PROCESS_VP_DISCRETE, SGM_PROCESS_SUBVP, SGM_PROCESS_FLOW};
    for (int k = 0; k < 6; k++)
        for (int p = 0; p < 5; p++)
            for (int w = 0; w < 4; w++) {
                sgm_train_config c = tiny(kinds[k], (sgm_param)p);
                c.weighting = (sgm_weighting)w;
                c.tsampling = (sgm_tsampling)((k + p + w) % 3);
                sgm_trainer *t = NULL;
                sgm_status rc = sgm_trainer_create(&c, x, N, 2, &t, &e);
                CHECK(rc == SGM_OK && run(t, 3), "train %s/%s/%s/%s: %s",
                      sgm_process_kind_name(kinds[k]), sgm_param_name((sgm_param)p),
                      sgm_weighting_name(c.weighting), sgm_tsampling_name(c.tsampling),
                      rc ? e.msg : "non-finite loss");
                sgm_trainer_free(t);
            }

    /* resume equality: 2N == N + save + resume + N, bitwise */
    const sgm_param rp[] = {SGM_PARAM_EPS, SGM_PARAM_EDM};
    const sgm_process_kind rk[] = {SGM_PROCESS_VP_LINEAR, SGM_PROCESS_VE};
    for (int r = 0; r < 2; r++) {
        sgm_train_config c = tiny(rk[r], rp[r]);
        c.lr_min = 1e-4, c.lr_total = 40; /* exercise the cosine schedule across the cut */
        c.tsampling = r ? SGM_TS_LOGNORMAL : SGM_TS_IMPORTANCE;
        c.weighting = r ? SGM_WEIGHT_EDM : SGM_WEIGHT_LIKELIHOOD;
        sgm_trainer *t = NULL;
        CHECK(sgm_trainer_create(&c, x, N, 2, &t, &e) == SGM_OK, "create");
        CHECK(run(t, 40), "run 40");
        CHECK(sgm_trainer_save(t, pa, &e) == SGM_OK, "save a: %s", e.msg);
        sgm_trainer_free(t);
        CHECK(sgm_trainer_create(&c, x, N, 2, &t, &e) == SGM_OK, "create");
        CHECK(run(t, 20), "run 20");
        CHECK(sgm_trainer_save(t, pb, &e) == SGM_OK, "save b");
        sgm_trainer_free(t);
        t = NULL;
        CHECK(sgm_trainer_resume(pb, x, N, 2, &t, &e) == SGM_OK, "resume: %s", e.msg);
        CHECK(t && sgm_trainer_steps_done(t) == 20, "resumed step");
        CHECK(t && run(t, 20), "run 20 more");
        if (t) CHECK(sgm_trainer_save(t, pb, &e) == SGM_OK, "save b2");
        sgm_trainer_free(t);
        CHECK(same_tensors(pa, pb), "resume %d: 40 steps == 20 + resume + 20, bitwise", r);
    }
    CHECK(tmp_files_in(dir) == 0, "no temporary files left by saves");

    /* atomic: a failed save keeps the previous file */
    {
        sgm_safetensors A;
        CHECK(sgm_st_load(pa, &A, &e) == SGM_OK, "load");
        sgm_st_tensor bad = A.tensors[0];
        bad.dtype = (sgm_st_dtype)99;
        FILE *f = fopen(pa, "rb");
        fseek(f, 0, SEEK_END);
        long before = ftell(f);
        fclose(f);
        CHECK(sgm_st_save(pa, &bad, 1, NULL, NULL, 0, &e) != SGM_OK, "bad tensor refused");
        char nodir[300];
        snprintf(nodir, sizeof nodir, "%s/missing/x.safetensors", dir);
        CHECK(sgm_st_save(nodir, A.tensors, 1, NULL, NULL, 0, &e) == SGM_ERR_IO,
              "unwritable path: I/O error");
        f = fopen(pa, "rb");
        fseek(f, 0, SEEK_END);
        CHECK(ftell(f) == before, "previous file intact");
        fclose(f);
        sgm_st_free(&A);
        CHECK(tmp_files_in(dir) == 0, "no temporary files after failed saves");
    }

    /* corrupt and truncated checkpoints */
    {
        char *buf = NULL;
        FILE *f = fopen(pa, "rb");
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)n);
        CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n, "read");
        fclose(f);
        sgm_trainer *t = NULL;
        sgm_model *net = NULL;
        write_bytes(pc, buf, (size_t)n - 100); /* truncated data */
        CHECK(sgm_trainer_resume(pc, x, N, 2, &t, &e) == SGM_ERR_FORMAT && !t, "truncated: %s",
              e.msg);
        CHECK(sgm_model_load(pc, 1, 0, &net, &e) == SGM_ERR_FORMAT && !net, "truncated net");
        write_bytes(pc, buf, 5); /* shorter than the length prefix */
        CHECK(sgm_trainer_resume(pc, x, N, 2, &t, &e) == SGM_ERR_FORMAT, "5 bytes");
        char *c2 = malloc((size_t)n);
        memcpy(c2, buf, (size_t)n);
        c2[7] = 0x40; /* absurd header length */
        write_bytes(pc, c2, (size_t)n);
        CHECK(sgm_trainer_resume(pc, x, N, 2, &t, &e) == SGM_ERR_FORMAT, "header length: %s", e.msg);
        memcpy(c2, buf, (size_t)n);
        c2[9] = '#'; /* broken JSON */
        write_bytes(pc, c2, (size_t)n);
        CHECK(sgm_trainer_resume(pc, x, N, 2, &t, &e) == SGM_ERR_FORMAT, "json: %s", e.msg);
        memcpy(c2, buf, (size_t)n);
        char *dof = strstr(c2 + 8, "\"data_offsets\":[0,");
        CHECK(dof != NULL, "offsets found");
        if (dof) dof[16] = '4'; /* [0,.. -> [4,..: overlap / size mismatch */
        write_bytes(pc, c2, (size_t)n);
        CHECK(sgm_trainer_resume(pc, x, N, 2, &t, &e) == SGM_ERR_FORMAT, "offsets: %s", e.msg);
        write_bytes(pc, "not a checkpoint at all", 23);
        CHECK(sgm_model_load(pc, 1, 0, &net, &e) == SGM_ERR_FORMAT, "garbage");
        free(c2);
        free(buf);
        /* a network for 2-D data against 3-column data */
        double *x3 = calloc(30, sizeof *x3);
        CHECK(sgm_trainer_resume(pa, x3, 10, 3, &t, &e) == SGM_ERR_SHAPE && !t, "wrong width: %s",
              e.msg);
        free(x3);
    }

    /* divergence: absurd learning rate -> SGM_ERR_NONFINITE */
    {
        sgm_train_config c = tiny(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS);
        c.lr = 1e30, c.warmup = 0, c.clip = 0;
        sgm_trainer *t = NULL;
        CHECK(sgm_trainer_create(&c, x, N, 2, &t, &e) == SGM_OK, "create");
        sgm_status rc = SGM_OK;
        double l;
        for (int i = 0; i < 50 && rc == SGM_OK; i++) rc = sgm_trainer_step(t, &l, &e);
        CHECK(rc == SGM_ERR_NONFINITE, "diverging run stops with NONFINITE (%s)", e.msg);
        sgm_trainer_free(t);
    }

    /* the loss decreases on moons */
    {
        sgm_train_config c = tiny(SGM_PROCESS_VP_LINEAR, SGM_PARAM_EPS);
        c.net.mlp.width = 64, c.batch = 256;
        c.tsampling = SGM_TS_UNIFORM; /* the eps loss at uniform t has a clear floor well below 1 */
        sgm_trainer *t = NULL;
        CHECK(sgm_trainer_create(&c, x, N, 2, &t, &e) == SGM_OK, "create");
        double first = 0, l;
        for (int i = 0; i < 300; i++) {
            sgm_trainer_step(t, &l, &e);
            if (i == 0) first = l;
        }
        /* eps-MSE starts near 1 (an untrained net outputs ~0); a learned
           denoiser of a 2-D set with clear structure gets well below 0.8 */
        CHECK(first > 0.8 && sgm_trainer_ema_loss(t) < 0.8 * first, "loss %g -> ema %g", first,
              sgm_trainer_ema_loss(t));
        sgm_trainer_free(t);
    }

    /* the network denoiser */
    {
        sgm_model *net = NULL;
        CHECK(sgm_model_load(pa, 1, 16, &net, &e) == SGM_OK, "net load: %s", e.msg);
        if (net) {
            sgm_denoiser d = sgm_model_denoiser(net);
            /* pa holds the last resume case: VE with EDM preconditioning -> x0 */
            CHECK(d.prediction == SGM_PRED_X0 && sgm_model_dim(net) == 2, "prediction / dim");
            double xq[40], out[40];
            for (int i = 0; i < 40; i++) xq[i] = 0.1 * i - 2;
            sgm_eval q = {20, 2, 0, SGM_F64, xq, 0.5, 0.8, 0.6};
            CHECK(d.fn(&q, out, d.user_data) == 0, "query in chunks of 16");
            int fin = 1;
            for (int i = 0; i < 40; i++) fin &= isfinite(out[i]);
            CHECK(fin, "finite output");
            q.sigma = 0, q.alpha = 1, q.t = 0;
            CHECK(d.fn(&q, out, d.user_data) == 0 && out[3] == xq[3], "sigma = 0: D(x) = x");
            double z[2] = {0, 0};
            sgm_model_unstandardize(net, 1, SGM_F64, z);
            CHECK(fabs(z[0] - 0.5) < 0.1 && fabs(z[1] - 0.25) < 0.1,
                  "unstandardize 0 -> data mean (moons ~ (0.5, 0.25)): %g %g", z[0], z[1]);
            sgm_model_free(net);
        }
    }
    remove(pa), remove(pb), remove(pc), rmdir(dir);
    free(x);
    TEST_MAIN_END();
}
