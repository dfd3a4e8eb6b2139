#!/usr/bin/env bash
# The main job: capture real HTTP traffic from a local server into a case
# file, then replay it offline in strict mode (embedded core), showing a
# strict miss. Installs what it needs. Output lands in ./demo-out/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

install_apt_packages
log "build (build/)"
cmake_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOFTPROBE_BUILD_TESTS=OFF
log "C++ demo: capture -> case file -> offline strict replay"
"$REPO_ROOT/build/examples/capture_replay_demo" "$REPO_ROOT/demo-out"
log "the captured case file: $REPO_ROOT/demo-out/checkout.case.json"
