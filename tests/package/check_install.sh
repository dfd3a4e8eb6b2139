#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs a consumer
# with find_package(softprobe) and another with pkg-config.
set -euo pipefail
build_dir="$1"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" --component Unspecified >/dev/null
cmake -S "$here" -B "$tmp/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/consumer/consumer"
libdir="$(find "$tmp/prefix" -name softprobe.pc -printf '%h')"
export PKG_CONFIG_PATH="$libdir"
# No --define-prefix: softprobe.pc finds its prefix from where it lies, under any install prefix.
c++ -std=c++17 "$here/consumer.cc" $(pkg-config --cflags --libs softprobe) -o "$tmp/consumer-pc"
LD_LIBRARY_PATH="$(dirname "$libdir")" "$tmp/consumer-pc"
