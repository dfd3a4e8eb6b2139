# Shared by scripts/demo.sh and scripts/test.sh: install what the project
# needs on a fresh Debian 12 machine, and configure/build with CMake.
# Sourced, not run.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${JOBS:-$(nproc)}"

# Debian packages: compilers and build tools, the core's libraries, the
# runtime's HTTP stack, sanitizer/fuzzer runtimes (clang), benchmarks.
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libsimdjson-dev libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev
  libprotozero-dev libasio-dev libboost-dev libcurl4-openssl-dev catch2 libbenchmark-dev pybind11-dev
  clang libclang-rt-14-dev wrk python3-venv abi-compliance-checker abi-dumper
  libcli11-dev libyaml-cpp-dev curl
)

log() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "apt packages: all present"
    return
  fi
  log "apt packages: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The proxy's tests (proxy/tests/proxy_test.py) drive it with Python requests,
# in the python3 that CMake finds: pip-install it there when it is missing.
install_python_requests() {
  python3 -c 'import requests' 2>/dev/null && return
  log "pip: installing requests for python3 (the proxy's tests)"
  python3 -m pip install --quiet --disable-pip-version-check requests 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages requests
}

# cmake_build DIR [cmake args...]: configure (once) and build everything in DIR.
cmake_build() {
  local dir="$1"
  shift
  cmake -S "$REPO_ROOT" -B "$REPO_ROOT/$dir" -G Ninja "$@" >/dev/null
  cmake --build "$REPO_ROOT/$dir" -j "$JOBS"
}
