#!/usr/bin/env bash
# capabilities.sh — regenerate docs/capabilities.md: the capability matrix of
# every backend civicport tests, measured live by `civicport conform` against
# the test services (started here if needed).
#
# usage: scripts/capabilities.sh [OUT]   (default docs/capabilities.md)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/capabilities.md}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

scripts/test-services.sh start >/dev/null
# shellcheck disable=SC1091
source "${CIVICPORT_RUN:-${CIVICPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/civicport-test-services}/run}/env.sh"
key=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY
empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

s3() { # METHOD ENDPOINT BUCKET [extra curl args]
  local m=$1 ep=$2 b=$3; shift 3
  curl -fsS -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" \
    -H "x-amz-content-sha256: $empty_sha" -X "$m" "$@" "$ep/$b"
}
run=$(date +%s)
minio_b=capmatrix-minio-$run lock_b=capmatrix-lock-$run vgw_b=capmatrix-vgw-$run gcs_b=capmatrix-gcs-$run
s3 PUT "http://$CIVICPORT_MINIO_ADDR" "$minio_b"
s3 PUT "http://$CIVICPORT_MINIO_ADDR" "$lock_b" -H "x-amz-bucket-object-lock-enabled: true"
s3 PUT "http://$CIVICPORT_VERSITYGW_ADDR" "$vgw_b"
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$gcs_b\"}" \
  "http://$CIVICPORT_FAKEGCS_ADDR/storage/v1/b?project=civicport"
filedir=$(mktemp -d)
cleanup() {
  rm -rf "$filedir"
  # Best effort: a server may keep directory stubs that make a bucket
  # "not empty"; leftovers stay on the throw-away test servers.
  s3 DELETE "http://$CIVICPORT_MINIO_ADDR" "$minio_b" 2>/dev/null || true
  s3 DELETE "http://$CIVICPORT_VERSITYGW_ADDR" "$vgw_b" 2>/dev/null || true
  curl -fsS -o /dev/null -X DELETE "http://$CIVICPORT_FAKEGCS_ADDR/storage/v1/b/$gcs_b" 2>/dev/null || true
  # The object-lock bucket keeps delete markers and versions; it stays on the
  # throw-away test server.
}
trap cleanup EXIT

s3q="use_path_style=true&region=us-east-1"
declare -a names urls
add() { names+=("$1"); urls+=("$2"); }
add "mem" "mem://"
add "file" "file://$filedir"
add "s3 → MinIO" "s3://$minio_b?endpoint=http://$CIVICPORT_MINIO_ADDR&$s3q"
add "s3 → MinIO, object-lock bucket" "s3://$lock_b?endpoint=http://$CIVICPORT_MINIO_ADDR&$s3q"
add "minio → MinIO" "minio://$CIVICPORT_MINIO_ADDR/$minio_b?secure=false"
add "minio → MinIO, object-lock bucket" "minio://$CIVICPORT_MINIO_ADDR/$lock_b?secure=false"
add "s3 → versitygw" "s3://$vgw_b?endpoint=http://$CIVICPORT_VERSITYGW_ADDR&$s3q"
add "minio → versitygw" "minio://$CIVICPORT_VERSITYGW_ADDR/$vgw_b?secure=false"
add "gs → fake-gcs-server" "gs://$gcs_b?anonymous=true"

args=()
for u in "${urls[@]}"; do args+=(--blob "$u"); done
go build -o "$filedir/civicport" ./cmd/civicport
set +e
"$filedir/civicport" conform "${args[@]}" --format markdown --out "$filedir/matrix.md"
rc=$?
set -e
[[ $rc == 0 || $rc == 1 ]] || { echo "conform failed (exit $rc)" >&2; exit "$rc"; }

# Replace each URL by its short backend name.
sedargs=()
for i in "${!urls[@]}"; do
  esc=$(printf '%s' "${urls[$i]}" | sed -e 's/[]\/$*.^[&|]/\\&/g')
  sedargs+=(-e "s|$esc|${names[$i]}|g")
done
{
  cat <<HDR
# Capability matrix

Measured live by \`civicport conform\` against every backend civicport tests
(the servers \`scripts/test-services.sh\` starts on 127.0.0.1), on
$(date -u +%Y-%m-%d). Regenerate with \`scripts/capabilities.sh\`. Capability
names and statuses are defined in \`conformance\` (package doc); "unsupported"
means the backend says it cannot, "fail" means it claimed to and did not.

Backends: \`s3 → X\` is gocloud's s3blob driver through \`blob.Open\`;
\`minio → X\` is civicport's native minio-go adapter (\`adapters/minio\`).
An object-lock bucket has versioning enabled.

HDR
  sed "${sedargs[@]}" "$filedir/matrix.md"
} >"$out"
echo "wrote $out" >&2

# The README carries the matrix itself (without the reasons), between markers.
if [[ $out == docs/capabilities.md ]]; then
  table=$(sed -n '/^| capability |/,/^$/p' "$out")
  awk -v table="$table" '
    /<!-- capabilities:start -->/ { print; print table; skip = 1; next }
    /<!-- capabilities:end -->/ { skip = 0 }
    !skip' README.md >README.md.tmp && mv README.md.tmp README.md
  echo "updated README.md" >&2
fi
