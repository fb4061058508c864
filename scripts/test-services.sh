#!/usr/bin/env bash
# test-services.sh — install (idempotently, cached outside the repo) and start
# the servers civicport's tests talk to, all bound to 127.0.0.1:
#
#   MinIO            S3 API + object lock     127.0.0.1:9100  (console 9101)
#   versitygw        S3 gateway over a dir    127.0.0.1:7070
#   fake-gcs-server  GCS JSON API             127.0.0.1:4443
#   local-kms        AWS KMS API              127.0.0.1:8081  (loopback wrapper)
#   nats-server      NATS + JetStream         127.0.0.1:4222  (monitor 8222)
#   fauxqs           AWS SQS + SNS API        127.0.0.1:4566  (node, loopback launcher)
#   Azurite          Azure Blob API           127.0.0.1:10000 (node; account devstoreaccount1)
#   SeaweedFS        S3 API + object lock     127.0.0.1:8333  (master 9333, volume 8380, filer 8888;
#                                                              their gRPC ports +10000: 19333 18380 18888 18333)
#   RabbitMQ         AMQP 0-9-1               127.0.0.1:5672  (epmd 127.0.0.1:4369, dist 127.0.0.1:25672)
#   SoftHSM2         PKCS#11 token "civicport" (a library, no server; token in $CIVICPORT_RUN/softhsm)
#
# usage: scripts/test-services.sh [start|stop|status|env]   (default: start)
#   start   install what is missing, start what is not running, wait until
#           ready, print `export` lines (also written to $CIVICPORT_RUN/env.sh)
#   stop    stop the servers this script started (by recorded PID)
#
# Environment:
#   CIVICPORT_CACHE  binaries and logs   (default ${XDG_CACHE_HOME:-$HOME/.cache}/civicport-test-services)
#   CIVICPORT_RUN    data, logs, pids    (default $CIVICPORT_CACHE/run)
#   CIVICPORT_SKIP   services to leave out, e.g. "versitygw fakegcs kms softhsm fauxqs rabbitmq azurite seaweedfs"
#
# Needs: go (the toolchain in go.mod), curl; node + npm for fauxqs and Azurite;
# for SoftHSM2 and RabbitMQ, the Debian packages softhsm2 and rabbitmq-server
# (installed with apt-get when missing and running as root; node/npm likewise).
# Cold install takes ~15 min on 2 cores (the SeaweedFS and MinIO builds, in
# parallel, are most of it); warm, a start takes a few seconds (RabbitMQ's
# boot is most of it).
set -euo pipefail

CACHE=${CIVICPORT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/civicport-test-services}
RUN=${CIVICPORT_RUN:-$CACHE/run}
BIN=$CACHE/bin
SKIP=" ${CIVICPORT_SKIP:-} "
mkdir -p "$BIN" "$RUN/log" "$RUN/pid"

# Pinned versions (verified on these machines, see shared notes).
MINIO_MOD=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
VERSITYGW_MOD=github.com/versity/versitygw/cmd/versitygw@v1.8.0
FAKEGCS_MOD=github.com/fsouza/fake-gcs-server@v1.56.1
NATS_MOD=github.com/nats-io/nats-server/v2@v2.15.2
LOCALKMS_MOD=github.com/nsmithuk/local-kms
LOCALKMS_VER=v0.0.0-20260228092603-2a5e92d09ab6
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
SOFTHSM_TOKEN=civicport SOFTHSM_PIN=1234 SOFTHSM_SO_PIN=5678
FAUXQS_VER=1.9.2
AZURITE_VER=3.35.0
# `go install` refuses SeaweedFS (its go.mod has a replace directive): built in place, see install_seaweedfs.
SEAWEEDFS_MOD=github.com/seaweedfs/seaweedfs
SEAWEEDFS_VER=v0.0.0-20261109003541-7506e5f91cd6
# Azurite's well-known development account and key (public, the same in every Azurite).
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# One key pair accepted by every S3-style server here (internal/testenv uses it too).
S3_KEY=emuadmin S3_SECRET=emuadmin-secret
MINIO_PORT=9100 MINIO_CONSOLE_PORT=9101 VGW_PORT=7070 GCS_PORT=4443 KMS_PORT=8081
NATS_PORT=4222 NATS_MON_PORT=8222
FAUXQS_PORT=4566 RABBIT_PORT=5672 RABBIT_DIST_PORT=25672
AZURITE_PORT=10000
# SeaweedFS: every port explicit (its defaults include 8080, 9101 = MinIO's console, 8181);
# each gRPC port is the HTTP port + 10000.
SWFS_S3_PORT=8333 SWFS_MASTER_PORT=9333 SWFS_VOLUME_PORT=8380 SWFS_FILER_PORT=8888

