#!/usr/bin/env bash
# Checks the units with `systemd-analyze verify`, with ExecStart pointing at this checkout's binary
# (verify insists that the executable exists) and the environment file beside them.
set -euo pipefail
cd "$(dirname "$0")"
BIN=$(realpath "${RELBERT:-../../.build/release/relbert}")
[ -x "$BIN" ] || { echo "build first: swift build -c release --product relbert" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing: skipped"; exit 77; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for unit in relbert-coordinator.service relbert-worker@.service; do
    sed -e "s|/usr/local/bin/relbert|$BIN|" -e "s|/etc/relbert/relbert.env|$PWD/relbert.env|" "$unit" >"$WORK/$unit"
done
cp "$WORK/relbert-worker@.service" "$WORK/relbert-worker@1.service"
# User=relbert need not exist here; every other finding fails the check.
out=$(cd "$WORK" && systemd-analyze verify ./relbert-coordinator.service ./relbert-worker@1.service 2>&1 || true)
filtered=$(printf '%s\n' "$out" | grep -v -e '^$' -e "Failed to resolve user" -e "relbert.*user" || true)
if [ -n "$filtered" ]; then
    printf '%s\n' "$out"
    echo "FAIL: systemd-analyze verify"
    exit 1
fi
echo "PASS: systemd-analyze verify relbert-coordinator.service relbert-worker@1.service"
