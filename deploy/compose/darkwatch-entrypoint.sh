#!/bin/sh
# Entrypoint of the darkwatch image.
#   darkwatch-entrypoint loop            crawl now, then every DARKWATCH_INTERVAL seconds (+ jitter)
#   darkwatch-entrypoint health          healthcheck: the loop's heartbeat is fresh (or darkwatch runs)
#   darkwatch-entrypoint <darkwatch args> any darkwatch command, e.g. "kibana import --url ..."
# Secrets arrive as files (Docker secrets): for every NAME_FILE variable, NAME is set to the
# file's content, so darkwatch.yml's ${NAME} references work without secrets in the environment
# of `docker inspect` or in the compose file.
set -eu

for var in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*/\1/p'); do
  eval "file=\${${var}_FILE}"
  if [ ! -r "$file" ]; then
    echo "error: ${var}_FILE=$file is not a readable file (check the compose secrets)" >&2
    exit 2
  fi
  value=$(cat "$file")
  export "$var=$value"
  unset "${var}_FILE"
done

state=${DARKWATCH_STATE:-/var/lib/darkwatch}
config=${DARKWATCH_CONFIG:-/etc/darkwatch/darkwatch.yml}
interval=${DARKWATCH_INTERVAL:-3600}
heartbeat="$state/heartbeat"

case "${1:-loop}" in
  loop)
    mkdir -p "$state/metrics"
    while :; do
      start=$(date +%s)
      touch "$heartbeat"
      rc=0
      darkwatch crawl --config "$config" --quiet --log-format json \
        --report "$state/last-run.json" --metrics-file "$state/metrics/darkwatch.prom" || rc=$?
      echo "{\"message\": \"crawl exited $rc\", \"exit_code\": $rc, \"logger\": \"darkwatch.loop\"}" >&2
      touch "$heartbeat"
      elapsed=$(( $(date +%s) - start ))
      jitter=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % (interval / 10 + 1) ))
      wait_s=$(( interval - elapsed + jitter ))
      [ "$wait_s" -gt 0 ] && sleep "$wait_s"
    done
    ;;
  health)
    if [ -f "$heartbeat" ]; then
      # Touched before and after each crawl: older than two intervals means the loop is stuck.
      age=$(( $(date +%s) - $(stat -c %Y "$heartbeat") ))
      [ "$age" -lt $(( 2 * interval + 600 )) ] || { echo "heartbeat ${age}s old" >&2; exit 1; }
      exit 0
    fi
    exec darkwatch version >/dev/null
    ;;
  *)
    exec darkwatch "$@"
    ;;
esac
