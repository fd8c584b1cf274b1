#!/bin/sh
# Installs PostgreSQL's server for the tests' throwaway clusters (internal/pgtest) when it is
# missing: Debian's postgresql package, as root; otherwise fails at once with the command to run.
# `make pg-deps` (a prerequisite of `make test`) and .ci/run call it.
set -eu
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
sh "$(dirname "$0")/../../.ci/apt-install.sh" postgresql "PostgreSQL's server is missing (the tests start their own clusters)"
# The package may start a cluster of its own (main, port 5432); the tests use none of it.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h | while read -r ver name _port status _rest; do
    if [ "$status" = online ]; then pg_ctlcluster "$ver" "$name" stop || true; fi
  done
fi
