#!/bin/sh
# Health of the ringkv node in this container: PING on its client port must
# answer PONG. Used by the image's HEALTHCHECK and by Kubernetes' readiness
# and liveness probes. The port and password come from the same environment
# variables the node reads (RINGKV_PORT, RINGKV_REQUIREPASS); the password
# goes to redis-cli through REDISCLI_AUTH, never on its command line, where
# `ps` would show it. A node that answers PING serves clients (a node still
# joining answers -LOADING to reads and writes, but PONG to PING).
set -eu

port="${RINGKV_PORT:-6379}"
if [ -n "${RINGKV_REQUIREPASS:-}" ]; then
  REDISCLI_AUTH="$RINGKV_REQUIREPASS"
  export REDISCLI_AUTH
fi
reply="$(redis-cli -h 127.0.0.1 -p "$port" PING 2>&1)" || { echo "ringkv health: no answer on port $port: $reply"; exit 1; }
[ "$reply" = PONG ] || { echo "ringkv health: PING answered: $reply"; exit 1; }
