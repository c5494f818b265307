#!/usr/bin/env bash
# eval_bench.sh - `mpirun -np P sgm eval | bench` write the same files as one
# process, byte for byte: eval's JSON report and table of every metric (sw2,
# mmd2, energy, fd, prdc, the mixture's log-likelihood and masses) with
# bootstrap intervals, at P = 2 and 3 (uneven shares) and at P = 3 on two-row
# sets (empty shares); bench's CSV (all columns but the timing `seconds`) and
# PNG at P = 2 and 3, and at P = 2 with a single cell (one rank runs only the
# baselines). The metrics gather per-row / per-direction / per-replicate
# terms and sum them in the one-process order; the bench deals out whole
# cells and splits the rk45 reference by rows (each integrated on its own),
# so nothing a rank computes depends on P.
set -u
source "${SGM_SOURCE_DIR:?}/tests/mpi/mpi_lib.bash"
G="$SGM_SOURCE_DIR/tests/data/models/gmm2d.json"

# two sample sets of the 2-D mixture (euler at 4 and 8 steps): 61 and 47 rows
for s in 1 2; do
    n=$((s == 1 ? 61 : 47))
    "$SGM" sample --model "gmm:$G" --process vp --sampler euler --schedule karras \
        --steps $((4 * s)) --n $n --seed $s --quiet --out "$T/s$s.npy" >/dev/null 2>"$T/err" ||
        bad "sample: $(cat "$T/err")"
done
EV=(eval --a "$T/s1.npy" --b "$T/s2.npy" --gmm "$G" --bootstrap 8 --projections 16 --k 2 --seed 3)
if "$SGM" "${EV[@]}" --json "$T/e1.json" >"$T/e1.txt" 2>"$T/err"; then
    for np in 2 3; do
        if mpi $np "${EV[@]}" --json "$T/e$np.json" >"$T/e$np.txt" 2>"$T/err"; then
            same "$T/e1.json" "$T/e$np.json" "eval JSON at P=$np"
            same "$T/e1.txt" "$T/e$np.txt" "eval table at P=$np"
        else
            bad "eval at P=$np: $(cat "$T/err")"
        fi
    done
else
    bad "eval: $(cat "$T/err")"
fi
# more ranks than rows (and than dimensions): empty shares
npy two "(2, 2)" "$T/s1.npy" 32
npy tri "(3, 2)" "$T/s2.npy" 48
EV=(eval --a "$T/in_two.npy" --b "$T/in_tri.npy" --gmm "$G" --k 1 --bootstrap 4 --projections 5)
if "$SGM" "${EV[@]}" --json "$T/t1.json" >/dev/null 2>"$T/err" &&
    mpi 3 "${EV[@]}" --json "$T/t3.json" >/dev/null 2>>"$T/err"; then
    same "$T/t1.json" "$T/t3.json" "eval on 2 and 3 rows at P=3"
else
    bad "eval on tiny sets: $(cat "$T/err")"
fi

# bench: 2 schedules x 3 samplers x 2 budgets = 12 cells; `seconds` (column
# 17, the wall time of each cell on the rank that ran it) is dropped
nosec() { cut -d, -f1-16,18- "$1"; }
BE=(bench --model "gmm:$G" --process vp --samplers euler,heun,euler_ancestral
    --schedules karras,logsnr --nfe 4,8 --n 30 --projections 16 --seed 4 --ref-rtol 1e-6 --quiet)
PLOT=()
if "$SGM" "${BE[@]}" --csv "$T/b1.csv" --plot "$T/b1.png" >"$T/b1.txt" 2>"$T/err"; then
    PLOT=(--plot)
elif grep -q "without cairo" "$T/err"; then
    "$SGM" "${BE[@]}" --csv "$T/b1.csv" >"$T/b1.txt" 2>"$T/err" || bad "bench: $(cat "$T/err")"
else
    bad "bench: $(cat "$T/err")"
fi
for np in 2 3; do
    if mpi $np "${BE[@]}" --csv "$T/b$np.csv" ${PLOT[@]+"${PLOT[@]}" "$T/b$np.png"} \
        >"$T/b$np.txt" 2>"$T/err"; then
        if [ "$(nosec "$T/b1.csv")" == "$(nosec "$T/b$np.csv")" ]; then ok; else
            bad "bench CSV at P=$np: $(diff <(nosec "$T/b1.csv") <(nosec "$T/b$np.csv") | head -5)"
        fi
        same "$T/b1.txt" "$T/b$np.txt" "bench stdout at P=$np"
        [ ${#PLOT[@]} -eq 0 ] || same "$T/b1.png" "$T/b$np.png" "bench PNG at P=$np"
    else
        bad "bench at P=$np: $(cat "$T/err")"
    fi
done
# one cell, two ranks: rank 1 runs no cell, only its share of the baselines
BE=(bench --model "gmm:$G" --process vp --samplers heun --schedules karras --nfe 6 --n 20
    --ref-rtol 1e-5 --projections 8 --quiet)
if "$SGM" "${BE[@]}" --csv "$T/c1.csv" >/dev/null 2>"$T/err" &&
    mpi 2 "${BE[@]}" --csv "$T/c2.csv" >/dev/null 2>>"$T/err"; then
    if [ "$(nosec "$T/c1.csv")" == "$(nosec "$T/c2.csv")" ]; then ok; else
        bad "bench, one cell at P=2: the CSVs differ"
    fi
else
    bad "bench, one cell: $(cat "$T/err")"
fi
finish
