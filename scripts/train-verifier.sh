#!/usr/bin/env bash
# Refits the semantic-hit verifier and rewrites data/verifier.json: a small network over the pair features,
# its shape, weight decay and training length chosen by 5-fold cross-validation on QQP train pairs, calibrated
# by Platt scaling on out-of-fold logits, and reported on the QQP validation pairs (neither fitted nor tuned
# on). Deterministic: the same data and model give the same file. Needs ../shared/data/semcache (development
# data, not shipped). The pairs' encoder features are kept in .build-peers/verifier-features (git-ignored), so
# a second run skips the encoding.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
export OPENBLAS_NUM_THREADS=1
# The model goes to (and is read from) the checkout's git-ignored data/models/, not the per-user data folder.
export ROUTERSHIFT_HOME="$PWD/data"
data="${SEMCACHE_DATA:-../shared/data/semcache}"
[[ -f "$data/qqp-train.csv" ]] || { echo "train-verifier: $data/qqp-train.csv not found (set SEMCACHE_DATA)" >&2; exit 2; }
swift build -c release --product routershift
.build/release/routershift model fetch
.build/release/routershift cache train-verifier --train "$data/qqp-train.csv" --validate "$data/qqp-val.csv" \
    --folds 5 --max-false-hit-rate 0.05 --hidden "none;64" --weight-decays 0.05 --epochs 3,6 \
    --output data/verifier.json "$@"
