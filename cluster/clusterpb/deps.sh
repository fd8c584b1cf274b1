#!/bin/sh
# Installs protoc, the generator of clusterpb.pb.go, when it is missing: Debian's
# protobuf-compiler package, as root; otherwise fails at once with the command to run.
# `make proto-deps` (a prerequisite of `make test` and `make proto`) and .ci/run call it.
set -eu
if command -v protoc >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "protoc is missing (clusterpb's generated code is checked against it). Run as root: apt-get update && apt-get install -y protobuf-compiler" >&2
  exit 1
fi
echo "installing protoc (Debian's protobuf-compiler) for the tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
