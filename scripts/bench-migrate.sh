#!/usr/bin/env bash
# bench-migrate.sh — civicport migrate (which verifies every object by SHA-256)
# against rclone, between two MinIO servers on 127.0.0.1, in one run.
#
# Installs rclone v1.76.0 and MinIO (cached with the test services), starts two
# fresh MinIO servers, puts OBJECTS_SMALL x 64 KiB + OBJECTS_LARGE x 32 MiB on
# the first (default 2,000 + 16 = 637 MiB), then times, each into a fresh bucket
# on the second server:
#   1. rclone copy                          (unverified: sizes / ETags only)
#   2. rclone copy + rclone check --download (verified: re-reads both sides)
#   3. civicport migrate, minio:// adapter   (verified: SHA-256 while streaming,
#      the server checks x-amz-checksum-sha256 of every object or part)
#   4. civicport migrate, s3:// (gocloud s3blob, the same checks)
# after one uncounted warm-up copy, interleaved for ROUNDS rounds (default 2),
# and prints times, MiB/s, peak RSS and ratios of the best of each. Not a test: numbers vary with
# the machine; the goal is civicport (verified) <= rclone copy (unverified).
#
# usage: scripts/bench-migrate.sh     env: OBJECTS_SMALL, OBJECTS_LARGE, WORKERS (8), ROUNDS (2)
#
# Scale mode (scripts/bench-migrate.sh --scale, or SCALE=1): no MinIO, no
# rclone. For each N in SCALE_SIZES (default "30000 300000"), writes N objects
# of SCALE_BYTES (256) on file://, then times `civicport migrate` file:// ->
# file:// (with a manifest) and `civicport verify --manifest` of the copy, and
# prints for each the time, the time per 10k objects and the peak RSS. Goal:
# time per object flat, peak RSS at the largest N within 1.2x of the smallest
# and under 256 MB. Needs about N x 12 KiB of disk in $TMPDIR (file://
# objects take a block each, and their .attrs files another).
# SCALE_TO=minio: the same between two fresh local MinIO servers (a
# bucket listed in sorted pages), after putting the N objects on the first.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-mod=mod
CACHE=${CIVICPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/civicport-test-services}
BIN=$CACHE/bin
SMALL=${OBJECTS_SMALL:-2000} LARGE=${OBJECTS_LARGE:-16} WORKERS=${WORKERS:-8}

# Only MinIO of the test services: the others would run beside the
# contenders and take CPU from them.
ONLY_MINIO="versitygw fakegcs kms softhsm fauxqs rabbitmq azurite seaweedfs nats"

# build_uncached builds civicport to $1 and drops the binary from the page
# cache. Measured here: a binary the linker has just written keeps its pages
# cached in large blocks, so every run of it counts up to 25 MB more peak RSS
# (`civicport --help`: 70 MB fresh, 44 MB once read back from disk) than
# the same binary installed earlier, as rclone's is.
build_uncached() {
  go build -o "$1" ./cmd/civicport
  sync "$1"
  dd if="$1" iflag=nocache count=0 status=none
}

KEY=benchadmin SECRET=benchadmin-secret
PA=9300 PB=9400

# start_minio_pair starts two fresh MinIO servers (data under $W) on $PA and
# $PB, to be stopped by cleanup, and waits until both are ready.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
start_minio_pair() {
  CIVICPORT_SKIP="$ONLY_MINIO" scripts/test-services.sh start >/dev/null   # installs MinIO if needed
  for p in $PA $PB; do
    mkdir -p "$W/minio-$p"
    MINIO_ROOT_USER=$KEY MINIO_ROOT_PASSWORD=$SECRET MINIO_UPDATE=off MINIO_BROWSER=off \
      "$BIN/minio" server "$W/minio-$p" --address 127.0.0.1:$p --console-address 127.0.0.1:$((p + 1)) --quiet >"$W/minio-$p.log" 2>&1 &
    pids+=($!)
  done
  for p in $PA $PB; do
    for _ in $(seq 300); do curl -fsS -o /dev/null "http://127.0.0.1:$p/minio/health/ready" 2>/dev/null && break; sleep 0.1; done
  done
}

