#!/usr/bin/env bash
# comfy.sh - the ComfyUI schedules and samplers from the command line:
# - bad schedule parameters are refused before any work: beta alpha <= 0,
#   an unknown AYS / OptimalSteps table, a non-positive flow shift: exit 2,
#   one line on stderr naming the problem, no output file;
# - `sgm list` shows the new samplers with their aliases and the new
#   schedules; ComfyUI / A1111 aliases parse (res_multistep_ancestral,
#   heun++, align_your_steps) and give the same bytes as the canonical names;
# - every new sampler runs on the mixture with a ComfyUI schedule.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
REFUSED_OUT=("$T/x.npy") # refused: exit 2, one line, no $T/x.npy
M="gmm:$SGM_SOURCE_DIR/tests/data/models/gmm2d.json"
S=(sample --model "$M" --process vp-discrete --steps 6 --n 4 --seed 5 --quiet)

refused "beta alpha 0" "--beta-alpha" "${S[@]}" --sampler euler --schedule beta --beta-alpha 0 \
    --out "$T/x.npy"
refused "beta beta -1" "--beta-beta" schedule --schedule beta --steps 5 --beta-beta -1
refused "ays model" "unknown model table 'sd3'" "${S[@]}" --sampler euler --schedule ays \
    --ays-model sd3 --out "$T/x.npy"
refused "optimal_steps model" "unknown model table" schedule --schedule optimal_steps \
    --steps 5 --ays-model sd1
refused "flow shift" "--flow-shift" schedule --schedule simple --steps 5 --process flow \
    --flow-shift 0
refused "gits steps" "gits" schedule --schedule gits --steps 1

"$SGM" list >"$T/list.txt"
for n in ipndm_v deis_tab res_multistep res_multistep_a gradient_estimation heunpp2 er_sde \
    seeds_2 seeds_3 lcm sa_solver_comfy sa_solver_pece simple sgm_uniform ddim_uniform normal \
    beta linear_quadratic kl_optimal ays gits laplace optimal_steps; do
    if grep -q "^  $n " "$T/list.txt"; then ok; else bad "sgm list lacks $n"; fi
done
grep -q "res_multistep_ancestral" "$T/list.txt" && ok || bad "sgm list lacks the aliases"

same() { # NAME ARGS_A -- ARGS_B: both runs succeed with identical output
    local name="$1"
    shift
    local a=() b=()
    while [ "$1" != "--" ]; do a+=("$1"); shift; done
    shift
    b=("$@")
    if "$SGM" "${S[@]}" "${a[@]}" --out "$T/a.npy" && "$SGM" "${S[@]}" "${b[@]}" --out "$T/b.npy" &&
        cmp -s "$T/a.npy" "$T/b.npy"; then ok; else bad "$name"; fi
    rm -f "$T/a.npy" "$T/b.npy"
}
same "alias res_multistep_ancestral" --sampler res_multistep_a --schedule karras -- \
    --sampler res_multistep_ancestral --schedule karras
same "alias heun++" --sampler heunpp2 --schedule normal -- --sampler heun++ --schedule normal
same "alias align_your_steps" --sampler euler --schedule ays -- --sampler euler \
    --schedule align_your_steps
# ComfyUI names with a variant, and A1111 display names (spaces equal '_')
same "alias uni_pc = bh1" --sampler uni_pc --schedule karras -- --sampler unipc \
    --solver-type bh1 --schedule karras
same "alias uni_pc_bh2" --sampler uni_pc_bh2 --schedule karras -- --sampler unipc --schedule karras
same "alias dpmpp_2m_sde_heun_gpu" --sampler dpmpp_2m_sde_heun_gpu --schedule karras -- \
    --sampler dpmpp_2m_sde --solver-type heun --schedule karras
same "alias dpmpp_3m_sde_gpu" --sampler dpmpp_3m_sde_gpu --schedule karras -- \
    --sampler dpmpp_3m_sde --schedule karras
same "A1111 'DPM++ 2M SDE Heun'" --sampler "DPM++ 2M SDE Heun" --schedule karras -- \
    --sampler dpmpp_2m_sde --solver-type heun --schedule karras
same "A1111 'Euler a'" --sampler "Euler a" --schedule karras -- --sampler euler_a --schedule karras
same "A1111 'Restart'" --sampler "Restart" --schedule karras -- --sampler restart --schedule karras

for s in ipndm_v deis_tab res_multistep res_multistep_a gradient_estimation heunpp2 er_sde \
    seeds_2 seeds_3 lcm sa_solver_comfy sa_solver_pece; do
    if "$SGM" "${S[@]}" --sampler "$s" --schedule beta --out "$T/s.npy" &&
        ! values "$T/s.npy" | grep -qi "nan\|inf"; then ok; else bad "sample $s"; fi
    rm -f "$T/s.npy"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