export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export npm_config_cache=${npm_config_cache:-$CACHE/npm-cache}

T0=$(date +%s)
log() { printf '[test-services %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
skip() { [[ "$SKIP" == *" $1 "* ]]; }
running() { [[ -f $RUN/pid/$1 ]] && kill -0 "$(cat "$RUN/pid/$1")" 2>/dev/null; }

need() {
  command -v "$1" >/dev/null && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing $2 with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >"$RUN/log/apt-$2.log" 2>&1 \
      || { log "apt-get install $2 FAILED (see $RUN/log/apt-$2.log)"; exit 1; }
  else
    log "missing $1: install $2"; exit 1
  fi
}

go_install() { # name module
  local name=$1 mod=$2
  if [[ -x $BIN/$name ]]; then return 0; fi
  log "install $name: go install $mod (cold: minutes)"
  local s=$(date +%s)
  # Build outside the repo so go.mod here is not consulted.
  ( cd "$CACHE" && GOBIN=$BIN timeout 1500 go install "$mod" ) >"$RUN/log/install-$name.log" 2>&1 \
    || { log "install $name FAILED (see $RUN/log/install-$name.log)"; tail -5 "$RUN/log/install-$name.log" >&2; return 1; }
  log "install $name: done in $(( $(date +%s) - s ))s"
}

# local-kms binds every interface with no host option, so serve its handler
# from a small wrapper on 127.0.0.1 (built outside the repo, cached in $BIN).
install_localkms() {
  local name=local-kms-loopback
  if [[ -x $BIN/$name ]]; then return 0; fi
  local s=$(date +%s) d=$CACHE/src/kmswrap
  mkdir -p "$d"
  cat >"$d/go.mod" <<EOF
module example.com/localkmsloopback

go 1.26.0

require $LOCALKMS_MOD $LOCALKMS_VER
EOF
  cat >"$d/main.go" <<'EOF'
// Command local-kms-loopback serves github.com/nsmithuk/local-kms on KMS_LISTEN
// (upstream binds ":"+PORT = all interfaces, with no host option).
package main

import (
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	config.AWSAccountId = env("KMS_ACCOUNT_ID", "111122223333")
	config.AWSRegion = env("KMS_REGION", "us-east-1")
	p, err := filepath.Abs(env("KMS_DATA_PATH", "local-kms-data"))
	if err != nil {
		log.Fatal(err)
	}
	config.DatabasePath = p
	db := data.NewDatabase(p)
	defer db.Close()
	ln, err := net.Listen("tcp", env("KMS_LISTEN", "127.0.0.1:8081"))
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("local-kms (loopback wrapper) on %s, data in %s, region %s", ln.Addr(), p, config.AWSRegion)
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src.HandleRequest(w, r, db)
	})))
}
EOF
  log "install $name: go build (wraps $LOCALKMS_MOD@$LOCALKMS_VER)"
  ( cd "$d" && timeout 600 go mod tidy && timeout 900 go build -o "$BIN/$name" . ) >"$RUN/log/install-$name.log" 2>&1 \
    || { log "install $name FAILED (see $RUN/log/install-$name.log)"; tail -5 "$RUN/log/install-$name.log" >&2; return 1; }
  log "install $name: done in $(( $(date +%s) - s ))s"
}

