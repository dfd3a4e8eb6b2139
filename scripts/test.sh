#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian 12 machine, installing
# what it needs: the C++ suites (normal, AddressSanitizer+UBSan, the
# concurrency tests under ThreadSanitizer), short libFuzzer runs, and the
# language bindings' suites. Builds the core once per configuration and
# reuses build/ for the bindings' tests.
#   FUZZ_SECONDS=15  seconds per fuzz target (0 skips fuzzing)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
passed=0
failed=0
failures=()
timings=()  # seconds per build and test step, printed in the summary (the CI budget is 30 minutes)

# step NAME COMMAND...: runs one test step, records the result, keeps going.
step() {
  local name="$1" start=$SECONDS
  shift
  log "$name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
  timings+=("$(printf '%5ds  %s' $((SECONDS - start)) "$name")")
}

# built NAME COMMAND...: runs one build; a failed build is a failed step
# (the run goes on with the other configurations) and its tests are skipped.
built() {
  local name="$1" start=$SECONDS rc=0
  shift
  log "$name"
  "$@" || rc=$?
  timings+=("$(printf '%5ds  %s' $((SECONDS - start)) "$name")")
  [ "$rc" -eq 0 ] && return 0
  failed=$((failed + 1))
  failures+=("$name (its tests were skipped)")
  return 1
}

build_tsan() {
  cmake -S "$REPO_ROOT" -B "$REPO_ROOT/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOFTPROBE_SANITIZE=thread \
    -DSOFTPROBE_BUILD_EXAMPLES=OFF -DSOFTPROBE_BUILD_RUNTIME=ON -DSOFTPROBE_LINE_TABLES_ONLY=ON >/dev/null &&
    cmake --build "$REPO_ROOT/build-tsan" -j "$JOBS" --target softprobe_core_concurrency_tests softprobe_net_thread_tests \
      softprobe-runtime softprobe_runtime_front_end_tests softprobe_remote_session_tests softprobe_cli
}

build_fuzz() {
  CC=clang CXX=clang++ cmake -S "$REPO_ROOT" -B "$REPO_ROOT/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSOFTPROBE_BUILD_FUZZERS=ON -DSOFTPROBE_BUILD_TESTS=OFF -DSOFTPROBE_BUILD_EXAMPLES=OFF -DSOFTPROBE_BUILD_RUNTIME=OFF \
    -DSOFTPROBE_BUILD_NET=OFF -DSOFTPROBE_SANITIZE=address,undefined,fuzzer-no-link -DSOFTPROBE_LINE_TABLES_ONLY=ON >/dev/null &&
    cmake --build "$REPO_ROOT/build-fuzz" -j "$JOBS"
}

run_ctest() { (cd "$REPO_ROOT/$1" && shift && ctest --output-on-failure "$@"); }

sanitized_ctest() {
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_ctest build-asan
}

tsan_concurrency() {
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  "$REPO_ROOT/build-tsan/tests/softprobe_core_concurrency_tests" "[concurrency]" &&
    "$REPO_ROOT/build-tsan/tests/net/softprobe_net_thread_tests" "[net-threads]" &&
    # The runtime's front end from outside, against the TSan build of the runtime: a race
    # aborts the runtime (halt_on_error), which fails the tests talking to it.
    SOFTPROBE_RUNTIME_BIN="$REPO_ROOT/build-tsan/runtime-server/softprobe-runtime" \
      "$REPO_ROOT/build-tsan/runtime-server/tests/softprobe_runtime_front_end_tests" "[front-end]" &&
    # The core's remote mode (libcurl, one session from several threads) against the TSan runtime.
    SOFTPROBE_RUNTIME_BIN="$REPO_ROOT/build-tsan/runtime-server/softprobe-runtime" \
      "$REPO_ROOT/build-tsan/runtime-server/tests/softprobe_remote_session_tests" "[remote]" &&
    # The proxy (one session deciding on every io thread, tunnels, shutdown) from outside: its
    # suite against the TSan build of softprobe.
    python3 "$REPO_ROOT/proxy/tests/proxy_test.py" "$REPO_ROOT/build-tsan/cli/softprobe"
}

# The Node binding's suite, then the proxy's one Node test (fetch through undici's ProxyAgent):
# it needs bindings/node's undici, which the Node suite installs, so the proxy runs before it skip it.
node_tests() {
  binding_tests node &&
    SOFTPROBE_PROXY_NODE_TEST=required python3 "$REPO_ROOT/proxy/tests/proxy_test.py" \
      "$REPO_ROOT/build/cli/softprobe" Egress.test_node_fetch_through_undici_proxy_agent
}

# Every input surface has a target (fuzz/CMakeLists.txt); each runs briefly on its seed corpus.
FUZZ_TARGETS=(case_json rules_json otlp_json otlp_protobuf documents redaction proxy_inputs)

