#!/usr/bin/env bash
# test.sh — the full test run: install and start every test service
# (scripts/test-services.sh), then gofmt, go vet, staticcheck and go test
# with the race detector, with missing services failing tests instead of
# skipping them. Services this script started are stopped when it exits;
# ones already running are reused.
#
# usage: scripts/test.sh [go test flags/packages]   (default: ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2

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
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [[ -n $unformatted ]]; then
  echo "not gofmt-formatted (run gofmt -w):" >&2
  echo "$unformatted" >&2
  exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
cache=${CIVICPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/civicport-test-services}
staticcheck=$cache/bin/staticcheck-$STATICCHECK_VERSION
if [[ ! -x $staticcheck ]]; then
  mkdir -p "$cache/bin"
  # Built outside the repo so that its go.mod is not consulted.
  ( cd "$cache" && GOFLAGS=-mod=mod GOBIN="$cache/bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ) \
    && mv "$cache/bin/staticcheck" "$staticcheck"
fi
"$staticcheck" ./...
# The README's FIPS section says exactly what these two runs show.
echo "== go test (FIPS 140-3 only mode: keys, envelope, PKCS#11, audit log; no MD5 or SHA-1 in civicport's code)"
CIVICPORT_EXPECT_FIPS=v1.0.0 GOFIPS140=v1.0.0 GODEBUG=fips140=only go test -count=1 ./secrets/... ./adapters/pkcs11/... ./blob/audit/... ./internal/testing/fipsclaim/...
echo "== go test -race (FIPS 140-3 mode on)"
# At a lower CPU priority than the test services: on two cores the race
# detector's test binaries otherwise starve the single-threaded emulators
# (fauxqs, Azurite) for seconds, and the tests measure that stall as a
# server that does not answer. A real stall still fails them.
GODEBUG=fips140=on nice -n 5 go test -race -count=1 -timeout 30m "${@:-./...}"
