#!/bin/sh
# Tor in compose: the torrc (deploy/tor/torrc) holds no secret; the control password comes from
# the Docker secret and only its hash reaches tor, on the command line (overrides the torrc).
set -eu
secret=${TOR_CONTROL_PASSWORD_FILE:-/run/secrets/tor_control_password}
if [ ! -s "$secret" ]; then
  echo "error: $secret is missing or empty: put the Tor control password in deploy/secrets/tor_control_password" >&2
  exit 2
fi
hash=$(tor --quiet --hash-password "$(cat "$secret")" | tail -n 1)
exec tor -f /etc/tor/torrc --HashedControlPassword "$hash" "$@"
