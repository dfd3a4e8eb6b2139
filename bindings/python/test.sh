#!/usr/bin/env bash
# Builds the Python binding and runs its tests. Idempotent; the project's
# top-level test command calls it. Exit status: pytest's.
#
#   bindings/python/test.sh [pytest args...]
#
# Needs (Debian): build-essential cmake ninja-build nlohmann-json3-dev libsimdjson-dev libcurl4-openssl-dev,
# the runtime's packages when it is built here (scripts/common.sh lists them all)
# and python3 with venv. Uses the venv at <repo>/.venv (created when missing;
# git-ignored). Environment:
#   SOFTPROBE_CORE_BUILD        a built checkout's build directory (scripts/test.sh
#                               passes build/): the extension links its libsoftprobe.so
#                               and compiles none of the core; unset, the core is
#                               compiled into the extension (bindings/python/build/)
#   SOFTPROBE_RUNTIME_BIN       softprobe-runtime to test the remote mode against;
#                               default $SOFTPROBE_CORE_BUILD's, else built in
#                               <repo>/build-python
#   CMAKE_BUILD_PARALLEL_LEVEL  compile jobs (default 2)
#   PYTHON                      interpreter for a new venv (default python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/.venv"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"

if [ -n "${SOFTPROBE_CORE_BUILD:-}" ]; then
  SOFTPROBE_CORE_BUILD="$(cd "$SOFTPROBE_CORE_BUILD" && pwd)"
  export SOFTPROBE_CORE_BUILD
  if [ ! -f "$SOFTPROBE_CORE_BUILD/libsoftprobe/softprobeConfig.cmake" ]; then
    echo "bindings/python/test.sh: SOFTPROBE_CORE_BUILD=$SOFTPROBE_CORE_BUILD is not a configured libsoftprobe build" >&2
    exit 1
  fi
  # The extension links this build's libsoftprobe.so (and the tests use its runtime): bring
  # them up to date there (nothing to do after scripts/test.sh's build of build/).
  if [ -z "${SOFTPROBE_RUNTIME_BIN:-}" ]; then
    cmake --build "$SOFTPROBE_CORE_BUILD" --target softprobe softprobe-runtime
    export SOFTPROBE_RUNTIME_BIN="$SOFTPROBE_CORE_BUILD/runtime-server/softprobe-runtime"
  else
    cmake --build "$SOFTPROBE_CORE_BUILD" --target softprobe
  fi
fi

# The build backend lives in the venv (no isolated build env to download
# every time); the extension's build tree (bindings/python/build/) is kept,
# so a reinstall only recompiles what changed.
"$py" -m pip install --quiet --disable-pip-version-check "scikit-build-core>=0.10" "pybind11>=2.10"
"$py" -m pip install --quiet --disable-pip-version-check --no-build-isolation "$here[test]"

if [ -z "${SOFTPROBE_RUNTIME_BIN:-}" ]; then
  build="$repo/build-python"
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOFTPROBE_BUILD_TESTS=OFF \
      -DSOFTPROBE_BUILD_EXAMPLES=OFF -DSOFTPROBE_WERROR=OFF >/dev/null
  fi
  cmake --build "$build" --target softprobe-runtime
  export SOFTPROBE_RUNTIME_BIN="$build/runtime-server/softprobe-runtime"
fi
export SOFTPROBE_REQUIRE_RUNTIME=1

cd "$here"
exec "$py" -m pytest -p no:cacheprovider "$@"
