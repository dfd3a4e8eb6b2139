// softprobe-runtime: the runtime server (run_runtime.hpp); `softprobe runtime`
// runs the same.
#include "run_runtime.hpp"

int main(int argc, char** argv) { return softprobe::runtime::run_runtime(argc, argv); }
