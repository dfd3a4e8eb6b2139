#!/usr/bin/env bash
# Builds the Node.js binding (bindings/node) and runs its tests.
#
# Needs: node >= 20.18.1 with npm, cmake >= 3.25, ninja or make, a C++20
# compiler, nlohmann-json3-dev and libsimdjson-dev (the core), and for the remote-runtime test
# the softprobe-runtime binary. Idempotent; the exit code is node --test's. Environment:
#   SOFTPROBE_CORE_BUILD   a built checkout's build directory (scripts/test.sh passes build/):
#                          the addon links its libsoftprobe.so and compiles none of the core;
#                          unset, the core is compiled into the addon (bindings/node/build/)
#   SOFTPROBE_RUNTIME_BIN  softprobe-runtime for the remote-mode tests; default
#                          $SOFTPROBE_CORE_BUILD/runtime-server/softprobe-runtime, else built
#                          in the addon's tree
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

for tool in node npm cmake; do
  command -v "$tool" >/dev/null || { echo "bindings/node/test.sh: $tool is not installed" >&2; exit 1; }
done

if [ -n "${SOFTPROBE_CORE_BUILD:-}" ]; then
  SOFTPROBE_CORE_BUILD="$(cd "$SOFTPROBE_CORE_BUILD" && pwd)"
  export SOFTPROBE_CORE_BUILD
  if [ ! -f "$SOFTPROBE_CORE_BUILD/libsoftprobe/softprobeConfig.cmake" ]; then
    echo "bindings/node/test.sh: SOFTPROBE_CORE_BUILD=$SOFTPROBE_CORE_BUILD is not a configured libsoftprobe build" >&2
    exit 1
  fi
  # The addon links this build's libsoftprobe.so (and the tests use its runtime): bring
  # them up to date there (nothing to do after scripts/test.sh's build of build/).
  if [ -z "${SOFTPROBE_RUNTIME_BIN:-}" ]; then
    cmake --build "$SOFTPROBE_CORE_BUILD" --target softprobe softprobe-runtime
    export SOFTPROBE_RUNTIME_BIN="$SOFTPROBE_CORE_BUILD/runtime-server/softprobe-runtime"
  else
    cmake --build "$SOFTPROBE_CORE_BUILD" --target softprobe
  fi
fi

# cmake-js configures only a new build/: configure an existing one again, so it follows
# SOFTPROBE_CORE_BUILD (set, unset or changed) instead of keeping the core it had.
if [ -f build/CMakeCache.txt ]; then
  cmake -S "$here" -B build >/dev/null
fi

# Installs the locked dependencies; the package's install script builds the
# addon with cmake-js (incrementally when build/ is already there).
npm ci --no-audit --no-fund

if [ -z "${SOFTPROBE_RUNTIME_BIN:-}" ]; then
  # Configure the runtime in the addon's tree (it shares the core's objects) and build only it.
  cmake -S "$here" -B build -DSOFTPROBE_NODE_BUILD_RUNTIME=ON >/dev/null
  cmake --build build --target softprobe-runtime
  export SOFTPROBE_RUNTIME_BIN="$here/build/softprobe-core/runtime-server/softprobe-runtime"
fi
if [ ! -x "$SOFTPROBE_RUNTIME_BIN" ]; then
  echo "bindings/node/test.sh: SOFTPROBE_RUNTIME_BIN=$SOFTPROBE_RUNTIME_BIN is not an executable" >&2
  exit 1
fi

node --test --test-timeout=60000 test/*.test.js test/*.test.mjs
