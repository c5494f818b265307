#!/usr/bin/env bash
# ckpt_compat.sh - checkpoints written before the network interface and the
# versioned format (format 1.0, by sgm at commit 5f25912) still load: an mlp
# (vp-discrete, v-prediction; its beta table and interpolation stored as
# numbers) and a class-conditional U-Net (EDM, label dropout inside
# arch_config). Each is sampled with the command that made the stored
# samples (tests/data/ckpt/*_samples.npy, written by the 1.0 build; re-made
# from the same 1.0 checkpoints with normal stream version 2, whose x_T
# differs: docs/numerics.md), and the
# mlp is resumed for two more steps, which writes the current format (1.2)
# with every enum by name, the EMA warm-up off (as the 1.0 trainer did) and
# the default sampling path recorded.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
D="${SGM_SOURCE_DIR:?}/tests/data/ckpt"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"

# same values as the stored samples: bitwise on the machine that made them;
# elsewhere another SIMD path may move float32 network outputs by a few ulps,
# so the bound is 1e-5 relative (1 + |x|)
same_values() {
    local name="$1" got="$2" want="$3"
    if cmp -s "$got" "$want"; then ok; return; fi
    if paste <(values "$got") <(values "$want") | awk '
        { n++; d = $1 - $2; if (d < 0) d = -d; a = $2 < 0 ? -$2 : $2; if (d > 1e-5 * (1 + a)) bad++ }
        END { exit (n == 0 || bad > 0) }'; then
        ok
    else
        bad "$name: samples differ from the stored ones"
    fi
}

if "$SGM" sample --model "ckpt:$D/mlp_v1_0.safetensors" --sampler dpmpp_2m --schedule karras \
    --steps 6 --n 16 --seed 5 --out "$T/mlp.npy" 2>"$T/err"; then
    same_values mlp "$T/mlp.npy" "$D/mlp_v1_0_samples.npy"
else
    bad "mlp 1.0 checkpoint does not sample: $(cat "$T/err")"
fi

# a 1.0 file records no sampling path: the rule of sgm_ckpt_sampling_default
# applied to its training configuration gives UniPC-3 / Karras / 20 steps
if "$SGM" sample --model "ckpt:$D/mlp_v1_0.safetensors" --n 8 --out "$T/mlp_path.npy" \
    >"$T/out" 2>"$T/err" && grep -q "unipc, 20 steps" "$T/out"; then
    ok
else
    bad "mlp 1.0 checkpoint without sampler options: $(cat "$T/err" "$T/out")"
fi

if "$SGM" sample --model "ckpt:$D/unet_v1_0.safetensors" --sampler euler --schedule karras \
    --steps 3 --n 4 --seed 5 --class 1,7 --guidance 1.5 --out "$T/unet.npy" --quiet 2>"$T/err"; then
    same_values unet "$T/unet.npy" "$D/unet_v1_0_samples.npy"
else
    bad "U-Net 1.0 checkpoint does not sample: $(cat "$T/err")"
fi

# resume a 1.0 checkpoint (its data source, moons, is rebuilt) and write 1.2
if "$SGM" train --resume "$D/mlp_v1_0.safetensors" --steps 5 --out "$T/r.safetensors" \
    --quiet 2>"$T/err"; then
    if grep -aq '"format_version":"1.2"' "$T/r.safetensors" &&
        grep -aq '\\"ema_warmup\\":0' "$T/r.safetensors" &&
        grep -aq '\\"sampler\\":\\"unipc\\"' "$T/r.safetensors" &&
        grep -aq '\\"order\\":3' "$T/r.safetensors" &&
        grep -aq '\\"betas\\":\\"linear\\"' "$T/r.safetensors" &&
        grep -aq '\\"interp\\":\\"log_alpha\\"' "$T/r.safetensors" &&
        "$SGM" sample --model "ckpt:$T/r.safetensors" --sampler euler --schedule karras \
            --steps 2 --n 4 --out "$T/r.npy" --quiet 2>/dev/null; then
        ok
    else
        bad "resumed checkpoint: not format 1.2 with named enums, warm-up off and a sampling path, or does not sample"
    fi
else
    bad "resume of a 1.0 checkpoint failed: $(cat "$T/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
