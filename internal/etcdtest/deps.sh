#!/bin/sh
# Installs etcd's server for the tests' throwaway members (internal/etcdtest) when it is missing:
# Debian's etcd-server package, as root; otherwise fails at once with the command to run.
# `make etcd-deps` (a prerequisite of `make test`) and .ci/run call it.
set -eu
if command -v etcd >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "etcd is missing (the cluster tests start their own). Run as root: apt-get update && apt-get install -y etcd-server" >&2
  exit 1
fi
echo "installing etcd (Debian's etcd-server) for the tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
# The package may start a service of its own (port 2379); the tests use none of it.
if command -v systemctl >/dev/null 2>&1; then systemctl stop etcd >/dev/null 2>&1 || true; fi
