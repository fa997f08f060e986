#!/usr/bin/env bash
# Installs what pipeobs' tests need on a fresh Debian machine: the real VictoriaMetrics binaries
# (victoria-metrics, vmagent, vmalert), promtool (Debian's prometheus package) to validate the
# exposition format and alert rules, docker-compose to validate the compose file (no Docker engine
# is needed), curl for scripts/stack.sh, Chromium to load monitor-logs' HTML report as a person
# would, python3 and logrotate to write and rotate real logs, and the npm dependencies (npm ci also
# builds dist/ through "prepare", and the native scanners through scripts/build-native.mjs when a C
# compiler is at hand; without one pipeobs uses its TypeScript scanners).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v victoria-metrics >/dev/null 2>&1 || need+=(victoria-metrics)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || need+=(logrotate)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing ${need[*]} from Debian's packages" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
npm ci --no-audit --no-fund
