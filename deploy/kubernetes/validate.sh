#!/usr/bin/env bash
# Validates the manifests against the Kubernetes schemas (kubernetes-validate from PyPI, in a
# virtualenv under .build/kubernetes-validate). Exit 77 when it cannot be installed.
set -euo pipefail
cd "$(dirname "$0")"
VENV=../../.build/kubernetes-validate
if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
    python3 -m venv "$VENV" >/dev/null 2>&1 && "$VENV/bin/pip" install -q kubernetes-validate==1.* >/dev/null 2>&1 \
        || { echo "kubernetes-validate could not be installed: skipped"; exit 77; }
fi
"$VENV/bin/kubernetes-validate" --strict -k 1.32.0 relbert.yaml
echo "PASS: deploy/kubernetes/relbert.yaml is valid for Kubernetes 1.32 (strict)"
