#!/usr/bin/env bash
# The ABI check: is libsoftprobe.so still binary compatible with the release
# baseline committed in abi/? (docs/c-abi.md, "The ABI check")
#
#   scripts/abi_check.sh                     builds the shared library with -g -Og (build-abi/), checks it
#   scripts/abi_check.sh --lib PATH          checks a shared library already built with debug info (-g)
#   scripts/abi_check.sh --baseline FILE     compares with FILE instead of abi/softprobe-<series>.dump
#   scripts/abi_check.sh --update-baseline   (at a release) writes the baseline from the library instead
#
# Only the stable C ABI is compared: the functions include/softprobe.h
# declares outside its SOFTPROBE_EXPERIMENTAL block, with the types they use
# (abi-dumper -symbols-list), so the committed dump stays small. A break (a
# removed or changed function, a changed struct layout or enum value) fails
# unless the library's version is another 0.x minor than the baseline's: the
# policy lets a minor break the ABI before 1.0, and the SONAME moves with it.
# Also checks that the experimental API stays hidden without the macro.
# Exit: 0 compatible (or an allowed break), 1 a break, 2 a usage or tool error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HEADER="$REPO_ROOT/include/softprobe.h"
ABI_DIR="$REPO_ROOT/abi"
LIB=""
BASELINE=""
UPDATE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lib) LIB="$2"; shift 2 ;;
    --baseline) BASELINE="$2"; shift 2 ;;
    --update-baseline) UPDATE=1; shift ;;
    *) echo "abi_check.sh: unknown argument \"$1\" (see the comment at the top)" >&2; exit 2 ;;
  esac
done

for tool in abi-dumper abi-compliance-checker; do
  command -v "$tool" >/dev/null || install_apt_packages
  command -v "$tool" >/dev/null || { echo "abi_check.sh: $tool is missing (apt-get install $tool)" >&2; exit 2; }
done

version_part() { sed -n "s/^#define SOFTPROBE_VERSION_$1 \([0-9]*\)$/\1/p" "$HEADER"; }
MAJOR="$(version_part MAJOR)"
MINOR="$(version_part MINOR)"
PATCH="$(version_part PATCH)"
VERSION="$MAJOR.$MINOR.$PATCH"
# The project's one version is in VERSION (CMakeLists.txt's project() reads it; the SONAME comes from it).
project_version="$(head -n 1 "$REPO_ROOT/VERSION" 2>/dev/null | tr -d '[:space:]')"
if [ "$project_version" != "$VERSION" ]; then
  echo "abi_check.sh: softprobe.h says $VERSION but VERSION says '$project_version' (the SONAME comes from it; scripts/set_version.sh sets both)" >&2
  exit 1
fi
# One baseline per ABI series: 0.<minor> before 1.0, <major> after.
if [ "$MAJOR" = 0 ]; then SERIES="0.$MINOR"; else SERIES="$MAJOR"; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The experimental API is declared only on request.
cat >"$work/hidden.c" <<'EOF'
#include <softprobe.h>
int main(void) {
  sp_inject_result *r = 0;
  sp_inject_result_free(r);
  return sp_inject_result_http_status(r) == 500 ? 0 : 1;
}
EOF
if cc -std=c11 -Werror -Wall -I"$REPO_ROOT/include" -c "$work/hidden.c" -o "$work/hidden.o" 2>/dev/null; then
  echo "abi_check.sh: the experimental API (sp_inject_result_*) is declared without SOFTPROBE_EXPERIMENTAL" >&2
  exit 1
fi
cc -std=c11 -Werror -Wall -DSOFTPROBE_EXPERIMENTAL -I"$REPO_ROOT/include" -c "$work/hidden.c" -o "$work/hidden.o" || {
  echo "abi_check.sh: the experimental API (sp_inject_result_*) is not declared with SOFTPROBE_EXPERIMENTAL" >&2
  exit 1
}

