#!/usr/bin/env bash
# test.sh — the full test run: install and start every test service
# (scripts/test-services.sh), then go vet and go test with the race detector,
# with missing services failing tests instead of skipping them. Services this
# script started are stopped when it exits; ones already running are reused.
#
# usage: scripts/test.sh [go test flags/packages]   (default: ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

svc=scripts/test-services.sh
if "$svc" status | grep -q stopped; then
  trap '"$svc" stop' EXIT
fi
"$svc" start >/dev/null
# shellcheck disable=SC1091
source "${CIVICPORT_RUN:-${CIVICPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/civicport-test-services}/run}/env.sh"
export CIVICPORT_REQUIRE_SERVICES=1

echo "== generated code is current (go generate leaves no diff)"
go generate ./adapters/profile/...
if [[ -d .git ]] && ! git diff --exit-code -- adapters/profile/wire_gen.go; then
  echo "wire_gen.go is stale: run go generate ./adapters/profile/... and commit it" >&2
  exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test (FIPS 140-3 only mode, crypto packages)"
GODEBUG=fips140=only go test -count=1 ./secrets/...
echo "== go test -race"
go test -race -count=1 -timeout 30m "${@:-./...}"
