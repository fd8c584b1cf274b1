#!/bin/sh
# Installs etcd's server for the tests' throwaway members (internal/etcdtest) when it is missing:
# Debian's etcd-server package, as root; otherwise fails at once with the command to run.
# `make etcd-deps` (a prerequisite of `make test`) and .ci/run call it.
set -eu
if command -v etcd >/dev/null 2>&1; then
  exit 0
fi
sh "$(dirname "$0")/../../.ci/apt-install.sh" etcd-server "etcd is missing (the cluster tests start their own)"
# The package may start a service of its own (port 2379); the tests use none of it.
if command -v systemctl >/dev/null 2>&1; then systemctl stop etcd >/dev/null 2>&1 || true; fi
