#!/usr/bin/env bash
# The .deb from a configured, built tree: builds it with cpack (no compiling),
# installs it with dpkg -i into a scratch root, then builds a consumer against
# that root with find_package(softprobe) and with pkg-config, runs both (a
# strict miss decided by the packaged library), and checks that the packaged
# softprobe-runtime --version names the library's sp_version_string() and that
# softprobe --version is it.
#   check_deb.sh BUILD_DIR
set -euo pipefail
build_dir="$(cd "$1" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$build_dir" && cpack -G DEB -B "$tmp/cpack" >/dev/null)
deb="$(ls "$tmp"/cpack/libsoftprobe_*.deb)"
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# A scratch root with an empty dpkg database. Its Depends (libc6, libcurl4, ...)
# are the host's, so --force-depends; maintainer scripts run outside the root
# (there is no shell inside it) with DPKG_ROOT set, so ldconfig works on the root.
root="$tmp/root"
mkdir -p "$root/etc" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg_args=(--root="$root" --log=/dev/null --force-depends --force-script-chrootless)
[ "$(id -u)" -ne 0 ] && dpkg_args+=(--force-not-root)
dpkg "${dpkg_args[@]}" -i "$deb" >/dev/null 2>&1 || { dpkg "${dpkg_args[@]}" -i "$deb"; exit 1; }
[ -f "$root/etc/ld.so.cache" ] || { echo "postinst did not run ldconfig in the scratch root"; exit 1; }
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='installed: ${Package} ${Version} ${Status}\n' libsoftprobe

for f in usr/include/softprobe.h usr/include/softprobe.hpp usr/lib/cmake/softprobe/softprobeConfig.cmake \
  usr/lib/pkgconfig/softprobe.pc usr/bin/softprobe-runtime usr/bin/softprobe usr/share/doc/libsoftprobe/copyright; do
  [ -e "$root/$f" ] || { echo "missing from the package: /$f"; exit 1; }
done
soname="$(objdump -p "$root/usr/lib/libsoftprobe.so" | awk '/SONAME/ {print $2}')"
[ -e "$root/usr/lib/$soname" ] || { echo "no $soname symlink in the package"; exit 1; }
export LD_LIBRARY_PATH="$root/usr/lib"

# find_package(softprobe) from the root.
cmake -S "$here" -B "$tmp/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
grep -q "softprobe_DIR:PATH=$root/usr/lib/cmake/softprobe" "$tmp/consumer/CMakeCache.txt" ||
  { echo "find_package did not take the package in $root"; exit 1; }
cmake --build "$tmp/consumer" >/dev/null
cmake_out="$("$tmp/consumer/consumer")"
echo "find_package consumer: $cmake_out"

# pkg-config from the root: softprobe.pc finds its prefix from where it lies.
export PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" PKG_CONFIG_LIBDIR="$root/usr/lib/pkgconfig"
case "$(pkg-config --cflags softprobe)" in *"$root"*) ;; *) echo "softprobe.pc does not point into $root"; exit 1 ;; esac
c++ -std=c++17 "$here/consumer.cc" $(pkg-config --cflags --libs softprobe) -o "$tmp/consumer-pc"
echo "pkg-config consumer: $("$tmp/consumer-pc")"

# One version: the runtime's --version and the library's sp_version_string().
lib_version="${cmake_out#softprobe }"
lib_version="${lib_version%%:*}"
runtime_out="$("$root/usr/bin/softprobe-runtime" --version)"
echo "runtime: $runtime_out"
case "$runtime_out" in "softprobe-runtime $lib_version "*) ;; *)
  echo "softprobe-runtime --version does not name the library's version $lib_version"; exit 1 ;; esac
cli_out="$("$root/usr/bin/softprobe" --version)"
echo "softprobe: $cli_out"
[ "$cli_out" = "$lib_version" ] || { echo "softprobe --version says $cli_out, the library $lib_version"; exit 1; }
deb_version="$(dpkg-deb -f "$deb" Version)"
[ "$deb_version" = "$lib_version" ] || { echo "package version $deb_version, library $lib_version"; exit 1; }
