#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it: typecheck, lint, then every test over real sockets
# with the services it needs started here (and stopped on exit, whatever happens).
set -euo pipefail
cd "$(dirname "$0")/.."

npx tsc -p tsconfig.json --noEmit
npx tsc -p clients/web/tsconfig.json
npx eslint .

source scripts/services.sh
trap services_down EXIT
services_up

npx vitest run "$@"
