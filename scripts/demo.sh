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

log "Node demo: the same cycle with fetch and http.request, in process"
if [ ! -f "$REPO_ROOT/bindings/node/build/Release/softprobe.node" ]; then
  # builds the addon, linked to build/'s libsoftprobe.so (the core is not compiled again)
  (cd "$REPO_ROOT/bindings/node" && SOFTPROBE_CORE_BUILD="$REPO_ROOT/build" npm ci --no-audit --no-fund)
fi
node "$REPO_ROOT/examples/node/checkout-demo.js" "$REPO_ROOT/demo-out"

log "Python demo: the same cycle with requests/urllib/httpx, in process"
[ -x "$REPO_ROOT/.venv/bin/python" ] || python3 -m venv "$REPO_ROOT/.venv"
"$REPO_ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check "scikit-build-core>=0.10" "pybind11>=2.10" requests
SOFTPROBE_CORE_BUILD="$REPO_ROOT/build" \
  "$REPO_ROOT/.venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation "$REPO_ROOT/bindings/python"
"$REPO_ROOT/.venv/bin/python" "$REPO_ROOT/bindings/python/examples/capture_replay_demo.py" "$REPO_ROOT/demo-out"

log "Any language through softprobe proxy: curl via the egress proxy, capture -> offline strict replay"
"$REPO_ROOT/examples/proxy/proxy-demo.sh" "$REPO_ROOT/build/cli/softprobe" "$REPO_ROOT/demo-out"

log "captured case files in $REPO_ROOT/demo-out/"
ls -l "$REPO_ROOT/demo-out/"
