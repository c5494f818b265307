#!/usr/bin/env bash
# sample.sh - `mpirun -np 2 sgm sample | nll | encode` write the same files
# as one process, byte for byte: a deterministic (dpmpp_2m) and two
# stochastic samplers (euler_ancestral; dpmpp_sde with Brownian-tree
# noise) on the 2-D mixture, the Hutchinson nll (random probes) and encode,
# and a U-Net checkpoint trained here for a few steps, sampled with
# classifier-free guidance. Rows are drawn at their global index (sgm_core.h),
# so which process computes a row cannot change it. Also: options that cannot
# be sharded and the commands that are not give one line and exit 2.
set -u
source "${SGM_SOURCE_DIR:?}/tests/mpi/mpi_lib.bash"
G="$SGM_SOURCE_DIR/tests/data/models/gmm2d.json"

# 101 rows: 51 + 50 over two ranks, --batch 7 leaves ragged batches on each
for smp in dpmpp_2m euler_ancestral "dpmpp_sde --noise brownian"; do
    tag=${smp%% *}
    args=(sample --model "gmm:$G" --process vp --sampler $smp --schedule karras --steps 12 --n 101
        --seed 5 --batch 7 --quiet --save-init "$T/i_$tag.npy")
    if "$SGM" "${args[@]}" --out "$T/a_$tag.npy" >/dev/null 2>"$T/err" &&
        mpi 2 "${args[@]}" --out "$T/b_$tag.npy" --save-init "$T/j_$tag.npy" >/dev/null 2>>"$T/err"; then
        same "$T/a_$tag.npy" "$T/b_$tag.npy" "sample $tag"
        same "$T/i_$tag.npy" "$T/j_$tag.npy" "sample $tag --save-init"
    else
        bad "sample $tag: $(cat "$T/err")"
    fi
done

# nll (Hutchinson probes at the global row) and encode
X="$T/a_dpmpp_2m.npy"
NLL=(nll --model "gmm:$G" --process vp --data "$X" --divergence hutchinson)
if "$SGM" "${NLL[@]}" --out "$T/a_lp.npy" --z "$T/a_z.npy" >/dev/null 2>"$T/err" &&
    mpi 2 "${NLL[@]}" --out "$T/b_lp.npy" --z "$T/b_z.npy" >/dev/null 2>>"$T/err"; then
    same "$T/a_lp.npy" "$T/b_lp.npy" "nll log-likelihoods"
    same "$T/a_z.npy" "$T/b_z.npy" "nll encodings"
else
    bad "nll: $(cat "$T/err")"
fi
ENC=(encode --model "gmm:$G" --process vp --data "$X")
if "$SGM" "${ENC[@]}" --out "$T/a_e.npy" >/dev/null 2>"$T/err" &&
    mpi 2 "${ENC[@]}" --out "$T/b_e.npy" >/dev/null 2>>"$T/err"; then
    same "$T/a_e.npy" "$T/b_e.npy" "encode"
else
    bad "encode: $(cat "$T/err")"
fi

# a U-Net checkpoint (2 steps of a tiny class-conditional net on 32 images)
U="$T/u.safetensors"
if "$SGM" train --arch unet --data fashion-mnist --n-data 32 --classes --unet-base 8 \
    --unet-mult 1,2 --unet-groups 4 --unet-res 1 --batch 4 --steps 2 --quiet --out "$U" 2>"$T/err"; then
    ok
    args=(sample --model "ckpt:$U" --sampler euler_ancestral --schedule karras --steps 3 --n 5
        --class rows --guidance 1 --seed 2 --batch 2 --quiet)
    if "$SGM" "${args[@]}" --out "$T/ua.npy" >/dev/null 2>"$T/err" &&
        mpi 2 "${args[@]}" --out "$T/ub.npy" >/dev/null 2>>"$T/err"; then
        same "$T/ua.npy" "$T/ub.npy" "U-Net sample"
    else
        bad "U-Net sample: $(cat "$T/err")"
    fi
elif grep -q "fashion" "$T/err"; then
    bad "fashion-mnist is missing (scripts/install-deps.sh installs it): $(cat "$T/err")"
else
    bad "U-Net train: $(cat "$T/err")"
fi

# not shardable: one line on stderr, exit 2, no output file (refused,
# tests/cli_lib.bash, with sgm as 2 MPI processes)
mpi2() { mpi 2 "$@"; }
REFUSED_RUN=mpi2
REFUSED_OUT=("$T/x.npy")
refused "error-norm batch" "error-norm batch" sample --model "gmm:$G" --process vp \
    --sampler dpm_adaptive --error-norm batch --schedule karras --steps 5 --n 10 --out "$T/x.npy"
refused "edit" "cannot run as 2 MPI processes" edit --model "gmm:$G" --input "$X" \
    --out "$T/x.npy"
refused "schedule" "cannot run as 2 MPI processes" schedule --schedule karras --steps 3
finish