if [ -z "$LIB" ]; then
  log "ABI check: building libsoftprobe.so with -g -Og (build-abi/)"
  cmake -S "$REPO_ROOT" -B "$REPO_ROOT/build-abi" -G Ninja -DCMAKE_BUILD_TYPE=None "-DCMAKE_C_FLAGS=-g -Og" \
    "-DCMAKE_CXX_FLAGS=-g -Og" -DSOFTPROBE_BUILD_TESTS=OFF -DSOFTPROBE_BUILD_EXAMPLES=OFF -DSOFTPROBE_BUILD_RUNTIME=OFF \
    -DSOFTPROBE_BUILD_NET=OFF -DSOFTPROBE_SANITIZE= >/dev/null
  cmake --build "$REPO_ROOT/build-abi" -j "$JOBS" --target softprobe
  LIB="$REPO_ROOT/build-abi/libsoftprobe/libsoftprobe.so"
fi
LIB="$(readlink -f "$LIB")"
[ -f "$LIB" ] || { echo "abi_check.sh: no library at $LIB" >&2; exit 2; }

# The stable functions: every SOFTPROBE_API declaration outside the
# experimental block.
sed '/^#ifdef SOFTPROBE_EXPERIMENTAL$/,/^#endif \/\* SOFTPROBE_EXPERIMENTAL \*\/$/d' "$HEADER" |
  grep '^SOFTPROBE_API' | grep -o 'sp_[a-z0-9_]*(' | tr -d '(' | sort -u >"$work/stable.symbols"
[ -s "$work/stable.symbols" ] || { echo "abi_check.sh: found no stable functions in $HEADER" >&2; exit 2; }

