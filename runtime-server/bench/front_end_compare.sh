#!/usr/bin/env bash
# The old front end against the new, in one run: inject_load.sh (JSON and
# protobuf inject, hit and miss, 100 rules, plus GET /health) on each binary
# at 16 and 64 connections, one after the other on the same machine.
#
# usage: runtime-server/bench/front_end_compare.sh OLD_RUNTIME NEW_RUNTIME
# env:   DURATION=10s (per row)  CONNECTION_COUNTS="16 64"
#        OLD_THREADS=per-connection  the old build (cpp-httplib) serves one
#                    connection per thread: it gets CONNECTIONS+8 threads;
#                    the new one runs with its default (one io thread per core)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
old=${1:?usage: front_end_compare.sh OLD_RUNTIME NEW_RUNTIME}
new=${2:?usage: front_end_compare.sh OLD_RUNTIME NEW_RUNTIME}
counts=${CONNECTION_COUNTS:-16 64}

for c in $counts; do
  echo "## $c connections"
  echo
  echo "### old: $old"
  CONNECTIONS=$c SERVER_THREADS=$((c + 8)) "$here/inject_load.sh" "$old"
  echo
  echo "### new: $new"
  CONNECTIONS=$c SERVER_THREADS= "$here/inject_load.sh" "$new"
  echo
done
