#!/bin/sh
# The Docker image's entrypoint: one ringkv node listening on every interface
# of the container (--bind 0.0.0.0, so that published ports reach it), its
# data on the /data volume, and any `ringkv start` flags given to `docker run`
# after the image name appended (a later flag wins). Every other option may be
# given as an environment variable RINGKV_<OPTION> (ringkv help), as the
# compose file and the Kubernetes manifests under deploy/ do.
#
# A node bound to 0.0.0.0 must be told the address other nodes reach it at;
# ringkv refuses to guess. In a container the usual answer is the container's
# own address, which other containers on the same Docker network (compose, a
# user-defined bridge) connect to, so unless RINGKV_ADVERTISE_HOST or
# --advertise-host names one, the node advertises the container's first IPv4
# address. Nodes on different hosts reach each other through published ports
# instead: give each node its host's address (-e RINGKV_ADVERTISE_HOST=10.0.0.1).
set -eu

if [ -z "${RINGKV_ADVERTISE_HOST:-}" ]; then
  # hostname -I lists the addresses of the container's interfaces, loopback
  # excluded, without asking DNS. IPv6 is skipped: a seed is written host:port.
  for address in $(hostname -I 2>/dev/null || true); do
    case "$address" in
      *:*) ;;
      *) RINGKV_ADVERTISE_HOST="$address"; export RINGKV_ADVERTISE_HOST; break ;;
    esac
  done
  # With no IPv4 address found, ringkv itself refuses the start and says to set RINGKV_ADVERTISE_HOST.
fi

# In the image this script is /app/docker/entrypoint.sh beside /app/bin; in a checkout it is deploy/docker/entrypoint.sh.
here="$(dirname "$0")"
bin="$here/../bin/ringkv.js"
[ -f "$bin" ] || bin="$here/../../bin/ringkv.js"
exec node "$bin" start --bind 0.0.0.0 --data /data "$@"
