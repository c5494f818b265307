#!/usr/bin/env bash
# restart.sh - restart sampling and pc's Langevin correctors from the command
# line, and the benchmark over every sampler:
# - restart segments that do not fit the schedule (t_max above the first
#   sigma, t_min below the smallest positive one) or are ill-formed, and an
#   unknown pc corrector: exit 2, one line on stderr naming the problem, no
#   output file;
# - restart and pc with each Langevin corrector run on the mixture with
#   finite output; --restart none is heun bit for bit; `sgm list` shows
#   restart with its alias;
# - `sgm bench` runs every sampler of `sgm list` at 200 NFE without a failed
#   row (sde_adaptive needs > 100 NFE at the loosest tolerance of the bench's
#   ladder on this mixture), and its plot is written.
set -u
SGM="${SGM_BUILD_DIR:?}/sgm"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "${SGM_SOURCE_DIR:?}/tests/cli_lib.bash"
REFUSED_OUT=("$T/x.npy") # refused: exit 2, one line, no $T/x.npy
GMM="$SGM_SOURCE_DIR/tests/data/models/gmm2d.json"
M="gmm:$GMM"
# VE karras 0.002..80, 12 steps
S=(sample --model "$M" --process ve --schedule karras --steps 12 --n 8 --seed 5 --quiet)

refused "restart t_max above sigma_max" "does not fit the schedule: t_max is above" "${S[@]}" \
    --sampler restart --restart "[3,2,0.5,500]" --out "$T/x.npy"
refused "restart t_min below sigma_min" "does not fit the schedule: t_min is outside" "${S[@]}" \
    --sampler restart --restart "[3,1,1e-5,0.5]" --out "$T/x.npy"
refused "restart two segments, one point" "the point of segment 1" "${S[@]}" \
    --sampler restart --restart "[3,1,0.30,0.6],[3,1,0.31,0.8]" --out "$T/x.npy"
refused "restart t_min >= t_max" "t_min < t_max" "${S[@]}" --sampler restart \
    --restart "[3,1,0.6,0.3]" --out "$T/x.npy"
refused "restart N" "N must be an integer" "${S[@]}" --sampler restart --restart "[1,1,0.1,0.3]" \
    --out "$T/x.npy"
refused "restart syntax" "--restart" "${S[@]}" --sampler restart --restart "[3,1,0.1]" \
    --out "$T/x.npy"
refused "pc corrector" "unknown corrector" "${S[@]}" --sampler pc --corrector euler \
    --out "$T/x.npy"

"$SGM" list >"$T/list.txt"
grep -A1 "^  restart " "$T/list.txt" | grep -q "aliases: .*restart_sampling" && ok ||
    bad "sgm list lacks restart and its aliases"

finite() { # NAME ARGS...: runs, output finite
    local name="$1"
    shift
    if "$SGM" "${S[@]}" "$@" --out "$T/s.npy" && ! values "$T/s.npy" | grep -qi "nan\|inf"; then
        ok
    else
        bad "$name"
    fi
    rm -f "$T/s.npy"
}
finite "restart" --sampler restart
finite "restart alias, two segments" --sampler restart_sampling --restart "[4,3,0.1,1],[2,1,2,10]"
for c in langevin ula mala ubla rmm; do finite "pc $c" --sampler pc --corrector "$c"; done
if "$SGM" "${S[@]}" --sampler restart --restart none --out "$T/a.npy" &&
    "$SGM" "${S[@]}" --sampler heun --out "$T/b.npy" && cmp -s "$T/a.npy" "$T/b.npy"; then ok; else
    bad "restart none != heun"
fi

# every sampler of `sgm list` runs in the benchmark (no failed row at 200 NFE)
if "$SGM" bench --model "$M" --schedules karras --nfe 200 --n 20 --metrics 0 --csv "$T/b.csv" \
    --plot "$T/b.png" --quiet >/dev/null 2>"$T/stderr"; then
    ok
else
    bad "bench all: $(head -1 "$T/stderr")"
fi
n_list=$(awk '/^samplers/ {f = 1; next} /^[a-z]/ {f = 0} f && /^  [a-z0-9_]+ /' "$T/list.txt" |
    wc -l)
n_rows=$(awk -F, '$2 == "karras" && $5 == 200' "$T/b.csv" | wc -l)
[ "$n_rows" -ge "$n_list" ] && ok || bad "bench rows $n_rows < samplers $n_list"
if grep -v ',ok$' "$T/b.csv" | grep -v '^sampler,' | grep .; then
    bad "bench: failed rows"
else
    ok
fi
grep -q '^restart,karras,1,0,200,' "$T/b.csv" && ok || bad "bench lacks restart"
grep -q '^dpm_solver_v3,karras,0,0,200,' "$T/b.csv" && ok || bad "bench lacks dpm_solver_v3"
[ -s "$T/b.png" ] && ok || bad "bench plot"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