log "ABI check: dumping $(basename "$LIB") $VERSION ($(wc -l <"$work/stable.symbols") stable functions)"
echo "$HEADER" >"$work/public.headers"  # a list of headers (a directory would take softprobe.hpp too)
abi-dumper "$LIB" -o "$work/current.dump" -vnum "$VERSION" -public-headers "$work/public.headers" \
  -symbols-list "$work/stable.symbols" -bin-only -skip-cxx -sort -quiet >"$work/dumper.log" 2>&1 || {
  cat "$work/dumper.log" >&2
  exit 2
}
# abi-dumper keeps what the library's debug info says about the C++ inside
# (std::, inline functions, internal types): keep only the stable functions
# and the types they reach, so the dump is the C ABI and small enough to
# review. Build paths are dropped: the dump is the same on every machine.
perl - "$work/current.dump" "$work/stable.symbols" "$HEADER" >"$work/filtered.dump" <<'PERL'
use strict;
use warnings;
use Data::Dumper;
my ($dump_path, $list_path, $header_path) = @ARGV;
my $dump = do { local $/; open(my $f, '<', $dump_path) or die "$dump_path: $!"; <$f> };
my $VAR1;
my $abi = eval($dump) or die "cannot read the ABI dump: $@";
my %stable = map { chomp; ($_ => 1) } do { open(my $f, '<', $list_path) or die "$list_path: $!"; <$f> };
# The handles are opaque in softprobe.h (typedef struct sp_x sp_x;): their
# insides are the library's business, not its ABI.
my $header = do { local $/; open(my $f, '<', $header_path) or die "$header_path: $!"; <$f> };
my %opaque = map { ($_ => 1) } $header =~ /^typedef struct (sp_\w+) \1;$/mg;
for my $t (values %{$abi->{TypeInfo}}) {
  my ($base) = ($t->{Name} // '') =~ /^(?:struct )?(sp_\w+)(?: const)?$/;
  next unless $base && $opaque{$base};
  delete @$t{qw(Memb Size Line Copied PrivateABI)};
  $t->{Header} = 'softprobe.h' if ($t->{Type} // '') eq 'Struct';
}
my (%keep_sym, %keep_type, @todo);
for my $id (keys %{$abi->{SymbolInfo}}) {
  my $s = $abi->{SymbolInfo}{$id};
  my $name = $s->{MnglName} // $s->{ShortName} // '';
  next unless $stable{$name} && ($s->{Header} // '') eq 'softprobe.h';
  $keep_sym{$id} = 1;
  push @todo, grep { defined } $s->{Return}, $s->{Class}, map { $_->{type} } values %{$s->{Param} // {}};
}
sub refs {  # the type ids a type entry points at
  my ($node) = @_;
  my @out;
  if (ref $node eq 'HASH') {
    for my $k (keys %$node) {
      my $v = $node->{$k};
      if (!ref $v && $k =~ /^(type|BaseType|Return|Class)$/) { push @out, $v }
      elsif ($k eq 'Base' && ref $v eq 'HASH') { push @out, keys %$v }
      elsif (ref $v) { push @out, refs($v) }
    }
  }
  return @out;
}
while (defined(my $t = shift @todo)) {
  next if $keep_type{$t} || !exists $abi->{TypeInfo}{$t};
  $keep_type{$t} = 1;
  push @todo, refs($abi->{TypeInfo}{$t});
}
$abi->{SymbolInfo} = { map { ($_ => $abi->{SymbolInfo}{$_}) } keys %keep_sym };
$abi->{TypeInfo} = { map { ($_ => $abi->{TypeInfo}{$_}) } keys %keep_type };
for my $lib (keys %{$abi->{Symbols}}) {
  $abi->{Symbols}{$lib} = { map { ($_ => 1) } grep { $stable{$_} } keys %{$abi->{Symbols}{$lib}} };
}
$abi->{UndefinedSymbols} = {};
$abi->{Sources} = {};
$abi->{NameSpaces} = {};
delete $_->{Source} for values %{$abi->{SymbolInfo}};
$Data::Dumper::Sortkeys = 1;
$Data::Dumper::Indent = 1;
print Dumper($abi);
PERL
mv "$work/filtered.dump" "$work/current.dump"

mkdir -p "$ABI_DIR"
if [ "$UPDATE" = 1 ]; then
  cp "$work/current.dump" "$ABI_DIR/softprobe-$SERIES.dump"
  echo "baseline written: abi/softprobe-$SERIES.dump (version $VERSION); commit it"
  exit 0
fi

# The baseline: this series' if there is one, else the newest earlier one.
baseline="${BASELINE:-$ABI_DIR/softprobe-$SERIES.dump}"
if [ -z "$BASELINE" ] && [ ! -f "$baseline" ]; then
  baseline="$(ls "$ABI_DIR"/softprobe-*.dump 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$baseline" ] || { echo "abi_check.sh: no baseline in abi/ (run with --update-baseline at a release)" >&2; exit 2; }
fi
baseline_version="$(sed -n "s/^  'LibraryVersion' => '\(.*\)',$/\1/p" "$baseline")"

log "ABI check: $VERSION against the baseline $(basename "$baseline") ($baseline_version)"
set +e
# In $work: the checker writes its logs/ and compat_reports/ into the current directory.
(cd "$work" && abi-compliance-checker -l softprobe -binary -old "$baseline" -new "$work/current.dump" \
  -report-format xml -report-path "$work/report.xml") >"$work/checker.log" 2>&1
rc=$?
set -e
grep -E '^(Binary compatibility|Total binary compatibility problems)' "$work/checker.log" || true
if [ "$rc" -eq 0 ]; then
  echo "ABI compatible with $baseline_version"
  exit 0
fi
if [ "$rc" -ne 1 ]; then
  cat "$work/checker.log" >&2
  echo "abi_check.sh: abi-compliance-checker failed (exit $rc)" >&2
  exit 2
fi
# A break. Allowed only where the policy allows it: another 0.x minor.
base_major="${baseline_version%%.*}"
base_rest="${baseline_version#*.}"
base_minor="${base_rest%%.*}"
# What broke: the report's non-empty problem sections.
sed -n '/^<removed_symbols>/,$p' "$work/report.xml" | perl -0pe 's{<(\w+)[^>]*>\s*</\1>\s*}{}g; s{</?report[^>]*>}{}g' |
  head -n 80 || true
if [ "$MAJOR" = 0 ] && [ "$base_major" = 0 ] && [ "$MINOR" != "$base_minor" ]; then
  echo "ABI break against $baseline_version, allowed: the version moved to $VERSION (another 0.x minor; SONAME libsoftprobe.so.0.$MINOR)"
  exit 0
fi
echo "ABI break against $baseline_version with version $VERSION: bump SOFTPROBE_VERSION_MINOR (0.x) or keep the ABI" >&2
echo "(full report: abi-compliance-checker -l softprobe -old $baseline -new <dump>)" >&2
exit 1
