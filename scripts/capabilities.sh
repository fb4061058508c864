#!/usr/bin/env bash
# capabilities.sh — regenerate docs/capabilities.md: the capability matrices
# of every backend civicport tests, measured live against the test services
# (started here if needed): blob backends by `civicport conform --blob`,
# pubsub backends by conformance/pubsubtest's server tests (go test), which
# set up what the CLI cannot (dead-letter queues, short visibility timeouts,
# the in-process Pub/Sub fake) and log one MATRIX line per capability.
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
swfs_b=capmatrix-swfs-$run az_c=capmatrix-az-$run
s3 PUT "http://$CIVICPORT_MINIO_ADDR" "$minio_b"
s3 PUT "http://$CIVICPORT_MINIO_ADDR" "$lock_b" -H "x-amz-bucket-object-lock-enabled: true"
s3 PUT "http://$CIVICPORT_VERSITYGW_ADDR" "$vgw_b"
s3 PUT "http://$CIVICPORT_SEAWEEDFS_ADDR" "$swfs_b"
go run scripts/azcontainer.go create "$az_c"
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$gcs_b\"}" \
  "http://$CIVICPORT_FAKEGCS_ADDR/storage/v1/b?project=civicport"
filedir=$(mktemp -d)
cleanup() {
  rm -rf "$filedir"
  # Best effort: a server may keep directory stubs that make a bucket
  # "not empty"; leftovers stay on the throw-away test servers.
  s3 DELETE "http://$CIVICPORT_MINIO_ADDR" "$minio_b" 2>/dev/null || true
  s3 DELETE "http://$CIVICPORT_VERSITYGW_ADDR" "$vgw_b" 2>/dev/null || true
  s3 DELETE "http://$CIVICPORT_SEAWEEDFS_ADDR" "$swfs_b" 2>/dev/null || true
  go run scripts/azcontainer.go delete "$az_c" 2>/dev/null || true
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
add "s3 → SeaweedFS" "s3://$swfs_b?endpoint=http://$CIVICPORT_SEAWEEDFS_ADDR&$s3q"
add "azblob → Azurite" "azblob://$az_c?localemu=true&protocol=http&domain=$CIVICPORT_AZURITE_ADDR"

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
\`minio → X\` is civicport's native minio-go adapter (\`adapters/minio\`);
\`azblob → Azurite\` is gocloud's azureblob driver on the Azure Blob
emulator. An object-lock bucket has versioning enabled.

HDR
  sed "${sedargs[@]}" "$filedir/matrix.md"
} >"$out"

# go_matrix NAME PACKAGE RUN BACKENDS INTRO: run the server tests of a
# conformance package (they log "MATRIX backend | capability | status |
# duration | detail" lines) and append a section with one column per backend
# (BACKENDS: names separated by "|", in column order) to $out. A capability
# left out of a suite run as a known difference is measured by its own test,
# which logs its MATRIX line too.
go_matrix() {
  local name=$1 pkg=$2 run=$3 backends=$4 intro=$5 rc
  set +e
  CIVICPORT_REQUIRE_SERVICES=1 go test -count=1 -v -timeout 10m -run "$run" "$pkg" >"$filedir/$name.log" 2>&1
  rc=$?
  set -e
  grep -ah 'MATRIX ' "$filedir/$name.log" | sed 's/^.*MATRIX //' >"$filedir/$name.matrix" || true
  if [[ $rc != 0 ]]; then
    echo "$name server tests failed (exit $rc); the matrix below shows what they measured:" >&2
    grep -E '^\s*--- FAIL|Error:' "$filedir/$name.log" | head -20 >&2 || true
  fi
  [[ -s $filedir/$name.matrix ]] || { echo "no $name MATRIX lines (see go test output above)" >&2; exit 1; }
  {
    printf '%s\n\n' "$intro"
    awk -F' [|] ' -v backends="$backends" '
      { name = $1; cap = $2; st[name, cap] = $3
        d = $0; for (k = 1; k <= 4; k++) sub(/^[^|]* [|] /, "", d)  # the detail may hold " | "
        det[name, cap] = d
        if (!((name, cap) in had)) { had[name, cap] = 1; order[name, ++n[name]] = cap } }
      END {
        nb = split(backends, b, "|")
        # Rows in suite order: the first backend that ran the whole suite
        # (Test logs its results in order), then anything else seen.
        for (i = 1; i <= nb; i++) for (k = 1; k <= n[b[i]]; k++) {
          cap = order[b[i], k]; if (!(cap in seen)) { seen[cap] = 1; caps[++nc] = cap }
        }
        printf "| capability |"; for (i = 1; i <= nb; i++) printf " %s |", b[i]; printf "\n|---|"
        for (i = 1; i <= nb; i++) printf "---|"; printf "\n"
        for (c = 1; c <= nc; c++) {
          printf "| `%s` |", caps[c]
          for (i = 1; i <= nb; i++) { s = st[b[i], caps[c]]; printf " %s |", (s == "" ? "-" : s) }
          printf "\n"
        }
        printf "\n**Details** (every result, with the evidence)\n\n"
        for (i = 1; i <= nb; i++) for (c = 1; c <= nc; c++) if ((b[i], caps[c]) in st) {
          d = det[b[i], caps[c]]; gsub(/[|]/, "\\|", d); if (length(d) > 300) d = substr(d, 1, 297) "..."
          printf "- %s `%s` %s: %s\n", b[i], caps[c], st[b[i], caps[c]], d
        }
      }' "$filedir/$name.matrix"
  } >>"$out"
}

go_matrix pubsub ./conformance/pubsubtest/ '^(TestMem|TestJetStream|TestServer[A-Za-z]+|TestRabbitMQ[A-Za-z]+)$' \
  "mem|jetstream|sqs|sns → sqs|rabbit|gcppubsub (pstest)" "$(cat <<HDR

## Pub/Sub

Measured live by \`conformance/pubsubtest\` (the suite \`civicport conform
--topic URL --subscription URL\` runs), from its server tests: \`go test -run
'TestMem|TestJetStream|TestServer|TestRabbitMQ' ./conformance/pubsubtest/\`,
against the same servers, on $(date -u +%Y-%m-%d).

Backends: \`mem\` is gocloud's mempubsub; \`jetstream\` is civicport's
at-least-once NATS JetStream driver (\`adapters/jetstream\`), declared
ordered; \`sqs\` sends straight to a standard SQS queue and \`sns → sqs\`
publishes to an SNS topic with raw delivery to one (both on fauxqs, visibility
timeout 2 s, redrive policy to a dead-letter queue after 3 receives);
\`rabbit\` is a fanout exchange and a quorum queue (x-delivery-limit, a
dead-letter exchange; a fresh queue for every check; civicport gives each
rabbit:// subscription its own AMQP connection, closed on shutdown, because
gocloud's shared one keeps a shut-down subscription's unacked messages);
\`gcppubsub (pstest)\` is gocloud's gcppubsub driver on the in-process Pub/Sub
fake (ack deadline 10 s, dead-letter policy after 5 delivery attempts, bodies
tried up to 2 MiB: pstest stalls on a 4 MiB publish). pubsub.dead_letter is
measured where a dead-letter queue is set up (SQS, SNS → SQS, RabbitMQ,
Pub/Sub); mem and JetStream have none. On RabbitMQ, pubsub.ack_deadline
fails for real (RabbitMQ has no ack deadline): a known difference, see
\`conformance/pubsubtest/main_test.go\`.
HDR
)"

go_matrix secrets ./conformance/secretstest/ '^(TestBase64Key|TestRingOfLocalKeys|TestAWSKMSLocal|TestPKCS11SoftHSM|TestGCPKMSFake)$' \
  "base64key|ring(base64key,base64key)|awskms (local-kms)|pkcs11 (SoftHSM2)|gcpkms (fake)" "$(cat <<HDR

## Secrets

Measured live by \`conformance/secretstest\` (the suite \`civicport conform
--secrets URL\` runs), from its tests: \`go test ./conformance/secretstest/\`,
against local-kms (AWS KMS API), SoftHSM2 (PKCS#11) and civicport's in-repo
fake of the Cloud KMS gRPC API (\`internal/testing/gcpkmsfake\`), on $(date -u +%Y-%m-%d).
A pass may carry notes (what a backend refuses, e.g. AWS KMS's 4 KiB limit;
deterministic encryption is a note, not a fail: the portable API does not
promise randomness, and envelopes use a fresh data key each time). A ring
decrypts with any member, so damage to one member's entry goes unnoticed while
another member can decrypt (noted in its tamper_detect detail).
HDR
)"
echo "wrote $out" >&2

# The README carries the blob matrix itself (the first table, without the
# reasons), between markers; the pubsub table (the second) goes only between
# <!-- pubsub-capabilities:start/end --> markers, and only if README has them.
if [[ $out == docs/capabilities.md ]]; then
  table=$(awk '/^\| capability \|/ { f = 1 } f && /^$/ { exit } f' "$out")
  awk -v table="$table" '
    /<!-- capabilities:start -->/ { print; print table; skip = 1; next }
    /<!-- capabilities:end -->/ { skip = 0 }
    !skip' README.md >README.md.tmp && mv README.md.tmp README.md
  if grep -q '<!-- pubsub-capabilities:start -->' README.md; then
    table=$(awk '/^\| capability \|/ { t++ } t == 2 && /^$/ { exit } t == 2' "$out")
    awk -v table="$table" '
      /<!-- pubsub-capabilities:start -->/ { print; print table; skip = 1; next }
      /<!-- pubsub-capabilities:end -->/ { skip = 0 }
      !skip' README.md >README.md.tmp && mv README.md.tmp README.md
  fi
  echo "updated README.md" >&2
fi
