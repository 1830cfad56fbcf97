#!/usr/bin/env bash
# The acceptance check of the lexical relation classifier: relbert's MLP and scikit-learn's
# MLPClassifier, on the same features (the default model's relation embeddings), pick their grid
# point by validation macro-F1 and must agree on test macro-F1 within 1.5 points.
#   scripts/test-mlp-against-sklearn.sh [DATASET ...]      (default: EVALution, the quickest with a validation split)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RELBERT:-.build/release/relbert}
MODEL=${MODEL:-models/all-MiniLM-L6-v2}
VENV=.build/sklearn-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sklearn, numpy' 2>/dev/null; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'scikit-learn==1.*' 'numpy<3' \
        || { echo "scikit-learn could not be installed: skipped"; exit 77; }
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DATASETS=("${@:-EVALution}")
ARGS=()
for d in "${DATASETS[@]}"; do ARGS+=(--dataset "$d"); done
"$BIN" eval classify --model "$MODEL" "${ARGS[@]}" --export-features "$WORK/features" --json >"$WORK/relbert.jsonl"
"$VENV/bin/python" scripts/compare_mlp_sklearn.py --features "$WORK/features" --relbert "$WORK/relbert.jsonl" --tolerance 1.5
echo "PASS: relbert's MLP agrees with scikit-learn within 1.5 macro-F1 points on ${DATASETS[*]}"
