#!/usr/bin/env bash
# Checks C/C++ formatting against the checked-in .clang-format with Debian's
# clang-format-14 (installed with apt-get when missing).
#   format_check.sh [BASE]  the lines changed since BASE, in the C/C++ files changed
#                           since BASE (committed or not). BASE defaults to the
#                           merge-base with origin/main, or HEAD~1 when there is no
#                           origin/main or HEAD is on it.
#   format_check.sh --all   every tracked C/C++ file, whole (once the tree is formatted).
# Fails listing the files to format and the command that formats them; changes nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CF=clang-format-14
if ! command -v "$CF" >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang-format-14 >/dev/null
fi
patterns=('*.c' '*.cc' '*.cpp' '*.h' '*.hpp')

if [ "${1:-}" = "--all" ]; then
  bad=()
  while IFS= read -r f; do
    "$CF" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done < <(git ls-files -- "${patterns[@]}")
  if [ ${#bad[@]} -gt 0 ]; then
    echo "not formatted (.clang-format, $CF):"
    printf '  %s\n' "${bad[@]}"
    echo "fix: $CF -i ${bad[*]}"
    exit 1
  fi
  echo "all $(git ls-files -- "${patterns[@]}" | wc -l) C/C++ files formatted"
  exit 0
fi

base="${1:-}"
if [ -z "$base" ]; then
  if git rev-parse -q --verify origin/main >/dev/null; then base="$(git merge-base HEAD origin/main)"; fi
  if [ -z "$base" ] || [ "$base" = "$(git rev-parse HEAD)" ]; then
    git rev-parse -q --verify HEAD~1 >/dev/null || { echo "no HEAD~1 to compare with; use --all"; exit 0; }
    base=HEAD~1
  fi
fi
git rev-parse -q --verify "$base^{commit}" >/dev/null || { echo "format_check.sh: \"$base\" is not a commit"; exit 2; }

mapfile -t changed < <(git diff --name-only --diff-filter=ACMR "$base" -- "${patterns[@]}")
if [ ${#changed[@]} -eq 0 ]; then
  echo "no C/C++ files changed since $(git rev-parse --short "$base")"
  exit 0
fi
# Only the changed lines: the tree is not formatted as a whole yet (git-clang-format).
out="$(git-clang-format-14 --binary "$(command -v "$CF")" --diff --extensions c,cc,cpp,h,hpp "$base" -- "${changed[@]}")"
case "$out" in
  "" | "no modified files to format" | "clang-format did not modify any files")
    echo "${#changed[@]} changed C/C++ file(s) since $(git rev-parse --short "$base"): their changed lines are formatted"
    exit 0 ;;
esac
echo "$out"
mapfile -t bad < <(printf '%s\n' "$out" | sed -n 's|^+++ b/||p')
echo
echo "changed lines not formatted (.clang-format, $CF) in:"
printf '  %s\n' "${bad[@]}"
echo "fix: git-clang-format-14 --binary $CF $(git rev-parse --short "$base") -- ${bad[*]}"
exit 1
