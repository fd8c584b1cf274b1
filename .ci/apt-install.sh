#!/bin/sh
# apt-install.sh PACKAGE WHY: installs Debian's PACKAGE for the tests, as root; otherwise fails at
# once, saying WHY it is needed and the command to run. The callers check first whether what they
# need is there: the deps.sh of internal/pgtest, internal/etcdtest and cluster/clusterpb, and the
# Makefile's proxy-deps.
set -eu
pkg=$1 why=$2
if [ "$(id -u)" != 0 ]; then
  echo "$why. Run as root: apt-get update && apt-get install -y $pkg" >&2
  exit 1
fi
echo "installing $pkg (Debian's) for the tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
