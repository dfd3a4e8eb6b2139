# Sourced by scripts/package_test.sh: no_compiler_path DIR prints a PATH made of
# DIR/bin, holding links to the few tools an install step needs (no compiler,
# no CMake, no make/ninja), and checks that none of them is reachable on it.
no_compiler_path() {
  local dir="$1/bin" tool
  mkdir -p "$dir"
  for tool in sh bash env cat ls mkdir rm cp mv ln dirname basename readlink uname sed grep tar gzip python3 node npm; do
    local found
    found="$(command -v "$tool" || true)"
    [ -n "$found" ] && ln -sfn "$(readlink -f "$found")" "$dir/$tool"
  done
  for tool in cc c++ gcc g++ clang clang++ cmake make ninja ld; do
    if PATH="$dir" command -v "$tool" >/dev/null 2>&1; then
      echo "no_compiler_path: $tool is on the install PATH" >&2
      return 1
    fi
  done
  printf '%s' "$dir"
}