install_softhsm() {
  if command -v softhsm2-util >/dev/null && [[ -f $SOFTHSM_MODULE ]]; then return 0; fi
  [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null \
    || { log "SoftHSM2 missing: install the Debian package softhsm2 (as root), or set CIVICPORT_SKIP=softhsm"; return 1; }
  log "install softhsm2: apt-get install softhsm2"
  local s=$(date +%s)
  { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq -o DPkg::Lock::Timeout=240 softhsm2; } \
    >"$RUN/log/apt-softhsm2.log" 2>&1 || { log "apt-get install softhsm2 FAILED (see $RUN/log/apt-softhsm2.log)"; return 1; }
  log "install softhsm2: done in $(( $(date +%s) - s ))s"
}

# init_softhsm writes the SoftHSM2 configuration under $RUN and initialises
# the token once (idempotent: an existing token with the label is kept).
init_softhsm() {
  mkdir -p "$RUN/softhsm/tokens"
  cat >"$RUN/softhsm/softhsm2.conf" <<EOF
directories.tokendir = $RUN/softhsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
  export SOFTHSM2_CONF=$RUN/softhsm/softhsm2.conf
  if softhsm2-util --show-slots 2>/dev/null | grep -q "Label: *$SOFTHSM_TOKEN *\$"; then return 0; fi
  softhsm2-util --init-token --free --label "$SOFTHSM_TOKEN" --pin "$SOFTHSM_PIN" --so-pin "$SOFTHSM_SO_PIN" \
    >"$RUN/log/softhsm-init.log" 2>&1 || { log "softhsm token init FAILED (see $RUN/log/softhsm-init.log)"; return 1; }
  log "softhsm: token '$SOFTHSM_TOKEN' initialised"
}

# fauxqs (SQS + SNS) from npm, cached in $CACHE/fauxqs, plus a launcher that
# binds 127.0.0.1 (its CLI hard-codes listen host 0.0.0.0).
install_fauxqs() {
  local d=$CACHE/fauxqs
  if ! { [[ -f $d/node_modules/fauxqs/package.json ]] \
         && grep -q "\"version\": \"$FAUXQS_VER\"" "$d/node_modules/fauxqs/package.json"; }; then
    local s=$(date +%s)
    log "install fauxqs: npm install fauxqs@$FAUXQS_VER"
    mkdir -p "$d"
    timeout 600 npm install --no-audit --no-fund --prefix "$d" "fauxqs@$FAUXQS_VER" >"$RUN/log/install-fauxqs.log" 2>&1 \
      || { log "install fauxqs FAILED (see $RUN/log/install-fauxqs.log)"; tail -5 "$RUN/log/install-fauxqs.log" >&2; return 1; }
    log "install fauxqs: done in $(( $(date +%s) - s ))s"
  fi
  cat >"$d/fauxqs-loopback.mjs.new" <<'EOF'
// Start fauxqs bound to loopback only (its CLI hard-codes host "0.0.0.0").
// Env: FAUXQS_PORT (4566), FAUXQS_BIND (127.0.0.1), FAUXQS_URL_HOST (host name
//      used in queue URLs), FAUXQS_DEFAULT_REGION, FAUXQS_LOGGER,
//      FAUXQS_HTTPS_QUEUE_URLS=0 disables the QueueUrl shim (https->http, then by name).
import { buildApp } from "./node_modules/fauxqs/dist/app.js";
import { SqsStore } from "./node_modules/fauxqs/dist/sqs/sqsStore.js";

if (process.env.FAUXQS_HTTPS_QUEUE_URLS !== "0") {
  // gocloud.dev awssqs:// URLs always send QueueUrl="https://<host><path>", but fauxqs
  // stores queues under "http://..." and looks them up by exact string.
  const alt = (u) => (typeof u === "string" && u.startsWith("https://")) ? "http://" + u.slice(8) : u;
  const getQueue = SqsStore.prototype.getQueue;
  // Last resort: match by queue name (last path segment), so awssqs://127.0.0.1:PORT/ACCOUNT/NAME works too.
  const byName = (store, u) => typeof u === "string" ? store.getQueueByName(u.split("?")[0].replace(/\/+$/, "").split("/").pop()) : undefined;
  SqsStore.prototype.getQueue = function (u) { return getQueue.call(this, u) ?? getQueue.call(this, alt(u)) ?? byName(this, u); };
  const deleteQueue = SqsStore.prototype.deleteQueue;
  SqsStore.prototype.deleteQueue = function (u) {
    if (deleteQueue.call(this, u) || deleteQueue.call(this, alt(u))) return true;
    const q = byName(this, u);
    return q ? deleteQueue.call(this, q.url) : false;
  };
}
const loggerEnv = process.env.FAUXQS_LOGGER;
const app = buildApp({
  logger: loggerEnv !== undefined ? loggerEnv !== "false" : false,
  host: process.env.FAUXQS_URL_HOST,
  defaultRegion: process.env.FAUXQS_DEFAULT_REGION,
});
const port = parseInt(process.env.FAUXQS_PORT ?? "4566");
const host = process.env.FAUXQS_BIND ?? "127.0.0.1";
const addr = await app.listen({ port, host });
console.log(`fauxqs listening on ${addr}`);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => app.close().then(() => process.exit(0)));
EOF
  mv "$d/fauxqs-loopback.mjs.new" "$d/fauxqs-loopback.mjs"
}

