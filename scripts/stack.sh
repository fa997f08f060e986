#!/usr/bin/env bash
# Starts, stops and reports on a native VictoriaMetrics, vmagent and vmalert (Debian's
# victoria-metrics package) with the same configuration files as the compose stack, bound to
# loopback, data under one directory. No Docker needed.
#   scripts/stack.sh start | stop | status
# Environment: PIPEOBS_STACK_DIR (./.pipeobs/stack), PIPEOBS_STACK_VM_PORT (8428),
# PIPEOBS_STACK_VMAGENT_PORT (8429), PIPEOBS_STACK_VMALERT_PORT (8880),
# PIPEOBS_ALERTMANAGER_URL (http://127.0.0.1:9093; alerts are logged as undeliverable without one),
# PIPEOBS_TARGET_HOST (127.0.0.1: where vmagent finds pipeobs' /metrics endpoints),
# PIPEOBS_SCRAPE_CONFIG (deploy/vmagent/scrape.yml).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PIPEOBS_STACK_DIR:-$PWD/.pipeobs/stack}"
vm_port="${PIPEOBS_STACK_VM_PORT:-8428}"
agent_port="${PIPEOBS_STACK_VMAGENT_PORT:-8429}"
alert_port="${PIPEOBS_STACK_VMALERT_PORT:-8880}"
export PIPEOBS_TARGET_HOST="${PIPEOBS_TARGET_HOST:-127.0.0.1}"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: $1 is not installed; run: sudo apt-get install -y victoria-metrics" >&2; exit 3; }
}

running() { # name
  local pidfile="$dir/$1.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

healthy() { # url
  curl -sf -o /dev/null --max-time 1 "$1"
}

start_one() { # name port args...
  local name="$1" port="$2"; shift 2
  if running "$name"; then echo "$name: already running (pid $(cat "$dir/$name.pid"))"; return; fi
  "$@" >"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
  for _ in $(seq 1 50); do
    if healthy "http://127.0.0.1:$port/health"; then echo "$name: up at http://127.0.0.1:$port (pid $(cat "$dir/$name.pid"), log $dir/$name.log)"; return; fi
    if ! running "$name"; then echo "error: $name exited; its log:" >&2; tail -5 "$dir/$name.log" >&2; exit 4; fi
    sleep 0.1
  done
  echo "error: $name did not answer http://127.0.0.1:$port/health within 5 s; see $dir/$name.log" >&2
  exit 4
}

stop_one() { # name
  if running "$1"; then
    local pid; pid="$(cat "$dir/$1.pid")"
    kill -INT "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "$1: stopped"
  else
    echo "$1: not running"
  fi
  rm -f "$dir/$1.pid"
}

case "${1:-}" in
  start)
    need victoria-metrics; need vmagent; need vmalert
    mkdir -p "$dir"
    # -search.latencyOffset=0: a fresh push is visible to queries at once (the default hides 30 s).
    # -dedup.minScrapeInterval=1ms: a write pipeobs retried after a timeout, already stored once,
    # holds the same samples at the same millisecond; VictoriaMetrics keeps one. Distinct samples
    # are never merged (timestamps are stored in milliseconds). See README, "Delivery".
    start_one victoria-metrics "$vm_port" victoria-metrics -storageDataPath="$dir/vm-data" -httpListenAddr="127.0.0.1:$vm_port" -retentionPeriod=12 \
      -search.latencyOffset=0 \
      -dedup.minScrapeInterval=1ms
    start_one vmagent "$agent_port" vmagent -promscrape.config="${PIPEOBS_SCRAPE_CONFIG:-$here/deploy/vmagent/scrape.yml}" \
      -remoteWrite.url="http://127.0.0.1:$vm_port/api/v1/write" -remoteWrite.tmpDataPath="$dir/vmagent-buffer" -httpListenAddr="127.0.0.1:$agent_port"
    start_one vmalert "$alert_port" vmalert -rule="$here/deploy/alerts/*.yml" -datasource.url="http://127.0.0.1:$vm_port" \
      -remoteRead.url="http://127.0.0.1:$vm_port" -remoteWrite.url="http://127.0.0.1:$vm_port" \
      -notifier.url="${PIPEOBS_ALERTMANAGER_URL:-http://127.0.0.1:9093}" -evaluationInterval=30s -httpListenAddr="127.0.0.1:$alert_port"
    echo "export PIPEOBS_VM_URL=http://127.0.0.1:$vm_port PIPEOBS_VMAGENT_URL=http://127.0.0.1:$agent_port PIPEOBS_VMALERT_URL=http://127.0.0.1:$alert_port"
    ;;
  stop)
    stop_one vmalert; stop_one vmagent; stop_one victoria-metrics
    ;;
  status)
    code=0
    for s in "victoria-metrics:$vm_port" "vmagent:$agent_port" "vmalert:$alert_port"; do
      name="${s%%:*}"; port="${s##*:}"
      if running "$name" && healthy "http://127.0.0.1:$port/health"; then echo "$name: up at http://127.0.0.1:$port"; else echo "$name: down"; code=4; fi
    done
    exit $code
    ;;
  *)
    echo "usage: scripts/stack.sh start|stop|status" >&2
    exit 2
    ;;
esac
