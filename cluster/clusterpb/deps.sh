#!/bin/sh
# Installs protoc, the generator of clusterpb.pb.go, when it is missing: Debian's
# protobuf-compiler package, as root; otherwise fails at once with the command to run.
# `make proto-deps` (a prerequisite of `make test` and `make proto`) and .ci/run call it.
set -eu
if command -v protoc >/dev/null 2>&1; then
  exit 0
fi
sh "$(dirname "$0")/../../.ci/apt-install.sh" protobuf-compiler "protoc is missing (clusterpb's generated code is checked against it)"