if [[ ${1:-} == --scale || ${SCALE:-} == 1 ]]; then
  command -v bc >/dev/null && [[ -x /usr/bin/time ]] || { apt-get update -qq && apt-get install -y -qq time bc >/dev/null; }
  SIZES=${SCALE_SIZES:-30000 300000} BYTES=${SCALE_BYTES:-256}
  W=$(mktemp -d)
  trap cleanup EXIT
  build_uncached "$W/civicport"
  scaled() { # name n cmd... ; prints seconds, per 10k objects, peak RSS (MB)
    local name=$1 n=$2; shift 2
    local s e secs rss
    s=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$W/rss" "$@" >"$W/out.log" 2>&1 || { echo "$name FAILED:" >&2; tail -5 "$W/out.log" >&2; exit 1; }
    e=$(date +%s.%N)
    secs=$(echo "$e - $s" | bc -l)
    rss=$(( $(tail -1 "$W/rss") / 1024 ))
    printf '%-34s %8d objects %8.2f s  %6.2f s per 10k  peak RSS %4d MB\n' "$name" "$n" "$secs" "$(echo "$secs * 10000 / $n" | bc -l)" "$rss"
  }
  if [[ ${SCALE_TO:-file} == minio ]]; then
    # Two fresh MinIO servers; the objects are put on the first by
    # civicport migrate from file:// (timed as "seed", not a contender).
    start_minio_pair
    export MINIO_ACCESS_KEY=$KEY MINIO_SECRET_KEY=$SECRET
    mkbucket() { curl -fsS -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" "http://$1/$2"; }
    echo "minio:// -> minio:// (two local MinIO servers), objects of $BYTES bytes, $WORKERS workers, $(nproc) cores"
  else
    echo "file:// -> file://, objects of $BYTES bytes, $WORKERS workers, $(nproc) cores"
  fi
  for n in $SIZES; do
    d=$W/$n
    mkdir -p "$d/src/ballots" "$d/dst"
    # One stream cut into N files: seconds even for 300,000.
    head -c $((n * BYTES)) /dev/urandom | split -b "$BYTES" -a 7 -d - "$d/src/ballots/scan-"
    from=file://$d/src to=file://$d/dst
    if [[ ${SCALE_TO:-file} == minio ]]; then
      mkbucket 127.0.0.1:$PA "src$n"; mkbucket 127.0.0.1:$PB "dst$n"
      from="minio://127.0.0.1:$PA/src$n?secure=false" to="minio://127.0.0.1:$PB/dst$n?secure=false"
      scaled "  (seed: file:// -> minio://)" "$n" "$W/civicport" migrate --from "file://$d/src" --to "$from" \
        --workers "$WORKERS" --manifest "$d/seed.jsonl"
      rm -rf "$d/src"
    fi
    scaled "civicport migrate" "$n" "$W/civicport" migrate --from "$from" --to "$to" \
      --workers "$WORKERS" --manifest "$d/manifest.jsonl"
    scaled "civicport verify --manifest" "$n" "$W/civicport" verify --manifest "$d/manifest.jsonl" \
      --bucket "$to" --workers "$WORKERS"
    rm -rf "$d"
  done
  exit 0
fi
if [[ ! -x $BIN/rclone ]]; then
  echo "installing rclone v1.76.0 (cold: several minutes)" >&2
  ( cd "$CACHE" && GOBIN=$BIN go install github.com/rclone/rclone@v1.76.0 )
fi
command -v bc >/dev/null && [[ -x /usr/bin/time ]] || { apt-get update -qq && apt-get install -y -qq time bc >/dev/null; }

W=$(mktemp -d)
trap cleanup EXIT
start_minio_pair

export RCLONE_CONFIG_A_TYPE=s3 RCLONE_CONFIG_A_PROVIDER=Minio RCLONE_CONFIG_A_ACCESS_KEY_ID=$KEY \
  RCLONE_CONFIG_A_SECRET_ACCESS_KEY=$SECRET RCLONE_CONFIG_A_ENDPOINT=http://127.0.0.1:$PA
export RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Minio RCLONE_CONFIG_B_ACCESS_KEY_ID=$KEY \
  RCLONE_CONFIG_B_SECRET_ACCESS_KEY=$SECRET RCLONE_CONFIG_B_ENDPOINT=http://127.0.0.1:$PB
rc() { "$BIN/rclone" --config /dev/null "$@"; }

echo "generating $SMALL x 64 KiB + $LARGE x 32 MiB" >&2
mkdir -p "$W/data/small" "$W/data/large"
head -c $((SMALL * 65536)) /dev/urandom | split -b 65536 -d -a 5 - "$W/data/small/ballot-"
head -c $((LARGE * 33554432)) /dev/urandom | split -b 33554432 -d -a 3 - "$W/data/large/scan-"
rc mkdir a:src
rc copy "$W/data" a:src --transfers "$WORKERS" >/dev/null
rm -rf "$W/data"
total=$(( SMALL * 65536 + LARGE * 33554432 ))
build_uncached "$W/civicport"

results=()
timed() { # name cmd... ; records seconds and peak RSS (MB)
  local name=$1; shift
  local s e
  s=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$W/rss" "$@" >"$W/out.log" 2>&1 || { echo "$name FAILED:" >&2; tail -5 "$W/out.log" >&2; exit 1; }
  e=$(date +%s.%N)
  local secs rss
  secs=$(echo "$e - $s" | bc -l)
  rss=$(( $(tail -1 "$W/rss") / 1024 ))
  results+=("$name|$secs|$rss")
  printf '%-46s %7.2f s  %6.1f MiB/s  peak RSS %4d MB\n' "$name" "$secs" "$(echo "$total / 1048576 / $secs" | bc -l)" "$rss"
}

s3q="endpoint=http://127.0.0.1:$PB&use_path_style=true&region=us-east-1"
s3qa="endpoint=http://127.0.0.1:$PA&use_path_style=true&region=us-east-1"
export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET AWS_EC2_METADATA_DISABLED=true MINIO_ACCESS_KEY=$KEY MINIO_SECRET_KEY=$SECRET
ROUNDS=${ROUNDS:-2}

echo; echo "$SMALL x 64 KiB + $LARGE x 32 MiB = $((total / 1048576)) MiB, $WORKERS parallel transfers, 2 cores, $ROUNDS interleaved rounds after a warm-up"
# Fresh servers are ~20% slower on their first run: one warm-up copy of each
# kind, not counted.
rc mkdir b:warm1; rc mkdir b:warm2
"$BIN/rclone" --config /dev/null copy a:src b:warm1 --transfers "$WORKERS" >/dev/null 2>&1
"$W/civicport" migrate --from "minio://127.0.0.1:$PA/src?secure=false" --to "minio://127.0.0.1:$PB/warm2?secure=false" --workers "$WORKERS" --manifest "$W/warm.jsonl" >/dev/null 2>&1
for r in $(seq "$ROUNDS"); do
  for b in copy$r mig$r s3mig$r; do rc mkdir b:$b; done
  timed "rclone copy" "$BIN/rclone" --config /dev/null copy a:src b:copy$r --transfers "$WORKERS"
  timed "  + rclone check --download" "$BIN/rclone" --config /dev/null check a:src b:copy$r --download --checkers "$WORKERS"
  timed "civicport migrate minio:// (SHA-256, server-checked)" "$W/civicport" migrate --from "minio://127.0.0.1:$PA/src?secure=false" \
    --to "minio://127.0.0.1:$PB/mig$r?secure=false" --workers "$WORKERS" --manifest "$W/m$r.jsonl"
  timed "civicport migrate s3:// (SHA-256, server-checked)" "$W/civicport" migrate --from "s3://src?$s3qa" \
    --to "s3://s3mig$r?$s3q" --workers "$WORKERS" --manifest "$W/s$r.jsonl"
  checks=$(grep -o '"server_check":"[a-z0-9-]*"' "$W/m$r.jsonl" | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  echo "  minio:// manifest: $(wc -l <"$W/m$r.jsonl") entries, server checks:$checks"
done

best() { # the least seconds of a contender, or of the sum of two that ran in the same round
  local best="" v
  for i in "${!results[@]}"; do
    local r=${results[$i]} n=${results[$i]%%|*}
    [[ $n == "$1" ]] || continue
    r=${r#*|}; v=${r%%|*}
    if [[ -n ${2:-} ]]; then local nx=${results[$((i + 1))]}; nx=${nx#*|}; v=$(echo "$v + ${nx%%|*}" | bc -l); fi
    if [[ -z $best ]] || (( $(echo "$v < $best" | bc -l) )); then best=$v; fi
  done
  echo "$best"
}
copy=$(best "rclone copy")
check=$(best "rclone copy" plus-check)
mig=$(best "civicport migrate minio:// (SHA-256, server-checked)")
s3mig=$(best "civicport migrate s3:// (SHA-256, server-checked)")
echo
printf 'best of %d: rclone copy %.2f s, copy + check %.2f s, civicport minio:// %.2f s, s3:// %.2f s\n' "$ROUNDS" "$copy" "$check" "$mig" "$s3mig"
printf 'civicport minio:// (verified) / rclone copy (unverified):  %.2f  (goal <= 1.00)\n' "$(echo "$mig / $copy" | bc -l)"
printf 'civicport s3:// (verified) / rclone copy (unverified):     %.2f\n' "$(echo "$s3mig / $copy" | bc -l)"
printf 'rclone copy + check --download / civicport minio://:        %.2f  (goal >= 1.50)\n' "$(echo "$check / $mig" | bc -l)"
