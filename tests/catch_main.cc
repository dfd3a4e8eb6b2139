// Catch2's main, compiled once per build (the object library softprobe_catch_main)
// and linked into every Catch2 test program of the project.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