# fuzz_one TARGET: one target for FUZZ_SECONDS on its seed corpus (a crash fails it: its input is
# kept in build-fuzz/); prints the verdict and libFuzzer's last lines.
fuzz_one() {
  local target="$1" work rc=0
  work="$(mktemp -d)"
  "$REPO_ROOT/build-fuzz/fuzz/${target}_fuzzer" -max_total_time="$FUZZ_SECONDS" -max_len=65536 \
    -artifact_prefix="$REPO_ROOT/build-fuzz/" "$work" "$REPO_ROOT/fuzz/corpus/$target" >"$work/log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then echo "fuzzed $target for ${FUZZ_SECONDS}s: ok"; else echo "fuzzed $target: FAILED (exit $rc)"; fi
  tail -n 3 "$work/log"
  rm -rf "$work"
  return "$rc"
}

# Every target, JOBS at a time (a libFuzzer process uses one core), each one's output kept together.
fuzz_targets() {
  local target rc=0
  export -f fuzz_one
  export REPO_ROOT FUZZ_SECONDS
  printf '%s\n' "${FUZZ_TARGETS[@]}" |
    xargs -P "$JOBS" -I{} bash -c 'fuzz_one "$1" >"$REPO_ROOT/build-fuzz/$1.fuzz.log" 2>&1' _ {} || rc=$?
  for target in "${FUZZ_TARGETS[@]}"; do cat "$REPO_ROOT/build-fuzz/$target.fuzz.log"; done
  return "$rc"
}

# The bindings link build/'s libsoftprobe.so and use its runtime: they compile
# none of the core (SOFTPROBE_CORE_BUILD; docs/node.md, docs/python.md).
binding_tests() {
  local script="$REPO_ROOT/bindings/$1/test.sh"
  [ -f "$script" ] || { echo "no bindings/$1 yet"; return 0; }
  SOFTPROBE_CORE_BUILD="$REPO_ROOT/build" SOFTPROBE_RUNTIME_BIN="$REPO_ROOT/build/runtime-server/softprobe-runtime" \
    bash "$script"
}

install_apt_packages
install_python_requests

# Every C/C++ file of the tree follows .clang-format (formatted once; CONTRIBUTING.md).
step "formatting of every C/C++ file, clang-format-14 (scripts/format_check.sh --all)" "$REPO_ROOT/scripts/format_check.sh" --all

core_built=0 # build/ built: the bindings' steps link its libsoftprobe.so (else they are skipped)

# Every option explicitly: build/ is shared with scripts/demo.sh, whose choices stay in the cache.
if built "build: RelWithDebInfo, -Werror (build/)" cmake_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSOFTPROBE_BUILD_TESTS=ON -DSOFTPROBE_BUILD_EXAMPLES=ON -DSOFTPROBE_BUILD_RUNTIME=ON -DSOFTPROBE_SANITIZE= \
  -DSOFTPROBE_LINE_TABLES_ONLY=ON; then
  core_built=1
  step "C++ tests (ctest)" run_ctest build
  step "ABI check against the baseline in abi/ (scripts/abi_check.sh)" \
    "$REPO_ROOT/scripts/abi_check.sh" --lib "$REPO_ROOT/build/libsoftprobe/libsoftprobe.so"
  step "Debian package: cpack of build/, dpkg -i into a scratch root, consumers (tests/package/check_deb.sh)" \
    "$REPO_ROOT/tests/package/check_deb.sh" "$REPO_ROOT/build"
fi

if built "build: AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)" cmake_build build-asan \
  -DCMAKE_BUILD_TYPE=Debug -DSOFTPROBE_SANITIZE=address,undefined -DSOFTPROBE_BUILD_EXAMPLES=OFF \
  -DSOFTPROBE_LINE_TABLES_ONLY=ON; then
  step "C++ tests under ASan+UBSan" sanitized_ctest
fi

if built "build: ThreadSanitizer, the threaded tests of the core, the HTTP layer, the runtime and the proxy (build-tsan/)" build_tsan; then
  step "concurrency tests under TSan" tsan_concurrency
fi

if [ "$FUZZ_SECONDS" -gt 0 ] && built "build: libFuzzer targets with clang (build-fuzz/)" build_fuzz; then
  step "fuzzing ${FUZZ_SECONDS}s per target" fuzz_targets
fi

if [ "$core_built" -eq 1 ]; then
  step "Node binding tests (on build/'s libsoftprobe.so), and the proxy with Node's fetch" node_tests
  step "Python binding tests (on build/'s libsoftprobe.so)" binding_tests python
  # The wheel, the sdist and the npm tarball with its prebuilt addon, each installed and used with
  # no compiler on PATH (docs/python.md#packages, docs/node.md#the-npm-tarball); the sdist is
  # installed from source outside the checkout (it compiles the core), then used the same way.
  step "packages: Python wheel + sdist, npm tarball with prebuilt addon (scripts/package_test.sh)" \
    env SOFTPROBE_CORE_BUILD="$REPO_ROOT/build" "$REPO_ROOT/scripts/package_test.sh"
fi

log "summary"
printf '%s\n' "${timings[@]}"
echo "total: ${SECONDS}s"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
