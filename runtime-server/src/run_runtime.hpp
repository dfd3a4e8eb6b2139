// The runtime server as one call, for the softprobe-runtime binary and for
// `softprobe runtime` (cli/): parses the arguments, serves until SIGTERM or
// SIGINT, closes every session (captures written) and returns the exit code.
#pragma once

namespace softprobe::runtime {

// argv[0] is the program name; argv[1..argc) are the runtime's flags
// (`softprobe-runtime --help`). Returns 0 after a clean shutdown, 1 when the
// runtime could not start or a capture could not be written, 2 for bad
// arguments or an unusable capture directory. Blocks SIGTERM and SIGINT in
// the calling thread (and so in every thread it starts); call it from main.
int run_runtime(int argc, char** argv);

}  // namespace softprobe::runtime
