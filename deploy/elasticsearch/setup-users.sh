#!/usr/bin/env bash
# One-shot Elasticsearch setup, run by the `es-setup` compose service once the node is healthy.
#   - kibana_system: the built-in user Kibana connects as (Kibana refuses `elastic`);
#     it gets $KIBANA_SYSTEM_PASSWORD.
#   - newsflow: the pipeline's own user, with a role limited to the newsflow indices;
#     it gets $NEWSFLOW_ES_PASSWORD.
# Idempotent: a second run sets the same passwords and role again. Passwords never appear on a
# command line (curl reads the credentials and the request bodies from stdin and a pipe).
set -euo pipefail

: "${ES_URL:?ES_URL is not set}"
INDEX_PATTERN=${NEWSFLOW_ES_INDEX_PATTERN:-newsflow*}

for name in ELASTIC_PASSWORD KIBANA_SYSTEM_PASSWORD NEWSFLOW_ES_PASSWORD; do
    value=${!name:-}
    # The passwords are embedded in JSON bodies and shell commands: keep them to a safe alphabet.
    if [[ ! $value =~ ^[A-Za-z0-9._~+-]{12,}$ ]]; then
        echo "es-setup: $name must be 12 or more characters from A-Z a-z 0-9 . _ ~ + -" >&2
        exit 1
    fi
done

es() { # es METHOD PATH < body
    curl --silent --show-error --fail-with-body -o /dev/null \
        --config <(printf 'user = "elastic:%s"\n' "$ELASTIC_PASSWORD") \
        -X "$1" "${ES_URL}$2" -H 'Content-Type: application/json' --data-binary @-
}

printf '{"password": "%s"}' "$KIBANA_SYSTEM_PASSWORD" |
    es POST /_security/user/kibana_system/_password
echo "es-setup: kibana_system password set"

printf '{"cluster": ["monitor", "manage_index_templates", "manage_ilm"],
  "indices": [{"names": ["%s"], "privileges": ["all"]}]}' "$INDEX_PATTERN" |
    es PUT /_security/role/newsflow_writer
printf '{"password": "%s", "roles": ["newsflow_writer"], "full_name": "newsflow pipeline"}' \
    "$NEWSFLOW_ES_PASSWORD" | es PUT /_security/user/newsflow
echo "es-setup: user newsflow (role newsflow_writer on ${INDEX_PATTERN}) ready"
