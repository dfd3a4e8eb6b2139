#!/usr/bin/env bash
# Builds the core in Release and runs its Google Benchmark suite (medians of
# 5 repetitions). Results are reported in docs/performance.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_apt_packages
cmake_build build-bench -DCMAKE_BUILD_TYPE=Release -DSOFTPROBE_BUILD_BENCHMARKS=ON -DSOFTPROBE_BUILD_TESTS=OFF \
  -DSOFTPROBE_BUILD_EXAMPLES=OFF -DSOFTPROBE_BUILD_RUNTIME=OFF -DSOFTPROBE_BUILD_NET=OFF
"$REPO_ROOT/build-bench/bench/softprobe_core_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.5 "$@"
