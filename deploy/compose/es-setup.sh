#!/bin/bash
# One-shot set-up of the compose Elasticsearch (security on), run in the Elasticsearch image:
#  1. sets the kibana_system user's password (Kibana cannot log in as the elastic superuser);
#  2. creates two API keys, written to the setup-keys volume (mode 0600, owner DARKWATCH_UID),
#     and kept while they still authenticate:
#       es_api_key      crawler: write/read the darkwatch-* indices, their templates and ILM policy
#       kibana_api_key  importer: Kibana saved objects (darkwatch kibana import)
# Passwords come from Docker secrets; none is printed.
set -euo pipefail
umask 077
es=${ES_URL:-http://elasticsearch:9200}
out=${SETUP_DIR:-/run/darkwatch-setup}
owner=${DARKWATCH_UID:-10001}
elastic_pw=$(cat /run/secrets/elastic_password)
kibana_pw=$(cat /run/secrets/kibana_system_password)

json_str() {  # JSON string literal of $1
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/ }
  printf '"%s"' "$s"
}
es_curl() {  # as elastic; credentials and body go through a curl config on stdin, never argv
  local body=${BODY:-}
  { printf 'user = %s\n' "$(json_str "elastic:$elastic_pw")"
    if [ -n "$body" ]; then printf 'data = %s\n' "$(json_str "$body")"; fi
  } | curl --silent --show-error --fail --config - -H 'Content-Type: application/json' "$@"
}

for _ in $(seq 60); do
  es_curl -o /dev/null "$es/_cluster/health?wait_for_status=yellow&timeout=5s" && break
  sleep 5
done
es_curl -o /dev/null "$es/_cluster/health?wait_for_status=yellow&timeout=5s"

BODY="{\"password\": $(json_str "$kibana_pw")}" \
  es_curl -o /dev/null -X POST "$es/_security/user/kibana_system/_password"
echo "kibana_system password set"

install -d -o "$owner" -g "$owner" -m 0700 "$out"

make_key() {  # name file role-descriptors-json
  local name=$1 file=$2 roles=$3 key
  if [ -s "$file" ] && curl --silent --fail -o /dev/null -H "Authorization: ApiKey $(cat "$file")" \
       "$es/_security/_authenticate"; then
    echo "$name: existing API key still valid"
    return
  fi
  key=$(BODY="{\"name\": \"$name\", \"role_descriptors\": $roles}" \
          es_curl -X POST "$es/_security/api_key" \
        | sed -n 's/.*"encoded":"\([^"]*\)".*/\1/p')
  [ -n "$key" ] || { echo "error: no API key returned for $name" >&2; exit 1; }
  printf '%s' "$key" > "$file.tmp"
  chown "$owner:$owner" "$file.tmp"
  mv -f "$file.tmp" "$file"
  echo "$name: API key created"
}

make_key darkwatch-crawler "$out/es_api_key" '{"darkwatch_writer": {
  "cluster": ["monitor", "manage_index_templates", "manage_ilm"],
  "indices": [{"names": ["darkwatch-*"], "privileges":
    ["create_index", "create_doc", "index", "write", "read", "view_index_metadata", "manage", "auto_configure"]}]}}'
make_key darkwatch-kibana-import "$out/kibana_api_key" '{"darkwatch_kibana": {
  "indices": [{"names": ["darkwatch-*"], "privileges": ["read", "view_index_metadata"]}],
  "applications": [{"application": "kibana-.kibana", "privileges": ["all"], "resources": ["*"]}]}}'
