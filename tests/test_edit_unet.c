/* test_edit_unet.c - the reversible solver's invert-then-regenerate round
 * trip on a trained network: the stored class-conditional U-Net checkpoint
 * (tests/data/ckpt/unet_v1_0.safetensors, null class), one 28x28 image from
 * its stored samples, 2 Karras steps ending at sigma_min, float64 and
 * float32 state, the ODE solver and the SDE one (eta 0.5). The network is deterministic, so the round trip is exact up
 * to rounding: <= 1e-10 (f64) and <= 1e-5 (f32), the acceptance bounds. */
#include "sgm/sgm_edit.h"
#include "sgm/sgm_io.h"
#include "test_util.h"

int main(void) {
    char p1[1024], p2[1024];
    sgm_error err;
    sgm_model *m = NULL;
    if (sgm_model_load(tu_src("tests/data/ckpt/unet_v1_0.safetensors", p1, sizeof p1), 1, 0, &m,
                       &err)) {
        fprintf(stderr, "load: %s\n", err.msg);
        return 1;
    }
    sgm_array in;
    if (sgm_npy_load(tu_src("tests/data/ckpt/unet_v1_0_samples.npy", p2, sizeof p2), &in, &err))
        return 1;
    size_t d = sgm_model_dim(m);
    CHECK(in.count >= d, "stored samples hold an image");
    sgm_model_standardize(m, 1, SGM_F64, in.data);
    sgm_process *proc = NULL;
    if (sgm_process_create(sgm_model_process_config(m), &proc, &err)) return 1;
    sgm_schedule_config sc = sgm_schedule_config_default(SGM_SCHEDULE_KARRAS);
    sc.steps = 2;
    sc.final_point = SGM_FINAL_SIGMA_MIN;
    sgm_schedule *sch = NULL;
    if (sgm_schedule_create(&sc, proc, &sch, &err)) return 1;
    sgm_denoiser den = sgm_model_denoiser(m);
    sgm_reversible_config rc = sgm_reversible_config_default();
    double *y = malloc(2 * d * sizeof(double)), *z = y + d;
    float *yf = malloc(2 * d * sizeof(float)), *zf = yf + d;
    for (int run = 0; run < 4; run++) { /* f64 / f32 state, ODE / SDE (eta 0.5) */
        int f32 = run & 1;
        rc.eta = run < 2 ? 0 : 0.5;
        rc.seed = 5;
        double a = sch->alpha[sch->n - 1];
        for (size_t i = 0; i < d; i++) {
            y[i] = z[i] = a * in.data[i];
            yf[i] = zf[i] = (float)y[i];
        }
        sgm_dtype dt = f32 ? SGM_F32 : SGM_F64;
        void *py = f32 ? (void *)yf : (void *)y, *pz = f32 ? (void *)zf : (void *)z;
        sgm_status st = sgm_reversible_invert(&rc, sch, proc, &den, 0, 1, d, dt, py, pz, NULL, &err);
        st = st ? st : sgm_reversible_sample(&rc, sch, proc, &den, 0, 1, d, dt, py, pz, NULL, &err);
        CHECK(st == SGM_OK, "reversible run: %s", err.msg);
        double num = 0, den2 = 0;
        for (size_t i = 0; i < d; i++) {
            double ref = f32 ? (double)(float)(a * in.data[i]) : a * in.data[i];
            double got = f32 ? (double)yf[i] : y[i];
            num += (got - ref) * (got - ref), den2 += ref * ref;
        }
        double e = sqrt(num / den2);
        printf("U-Net reversible round trip (%s state, eta %.1f): relative error %.3e\n",
               f32 ? "f32" : "f64", rc.eta, e);
        /* acceptance bounds: rounding only separates the round trip from the input */
        CHECK(e <= (f32 ? 1e-5 : 1e-10), "round trip %g", e);
    }
    free(y), free(yf);
    sgm_array_free(&in);
    sgm_schedule_free(sch);
    sgm_process_free(proc);
    sgm_model_free(m);
    TEST_MAIN_END();
}
