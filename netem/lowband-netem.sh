#!/usr/bin/env bash
# Runs `lowband netem …` from a source checkout without building the whole
# project: compiles netem/ alone into dist/netem, then runs it.
#   netem/lowband-netem.sh check --profile 3g-good
#   netem/lowband-netem.sh exec --profile edge-lossy -- curl http://10.201.0.1:8080/
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $(id -u) -ne 0 ]]; then
  echo "lowband netem: network emulation needs root (network namespaces and TUN devices)" >&2
  exit 1
fi
(cd "$root" && npx --no-install tsc -p netem/tsconfig.json)
exec node "$root/dist/netem/main.js" netem "$@"
