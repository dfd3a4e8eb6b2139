// What every handler shares: the configuration, the one session store
// (the core's), and the metrics.
#pragma once

#include "config.hpp"
#include "metrics.hpp"
#include "softprobe.hpp"

namespace softprobe::runtime {

struct Runtime {
  explicit Runtime(Config c) : config(std::move(c)) {}
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const Config config;
  softprobe::Store store;
  Metrics metrics;
};

}  // namespace softprobe::runtime
