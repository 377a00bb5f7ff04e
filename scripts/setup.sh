#!/usr/bin/env bash
# One-time, idempotent set-up of a fresh machine: system packages, a virtualenv with
# darkwatch, its lab (lab/) and its test tools, and the Elasticsearch test distribution.
# Usage: scripts/setup.sh [--no-es]
set -euo pipefail
cd "$(dirname "$0")/.."

want_es=1
[ "${1:-}" = "--no-es" ] && want_es=0

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- system packages: tor (lab + crawls), redis (scale-out tests) -------------------
need=()
command -v make >/dev/null 2>&1 || need+=(make)
"${PYTHON:-python3}" -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
command -v tor >/dev/null 2>&1 || need+=(tor)
command -v tor-gencert >/dev/null 2>&1 || need+=(tor)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)   # unit files are verified in tests
command -v strace >/dev/null 2>&1 || need+=(strace)   # tests/security: the no-leak proof
command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 \
  || need+=(chromium-headless-shell)   # tests/rules: the HTML scope report rendered, screenshot
if [ "$want_es" = 1 ]; then
  command -v mvn >/dev/null 2>&1 || need+=(maven)
  command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
  command -v unzip >/dev/null 2>&1 || need+=(unzip)
fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing system packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts a system tor and redis on install; darkwatch's lab runs its own.
for svc in tor redis-server; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    [ "$(id -u)" -eq 0 ] && systemctl stop "$svc" || true
  fi
done

# --- Python environment ---------------------------------------------------------------
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
# The product and its lab (lab/: fixture forums, private Tor network, `darkwatch lab`/`demo`), a
# distribution of its own so the product's wheel and image never carry it.
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ] \
   || [ lab/pyproject.toml -nt .venv/.installed ]; then
  say "installing darkwatch, its lab and test tools into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]' -e ./lab
  touch .venv/.installed
fi
# An editable install leaves byte-compiling to the first import, and an environment with
# PYTHONDONTWRITEBYTECODE (common in containers) never writes it: every `darkwatch` command
# would compile its modules from source (~0.1 s each run). Compiled here, as a wheel install
# would; a source edited later is still read from source (Python checks the timestamp).
.venv/bin/python -m compileall -q -j 0 crawler lab/darkwatch_lab >/dev/null

# --- Elasticsearch test distribution (cached) -----------------------------------------
if [ "$want_es" = 1 ] && [ -x deploy/dev/elasticsearch ]; then
  say "fetching the Elasticsearch test distribution (cached after the first time)"
  .venv/bin/python deploy/dev/elasticsearch fetch >&2 || deploy/dev/elasticsearch fetch >&2
fi
say "set-up done"
