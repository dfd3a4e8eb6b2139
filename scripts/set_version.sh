#!/usr/bin/env bash
# scripts/set_version.sh MAJOR.MINOR.PATCH: sets the project's one version
# everywhere it must be written out: VERSION (which CMake, the C ABI check and
# the Python package read), the SOFTPROBE_VERSION_* macros of
# include/softprobe.h, and bindings/node/package.json (npm has no dynamic
# version). CMake's configure and scripts/package_test.sh fail when these
# disagree. README.md#install.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${1:-}"
if ! [[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "usage: scripts/set_version.sh MAJOR.MINOR.PATCH (got '${version}')" >&2
  exit 2
fi
major="${BASH_REMATCH[1]}" minor="${BASH_REMATCH[2]}" patch="${BASH_REMATCH[3]}"
for n in "$major" "$minor" "$patch"; do
  # SOFTPROBE_VERSION_NUMBER is MAJOR*10000 + MINOR*100 + PATCH.
  if [ "$n" -gt 99 ] || { [ "${#n}" -gt 1 ] && [ "${n:0:1}" = 0 ]; }; then
    echo "scripts/set_version.sh: each part must be 0..99 without leading zeros (got $version)" >&2
    exit 2
  fi
done
printf '%s\n' "$version" >"$repo/VERSION"
sed -i -E \
  -e "s/^#define SOFTPROBE_VERSION_MAJOR [0-9]+$/#define SOFTPROBE_VERSION_MAJOR $major/" \
  -e "s/^#define SOFTPROBE_VERSION_MINOR [0-9]+$/#define SOFTPROBE_VERSION_MINOR $minor/" \
  -e "s/^#define SOFTPROBE_VERSION_PATCH [0-9]+$/#define SOFTPROBE_VERSION_PATCH $patch/" \
  -e "s/^#define SOFTPROBE_VERSION_STRING \"[^\"]*\"$/#define SOFTPROBE_VERSION_STRING \"$version\"/" \
  "$repo/include/softprobe.h"
node -e '
  const fs = require("fs"), file = process.argv[1], v = process.argv[2];
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.version = v;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$repo/bindings/node/package.json" "$version"
cmake -DPROJECT_SOURCE_DIR="$repo" -DPROJECT_VERSION="$version" -P "$repo/cmake/version_check.cmake"
echo "version $version: VERSION, include/softprobe.h, bindings/node/package.json (Python reads VERSION)"
