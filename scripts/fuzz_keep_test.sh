#!/usr/bin/env bash
# fuzz_keep_test.sh: scripts/fuzz keeps a crash input in $TMPDIR (or /tmp,
# shared with every user) under a name nobody could have planted: a
# symbolic link made beforehand at the name a crash would get is neither
# followed nor replaced.  The compiler is a stand-in (FUZZ_CC) whose
# "fuzzer" writes one crash input and fails, so no clang is needed.
set -uo pipefail

tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/fuzz_keep.XXXXXX")
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# FUZZ_CC: writes a script to the -o path; run, it drops a crash input at
# -artifact_prefix and exits 1 as libFuzzer does on a crash.
cat >"$tmp/cc" <<'CC'
#!/usr/bin/env bash
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then out=$2; shift; fi
  shift
done
cat >"$out" <<'FUZZER'
#!/usr/bin/env bash
for a in "$@"; do
  case $a in -artifact_prefix=*) prefix=${a#-artifact_prefix=} ;; esac
done
printf 'CRASH INPUT\n' >"${prefix}crash-0001"
echo "==1==ERROR: AddressSanitizer: stand-in crash"
exit 1
FUZZER
chmod +x "$out"
CC
chmod +x "$tmp/cc"

mkdir "$tmp/shared"
echo "precious" >"$tmp/victim"
# The pid of the scripts/fuzz process is the one of this bash, kept by exec.
TMPDIR=$tmp/shared FUZZ_CC=$tmp/cc bash -c '
  ln -s "$1/victim" "$TMPDIR/arenalab-fuzz-crash-csv-$$"
  exec "$2" 1 csv' _ "$tmp" "$(pwd)/scripts/fuzz" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] || fail "fuzz: exit $rc, want 1: $(cat "$tmp/out" "$tmp/err")"
[ "$(cat "$tmp/victim")" = precious ] ||
  fail "the crash input was written through a planted link: victim now '$(cat "$tmp/victim")'"
kept=$(sed -n 's/^fuzz: FAIL csv (exit 1; crash input kept as \(.*\))$/\1/p' "$tmp/out")
[ -n "$kept" ] || fail "no kept crash input named: $(cat "$tmp/out")"
if [ -n "$kept" ]; then
  [ -f "$kept" ] && [ ! -L "$kept" ] && [ "$(cat "$kept")" = "CRASH INPUT" ] ||
    fail "$kept: not the crash input in a file of its own"
  case $kept in "$tmp/shared/"*) ;; *) fail "$kept: not in \$TMPDIR" ;; esac
fi

echo "fuzz_keep_test: $fails failures"
rm -rf "$tmp"
[ "$fails" = 0 ]