# Azurite (Azure Blob emulator) from npm, cached in $CACHE/azurite; its own
# CLI takes the listen host, so no launcher is needed.
install_azurite() {
  local d=$CACHE/azurite
  if [[ -f $d/node_modules/azurite/package.json ]] \
     && grep -q "\"version\": \"$AZURITE_VER\"" "$d/node_modules/azurite/package.json"; then return 0; fi
  local s=$(date +%s)
  log "install azurite: npm install azurite@$AZURITE_VER"
  mkdir -p "$d"
  timeout 600 npm install --no-audit --no-fund --prefix "$d" "azurite@$AZURITE_VER" >"$RUN/log/install-azurite.log" 2>&1 \
    || { log "install azurite FAILED (see $RUN/log/install-azurite.log)"; tail -5 "$RUN/log/install-azurite.log" >&2; return 1; }
  log "install azurite: done in $(( $(date +%s) - s ))s"
}

# SeaweedFS's `weed`. `go install MOD@VER` refuses the module (its go.mod has a
# replace directive), so download it and build ./weed inside the (read-only)
# module directory, where go.mod applies as the main module's.
install_seaweedfs() {
  local name=weed
  if [[ -x $BIN/$name ]]; then return 0; fi
  local s=$(date +%s) dir=
  log "install seaweedfs: go build $SEAWEEDFS_MOD/weed@$SEAWEEDFS_VER (cold: ~15 minutes)"
  {
    dir=$(cd "$CACHE" && timeout 600 go mod download -json "$SEAWEEDFS_MOD@$SEAWEEDFS_VER" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') && [[ -d $dir ]] \
      && ( cd "$dir" && GOFLAGS=-mod=readonly GOWORK=off timeout 1800 go build -ldflags="-s -w" -o "$BIN/$name" ./weed )
  } >"$RUN/log/install-seaweedfs.log" 2>&1 \
    || { log "install seaweedfs FAILED (see $RUN/log/install-seaweedfs.log)"; tail -5 "$RUN/log/install-seaweedfs.log" >&2; return 1; }
  log "install seaweedfs: done in $(( $(date +%s) - s ))s"
}

# seaweedfs_setup writes the S3 identity file: our one key pair, with every action.
seaweedfs_setup() {
  mkdir -p "$RUN/seaweedfs/data"
  cat >"$RUN/seaweedfs/s3.json" <<EOF
{
  "identities": [
    {
      "name": "civicport",
      "credentials": [{"accessKey": "$S3_KEY", "secretKey": "$S3_SECRET"}],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF
}

# RabbitMQ from Debian (rabbitmq-server pulls in Erlang). The package's own
# broker must not start: with no systemd here, invoke-rc.d would run the init
# script, so a policy-rc.d that forbids starts is put in place for the
# install when the machine has none (Docker images usually do).
rabbit_sbin() { ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin 2>/dev/null | sort -V | tail -1; }
install_rabbitmq() {
  if [[ -n $(rabbit_sbin) ]] && command -v epmd >/dev/null; then return 0; fi
  [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null \
    || { log "RabbitMQ missing: install the Debian package rabbitmq-server (as root), or set CIVICPORT_SKIP=rabbitmq"; return 1; }
  log "install rabbitmq: apt-get install rabbitmq-server"
  local s=$(date +%s) policy=/usr/sbin/policy-rc.d tmp_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, scripts/test-services.sh: no service starts during install\nexit 101\n' >"$policy"
    chmod 755 "$policy"; tmp_policy=1
  fi
  local rc=0
  { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
      -o DPkg::Lock::Timeout=240 --no-install-recommends rabbitmq-server; } >"$RUN/log/apt-rabbitmq-server.log" 2>&1 || rc=1
  [[ -z $tmp_policy ]] || rm -f "$policy"
  [[ $rc == 0 ]] || { log "apt-get install rabbitmq-server FAILED (see $RUN/log/apt-rabbitmq-server.log)"; return 1; }
  log "install rabbitmq: done in $(( $(date +%s) - s ))s"
}

# rabbit_env prints the env assignments for our broker and its CLI tools:
# everything under $RUN/rabbitmq, nothing from /etc/rabbitmq or /var/lib/rabbitmq,
# AMQP, epmd and Erlang distribution all on 127.0.0.1.
rabbit_env() {
  local r=$RUN/rabbitmq
  local loop='-kernel inet_dist_use_interface {127,0,0,1}'
  printf '%s\n' \
    HOME="$r" \
    RABBITMQ_NODENAME=civicport@localhost \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$RABBIT_PORT RABBITMQ_DIST_PORT=$RABBIT_DIST_PORT \
    ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=4369 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$loop" RABBITMQ_CTL_ERL_ARGS="$loop" \
    RABBITMQ_CONF_ENV_FILE="$r/rabbitmq-env.conf" RABBITMQ_CONFIG_FILE="$r/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$r/advanced.config" RABBITMQ_ENABLED_PLUGINS_FILE="$r/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$r/mnesia" RABBITMQ_LOG_BASE="$r/log" RABBITMQ_PID_FILE="$r/beam.pid"
}

rabbit_setup() {
  local r=$RUN/rabbitmq
  mkdir -p "$r/mnesia" "$r/log"
  : >"$r/rabbitmq-env.conf"
  echo '[].' >"$r/enabled_plugins"
  echo '[].' >"$r/advanced.config"
  cat >"$r/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$RABBIT_PORT
loopback_users.guest = true
log.console = false
log.file.level = warning
EOF
}

# rabbitmq_cmd ARGS...: runs a RabbitMQ CLI tool (rabbitmqctl, rabbitmq-diagnostics)
# against our broker.
rabbitmq_cmd() { local t=$1; shift; mapfile -t e < <(rabbit_env); env "${e[@]}" "$(rabbit_sbin)/$t" "$@"; }

# amqp_ok HOST:PORT: the server answers an AMQP 0-9-1 protocol header with a
# Connection.Start method frame (type 1, channel 0).
amqp_ok() {
  local h=${1%:*} p=${1##*:} fd b
  exec {fd}<>"/dev/tcp/$h/$p" || return 1
  printf 'AMQP\x00\x00\x09\x01' >&"$fd"
  b=$(timeout 2 head -c 3 <&"$fd" | od -An -tx1 | tr -d ' \n') || true
  exec {fd}>&-
  [[ $b == 010000 ]]
}

stop_rabbitmq() {
  local f=$RUN/pid/rabbitmq beam=$RUN/rabbitmq/beam.pid p= b=
  [[ -f $beam ]] && b=$(cat "$beam")
  if [[ -f $f ]]; then
    p=$(cat "$f")
    # The rabbitmq-server script stops the node gracefully on SIGTERM.
    kill "$p" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
      kill -0 "$p" 2>/dev/null || { [[ -n $b ]] && kill -0 "$b" 2>/dev/null; } || break
      sleep 0.1
    done
    kill -9 "$p" 2>/dev/null || true
    rm -f "$f"
  fi
  if [[ -n $b ]] && kill -0 "$b" 2>/dev/null; then kill -9 "$b" 2>/dev/null || true; fi
  rm -f "$beam"
  # epmd was started by our node (on 127.0.0.1); stop it unless other nodes use it.
  if command -v epmd >/dev/null && ERL_EPMD_ADDRESS=127.0.0.1 epmd -names 2>/dev/null | grep -q '^epmd: up'; then
    if ! ERL_EPMD_ADDRESS=127.0.0.1 epmd -names 2>/dev/null | grep -q '^name '; then
      ERL_EPMD_ADDRESS=127.0.0.1 epmd -kill >/dev/null 2>&1 || true
    fi
  fi
  [[ -z $p ]] || log "stopped rabbitmq ($p)"
}

install_all() {
  need curl curl
  if ! skip fauxqs || ! skip azurite; then need node nodejs; need npm npm; fi
  local pids=() fail=0
  # apt-get installs run one after the other (one dpkg lock).
  if ! skip softhsm || ! skip rabbitmq; then
    { r=0; skip softhsm || install_softhsm || r=1; skip rabbitmq || install_rabbitmq || r=1; exit $r; } & pids+=($!)
  fi
  skip fauxqs    || { install_fauxqs & pids+=($!); }
  skip kms       || { install_localkms & pids+=($!); }
  skip fakegcs   || { go_install fake-gcs-server "$FAKEGCS_MOD" & pids+=($!); }
  skip nats      || { go_install nats-server "$NATS_MOD" & pids+=($!); }
  skip versitygw || { go_install versitygw "$VERSITYGW_MOD" & pids+=($!); }
  skip minio     || { go_install minio "$MINIO_MOD" & pids+=($!); }
  skip seaweedfs || { install_seaweedfs & pids+=($!); }
  skip azurite   || { install_azurite & pids+=($!); }
  for p in "${pids[@]}"; do wait "$p" || fail=1; done
  [[ $fail == 0 ]] || { log "installs failed"; exit 1; }
}

start() { # name cmd...
  local name=$1; shift
  if running "$name"; then return 0; fi
  setsid "$@" >"$RUN/log/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/pid/$name"
  log "start $name: pid $!"
}

# kms_ok URL: local-kms answers a ListKeys call.
kms_ok() { curl -fsS -m 2 -o /dev/null -X POST -H 'X-Amz-Target: TrentService.ListKeys' \
  -H 'Content-Type: application/x-amz-json-1.1' -d '{}' "$1"; }
http_ok() { curl -fsS -m 2 -o /dev/null "$1"; }
# http_answers URL: any HTTP reply, whatever its status (Azurite answers an
# unsigned request with an error).
http_answers() { [[ $(curl -sS -m 2 -o /dev/null -w '%{http_code}' "$1") != 000 ]]; }
# s3_ok URL: a request signed with our key pair succeeds (the server is up and
# has loaded its identities).
s3_ok() { curl -fsS -m 2 -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_KEY:$S3_SECRET" "$1"; }

wait_ready() { # name url [check-function]
  local name=$1 url=$2 check=${3:-http_ok}
  for ((i = 0; i < 600; i++)); do
    if "$check" "$url" 2>/dev/null; then return 0; fi
    if ! running "$name"; then log "$name DIED; last log lines:"; tail -20 "$RUN/log/$name.log" >&2; return 1; fi
    sleep 0.1
  done
  log "$name not ready after 60s"; tail -20 "$RUN/log/$name.log" >&2; return 1
}

write_env() {
  cat >"$RUN/env.sh" <<ENV
# generated by scripts/test-services.sh; source me
export CIVICPORT_MINIO_ADDR=127.0.0.1:$MINIO_PORT
export CIVICPORT_VERSITYGW_ADDR=127.0.0.1:$VGW_PORT
export CIVICPORT_FAKEGCS_ADDR=127.0.0.1:$GCS_PORT
export NATS_SERVER_URL=nats://127.0.0.1:$NATS_PORT
export CIVICPORT_NATS_URL=nats://127.0.0.1:$NATS_PORT
export CIVICPORT_NATS_MONITOR=http://127.0.0.1:$NATS_MON_PORT
export STORAGE_EMULATOR_HOST=127.0.0.1:$GCS_PORT
export AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export MINIO_ACCESS_KEY=$S3_KEY MINIO_SECRET_KEY=$S3_SECRET
# AWS KMS (local-kms): awskms://KEYID?region=us-east-1&endpoint=http://127.0.0.1:$KMS_PORT
export CIVICPORT_KMS_ADDR=127.0.0.1:$KMS_PORT
# PKCS#11 (SoftHSM2): pkcs11://$SOFTHSM_TOKEN/KEYLABEL?module=$SOFTHSM_MODULE
export SOFTHSM2_CONF=$RUN/softhsm/softhsm2.conf
export PKCS11_MODULE=$SOFTHSM_MODULE PKCS11_PIN=$SOFTHSM_PIN
# SQS + SNS (fauxqs): awssqs://HOST/000000000000/QUEUE?endpoint=http://127.0.0.1:$FAUXQS_PORT&region=us-east-1
export FAUXQS_HOST=127.0.0.1:$FAUXQS_PORT
# RabbitMQ (gocloud rabbitpubsub reads RABBIT_SERVER_URL): rabbit://EXCHANGE, rabbit://QUEUE
export RABBIT_SERVER_URL=amqp://guest:guest@127.0.0.1:$RABBIT_PORT/
# Azure Blob (Azurite): azblob://CONTAINER?localemu=true&protocol=http&domain=127.0.0.1:$AZURITE_PORT
export CIVICPORT_AZURITE_ADDR=127.0.0.1:$AZURITE_PORT
export AZURE_STORAGE_ACCOUNT=$AZURITE_ACCOUNT AZURE_STORAGE_KEY=$AZURITE_KEY
# S3 (SeaweedFS, same keys as MinIO): s3://BUCKET?endpoint=http://127.0.0.1:$SWFS_S3_PORT&use_path_style=true&region=us-east-1
export CIVICPORT_SEAWEEDFS_ADDR=127.0.0.1:$SWFS_S3_PORT
ENV
}

cmd_start() {
  install_all
  if ! skip minio; then
    mkdir -p "$RUN/minio"
    start minio env MINIO_ROOT_USER=$S3_KEY MINIO_ROOT_PASSWORD=$S3_SECRET MINIO_UPDATE=off MINIO_BROWSER=off \
      "$BIN/minio" server "$RUN/minio" --address 127.0.0.1:$MINIO_PORT --console-address 127.0.0.1:$MINIO_CONSOLE_PORT --quiet
  fi
  if ! skip versitygw; then
    mkdir -p "$RUN/vgw" "$RUN/vgw-versions" "$RUN/vgw-iam"
    start versitygw env ROOT_ACCESS_KEY=$S3_KEY ROOT_SECRET_KEY=$S3_SECRET \
      "$BIN/versitygw" --port 127.0.0.1:$VGW_PORT --health /health --iam-dir "$RUN/vgw-iam" \
      posix --versioning-dir "$RUN/vgw-versions" "$RUN/vgw"
  fi
  if ! skip nats; then
    mkdir -p "$RUN/nats"
    start nats-server "$BIN/nats-server" -js -a 127.0.0.1 -p $NATS_PORT -m $NATS_MON_PORT -sd "$RUN/nats"
  fi
  if ! skip fakegcs; then
    mkdir -p "$RUN/gcs"
    start fake-gcs-server "$BIN/fake-gcs-server" -scheme http -host 127.0.0.1 -port $GCS_PORT \
      -public-host 127.0.0.1:$GCS_PORT -external-url http://127.0.0.1:$GCS_PORT \
      -backend memory -log-level warn
  fi
  if ! skip kms; then
    mkdir -p "$RUN/kms"
    start local-kms env KMS_LISTEN=127.0.0.1:$KMS_PORT KMS_DATA_PATH="$RUN/kms" KMS_REGION=us-east-1 \
      "$BIN/local-kms-loopback"
  fi
  if ! skip fauxqs; then
    # env -u: FAUXQS_HOST (from env.sh, for the tests) is not the launcher's setting.
    start fauxqs env -u FAUXQS_HOST FAUXQS_PORT=$FAUXQS_PORT FAUXQS_BIND=127.0.0.1 FAUXQS_LOGGER=false \
      node "$CACHE/fauxqs/fauxqs-loopback.mjs"
  fi
  if ! skip rabbitmq && ! running rabbitmq; then
    if amqp_ok 127.0.0.1:$RABBIT_PORT 2>/dev/null; then
      log "rabbitmq: another AMQP server already listens on 127.0.0.1:$RABBIT_PORT (a system broker?); stop it or set CIVICPORT_SKIP=rabbitmq"
      exit 1
    fi
    rabbit_setup
    mapfile -t renv < <(rabbit_env)
    start rabbitmq env "${renv[@]}" "$(rabbit_sbin)/rabbitmq-server"
  fi
  if ! skip azurite; then
    mkdir -p "$RUN/azurite"
    # --skipApiVersionCheck: the Azure SDK sends a newer API version than Azurite knows;
    # --disableTelemetry: otherwise it calls an outside host at start.
    start azurite "$CACHE/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort $AZURITE_PORT \
      --location "$RUN/azurite" --skipApiVersionCheck --disableTelemetry --loose --silent
  fi
  if ! skip seaweedfs; then
    seaweedfs_setup
    # -ip.bind: it binds every interface by default. Ports 0 turn off its Iceberg and
    # Lance catalogs (defaults 8181 and 9101). One volume per new bucket (not 7) of
    # at most 64 MB, so many test buckets fit. autoCreateBucket=false: a write to a
    # missing bucket fails as on S3 instead of creating it.
    start seaweedfs env WEED_MASTER_VOLUME_GROWTH_COPY_1=1 "$BIN/weed" server -dir="$RUN/seaweedfs/data" \
      -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -master.port=$SWFS_MASTER_PORT -master.port.grpc=$((SWFS_MASTER_PORT + 10000)) \
      -master.telemetry=false -master.volumeSizeLimitMB=64 \
      -volume.port=$SWFS_VOLUME_PORT -volume.port.grpc=$((SWFS_VOLUME_PORT + 10000)) \
      -volume.max=1000 -volume.preStopSeconds=0 \
      -filer.port=$SWFS_FILER_PORT -filer.port.grpc=$((SWFS_FILER_PORT + 10000)) \
      -s3 -s3.port=$SWFS_S3_PORT -s3.port.grpc=$((SWFS_S3_PORT + 10000)) -s3.port.iceberg=0 -s3.port.lance=0 \
      -s3.config="$RUN/seaweedfs/s3.json" -s3.autoCreateBucket=false
  fi
  local rc=0
  skip softhsm   || init_softhsm || rc=1
  skip minio     || wait_ready minio "http://127.0.0.1:$MINIO_PORT/minio/health/ready" || rc=1
  skip versitygw || wait_ready versitygw "http://127.0.0.1:$VGW_PORT/health" || rc=1
  skip fakegcs   || wait_ready fake-gcs-server "http://127.0.0.1:$GCS_PORT/storage/v1/b" || rc=1
  skip nats      || wait_ready nats-server "http://127.0.0.1:$NATS_MON_PORT/healthz?js-enabled-only=true" || rc=1
  skip kms       || wait_ready local-kms "http://127.0.0.1:$KMS_PORT/" kms_ok || rc=1
  skip fauxqs    || wait_ready fauxqs "http://127.0.0.1:$FAUXQS_PORT/health" || rc=1
  skip rabbitmq  || wait_ready rabbitmq 127.0.0.1:$RABBIT_PORT amqp_ok || rc=1
  skip azurite   || wait_ready azurite "http://127.0.0.1:$AZURITE_PORT/" http_answers || rc=1
  skip seaweedfs || wait_ready seaweedfs "http://127.0.0.1:$SWFS_S3_PORT/" s3_ok || rc=1
  write_env
  [[ $rc == 0 ]] || { log "some services failed to start"; exit 1; }
  log "ready (stop with: $0 stop)"
  cat "$RUN/env.sh"
}

cmd_stop() {
  stop_rabbitmq
  for f in "$RUN"/pid/*; do
    [[ -f $f ]] || continue
    local p; p=$(cat "$f")
    if kill "$p" 2>/dev/null; then
      for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$p" 2>/dev/null || true
      log "stopped $(basename "$f") ($p)"
    fi
    rm -f "$f"
  done
}

cmd_status() {
  for n in minio versitygw fake-gcs-server local-kms nats-server fauxqs rabbitmq azurite seaweedfs; do
    if running "$n"; then echo "$n: running (pid $(cat "$RUN/pid/$n"))"; else echo "$n: stopped"; fi
  done
}

case ${1:-start} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) write_env; cat "$RUN/env.sh" ;;
  *) echo "usage: $0 [start|stop|status|env]" >&2; exit 2 ;;
esac
