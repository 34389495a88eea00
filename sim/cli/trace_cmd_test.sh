#!/usr/bin/env bash
# trace_cmd_test.sh: `arenalab check`, `convert` and `stats` as a user runs
# them: the bad-input corpus (sim/trace/testdata/bad/EXPECT: exit status and
# message of each file), exit codes, conversions that round-trip exactly or
# leave no output, statistics as JSON.
#
# usage: trace_cmd_test.sh ARENALAB   (run from the workspace root)
set -u
arenalab=$1
bad=sim/trace/testdata/bad
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect CODE SUBSTRING CMD...: CMD exits with CODE and prints SUBSTRING
# (standard output and error together).
expect() {
    local code=$1 want=$2
    shift 2
    checks=$((checks + 1))
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [[ $rc != "$code" ]]; then
        fail "$* exited $rc, not $code:"$'\n'"$out"
    elif [[ $out != *"$want"* ]]; then
        fail "$* did not say '$want':"$'\n'"$out"
    fi
}

# ---- the bad-input corpus ---------------------------------------------------
listed=" "
while read -r file code msg; do
    [[ -z $file || $file == \#* ]] && continue
    listed+="$file "
    if [[ ! -f $bad/$file ]]; then
        fail "EXPECT lists $file, which is missing"
        continue
    fi
    expect "$code" "$msg" "$arenalab" check "$bad/$file"
    # every message names the file
    expect "$code" "$bad/$file" "$arenalab" check "$bad/$file"
done <"$bad/EXPECT"
for f in "$bad"/*; do
    name=${f##*/}
    [[ $name == EXPECT || $name == *.sh ]] && continue
    [[ $listed == *" $name "* ]] || fail "$name is in the corpus but not in EXPECT"
done

# ---- check ----------------------------------------------------------------------
expect 0 "traces/spec-example.txt: text, 9 events, 0 errors" "$arenalab" check traces/spec-example.txt
expect 0 "(malloc-lab .rep), 240 events, 0 errors" "$arenalab" check traces/binary-lab.rep
# the worst status over several traces; every trace gets its summary
expect 1 "double-free.txt: text, 2 events, 1 errors" \
    "$arenalab" check traces/spec-example.txt "$bad/double-free.txt"
expect 2 "spec-example.txt: text, 9 events" \
    "$arenalab" check "$bad/garbage.txt" "$bad/double-free.txt" traces/spec-example.txt
expect 2 "cannot open" "$arenalab" check "$tmp/missing.txt"
expect 2 "no trace given" "$arenalab" check
expect 2 "unknown option" "$arenalab" check -z traces/spec-example.txt
expect 2 "--max-errors wants a number, not '99999999999999999999'" \
    "$arenalab" check --max-errors 99999999999999999999 traces/spec-example.txt
expect 0 "Exit status: 0 every trace is clean; 1 semantic errors only" "$arenalab" check --help
expect 1 "1 errors (0 syntax, 1 semantic)" "$arenalab" check -q "$bad/double-free.txt"
expect 0 "<stdin>: text, 9 events" sh -c "'$arenalab' check - < traces/spec-example.txt"
expect 2 "binary trace cannot be read from a pipe" sh -c "cat $bad/bad-slot.atr | '$arenalab' check -"
# ... and its tally names standard input as the message does
expect 2 "<stdin>: unreadable" sh -c "cat $bad/bad-slot.atr | '$arenalab' check - 2>/dev/null"
expect 0 "<stdin>: binary, 9 events" sh -c "'$arenalab' check - < $bad/truncated-complete.atr"

# ---- convert ----------------------------------------------------------------------
# a bad line after megabytes of output: a file OUT is never written, but
# standard output (written in place) has had what came before, and the
# message says so instead of "not written"
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "a %d 16\nf %d\n", i, i; print "f 7" }' \
    >"$tmp/late-error.txt"
expect 1 "convert: stopped; $tmp/late-out.txt not written" \
    "$arenalab" convert "$tmp/late-error.txt" "$tmp/late-out.txt"
expect 1 "convert: stopped; - may hold part of the output (written in place)" \
    sh -c "'$arenalab' convert '$tmp/late-error.txt' - >/dev/null"
expect 0 "$tmp/spec.atr: 9 events, binary" "$arenalab" convert traces/spec-example.txt "$tmp/spec.atr"
expect 0 "binary, 9 events, 0 errors" "$arenalab" check "$tmp/spec.atr"
expect 0 "9 events, text" "$arenalab" convert "$tmp/spec.atr" "$tmp/spec.txt"
grep -v '^#' traces/spec-example.txt >"$tmp/canonical.txt"
checks=$((checks + 1))
cmp -s "$tmp/spec.txt" "$tmp/canonical.txt" || fail "text -> binary -> text is not the canonical text"
expect 0 "9 events, binary" "$arenalab" convert "$tmp/spec.txt" "$tmp/spec2.bin"
checks=$((checks + 1))
cmp -s "$tmp/spec.atr" "$tmp/spec2.bin" || fail "binary -> text -> binary changed bytes"
# the one rule for names: the name says the format, --to must agree, .zst
# compresses, a name that says nothing is an error
expect 0 "9 events, text" "$arenalab" convert --to text traces/spec-example.txt "$tmp/forced.txt"
expect 2 "the name says binary (.atr), but text was asked for" \
    "$arenalab" convert --to text traces/spec-example.txt "$tmp/forced.atr"
expect 2 "a trace's name ends in .atr (binary) or .txt / .trace (text)" \
    "$arenalab" convert traces/spec-example.txt "$tmp/noext"
[[ ! -e $tmp/forced.atr && ! -e $tmp/noext ]] || fail "a refused name was written"
expect 0 "9 events, binary" "$arenalab" convert traces/spec-example.txt "$tmp/spec.atr.zst"
expect 0 "binary, 9 events, 0 errors" "$arenalab" check "$tmp/spec.atr.zst"
expect 0 "9 events, text" "$arenalab" convert traces/spec-example.txt "$tmp/spec.txt.zst"
expect 0 "text, 9 events, 0 errors" "$arenalab" check "$tmp/spec.txt.zst"
checks=$((checks + 1))
[[ $(head -c 4 "$tmp/spec.atr.zst" | od -An -tx1 | tr -d ' ') == 28b52ffd ]] ||
    fail "convert to .atr.zst did not compress"
expect 2 "record writes binary traces" "$arenalab" record -o "$tmp/rec.txt" -- true
expect 0 "a 0 24 obj" "$arenalab" convert "$tmp/spec.atr" -
expect 2 "--to wants text, bin or atr1" "$arenalab" convert --to xml traces/spec-example.txt "$tmp/x"
expect 2 "give IN and OUT" "$arenalab" convert traces/spec-example.txt
# a semantic error stops the conversion and leaves nothing behind
expect 1 "double-free.txt:3: f of id 1, which is not live" \
    "$arenalab" convert "$bad/double-free.txt" "$tmp/df.atr"
checks=$((checks + 1))
ls "$tmp"/df.atr* >/dev/null 2>&1 && fail "a failed convert left $(ls "$tmp"/df.atr*)"
expect 2 "unknown-op.txt:2: unknown op 'q'" "$arenalab" convert "$bad/unknown-op.txt" "$tmp/uo.txt"
checks=$((checks + 1))
[[ -e $tmp/uo.txt ]] && fail "a failed convert left uo.txt"
# --lenient skips and says how many
expect 0 "skipped 2 bad lines/events" "$arenalab" convert --lenient "$bad/mixed.txt" "$tmp/mixed.atr"
expect 0 "binary, 1 events, 0 errors" "$arenalab" check "$tmp/mixed.atr"
# a trace cut short converts what is there, with a warning
expect 0 "cut short after 6 events" "$arenalab" convert "$bad/truncated.atr" "$tmp/cut.txt"
expect 0 "text, 6 events, 0 errors" "$arenalab" check "$tmp/cut.txt"

# ---- stats ----------------------------------------------------------------------------
expect 0 "peak live bytes                    9348  (9.1 KiB)" "$arenalab" stats traces/spec-example.txt
expect 0 "(line 8)" "$arenalab" stats traces/spec-example.txt
expect 0 '"peak_live_bytes": 9348' "$arenalab" stats --json - "$tmp/spec.atr"
expect 0 "" "$arenalab" stats --json "$tmp/stats.json" traces/realloc-lab.rep
checks=$((checks + 1))
grep -q '"growing": 60' "$tmp/stats.json" || fail "stats.json lacks the realloc counts"
expect 1 "double-free.txt:3: f of id 1" "$arenalab" stats "$bad/double-free.txt"
# an --json that cannot be written fails first, before the trace is read
# and its table printed (as replay's outputs); a failed read leaves none
mkdir -p "$tmp/jsondir"
checks=$((checks + 1))
out=$("$arenalab" stats --json "$tmp/jsondir" traces/ast.atr 2>"$tmp/jsondir.err")
rc=$?
[[ $rc == 2 && -z $out ]] && grep -q "jsondir: is a directory" "$tmp/jsondir.err" ||
    fail "stats --json DIR: exit $rc, stdout '${out:0:80}', $(cat "$tmp/jsondir.err")"
expect 1 "double-free.txt:3" "$arenalab" stats --json "$tmp/jsondir/bad.json" "$bad/double-free.txt"
checks=$((checks + 1))
[[ -z $(ls -A "$tmp/jsondir") ]] || fail "a failed stats left $(ls -A "$tmp/jsondir")"
expect 0 "skipped 1 bad lines/events" "$arenalab" stats --lenient "$bad/double-free.txt"
printf '\x89ATR%040d' 0 >"$tmp/magic.atr"
expect 2 "header: bad magic" "$arenalab" stats "$tmp/magic.atr"
expect 2 "give exactly one trace" "$arenalab" stats

# ---- a binary trace truncated while it is read ---------------------------------
# mmap'ed input that shrinks is bad input: a clear message and an exit
# status, never a death by SIGBUS (whichever moment the truncation hits)
# (both versions: v1 is big and read for a while; v2 compresses this
# trace to a few KiB, cut to half of it)
"$arenalab" gen scripts/workloads/bench.lua -o "$tmp/big2.atr" -D n=3000000 >/dev/null 2>&1 ||
    fail "gen big2.atr"
"$arenalab" convert --to atr1 "$tmp/big2.atr" "$tmp/big1.atr" >/dev/null 2>&1 ||
    fail "convert big1.atr"
for delay in 0.02 0.05 0.1 0.2; do
    for cmd in check stats check2; do
        big=$tmp/big1.atr
        [[ $cmd == check2 ]] && cmd=check big=$tmp/big2.atr
        cp "$big" "$tmp/shrink.atr"
        "$arenalab" "$cmd" "$tmp/shrink.atr" >"$tmp/shrink.out" 2>&1 &
        pid=$!
        sleep "$delay"
        truncate -s $(($(stat -c %s "$big") / 2)) "$tmp/shrink.atr"
        wait "$pid"
        rc=$?
        checks=$((checks + 1))
        if [[ $rc -ge 128 ]]; then
            fail "$cmd of a trace truncated after ${delay}s died with status $rc: $(tail -2 "$tmp/shrink.out")"
        elif [[ $rc -eq 2 ]] && ! grep -q "changed size while it was being read\|cut short\|truncated" "$tmp/shrink.out"; then
            fail "$cmd of a trace truncated after ${delay}s: exit 2 without saying why: $(tail -2 "$tmp/shrink.out")"
        fi
    done
done

# ---- a valid header followed by zeros: millions of live blocks -------------------
# the reader's tables are bounded by the machine's memory (a small bound
# here): a clear error at the event, never an exhausted machine
"$arenalab" convert --to atr1 traces/spec-example.txt "$tmp/hdr.atr" >/dev/null 2>&1
{ head -c 48 "$tmp/hdr.atr"; head -c 20000000 /dev/zero; } >"$tmp/zeros.atr"
for cmd in check stats; do
    expect 2 "than this machine can track in memory" \
        env ARENALAB_READER_MAX_BYTES=1000000 "$arenalab" "$cmd" "$tmp/zeros.atr"
done

# ---- endless inputs end ----------------------------------------------------------------
# a stream with no newline is no text trace: check and stats stop, they do
# not read forever (a private zero device where mknod works, else a pipe)
if mknod "$tmp/zero" c 1 5 2>/dev/null; then
    endless=("$tmp/zero")
else
    endless=(-)
fi
expect 2 "no end of line in 16 MiB" timeout 60 sh -c '"$0" check "$1" </dev/zero' "$arenalab" "${endless[0]}"
expect 2 "no end of line in 16 MiB" timeout 60 sh -c '"$0" stats "$1" </dev/zero' "$arenalab" "${endless[0]}"

# ---- bazel run: relative paths are the user's ---------------------------------
# `bazel run //:arenalab -- ARGS` starts the binary in its runfiles tree and
# names the user's directory in BUILD_WORKING_DIRECTORY (README, "Commands")
abs=$(cd "$(dirname "$arenalab")" && pwd)/$(basename "$arenalab")
mkdir -p "$tmp/wd"
cp traces/spec-example.txt "$tmp/wd/rel.txt"
expect 0 "rel.txt: text, 9 events" sh -c 'cd / && BUILD_WORKING_DIRECTORY="$1" "$0" check rel.txt' "$abs" "$tmp/wd"
expect 2 "BUILD_WORKING_DIRECTORY=$tmp/nowhere: cannot go there" \
    env BUILD_WORKING_DIRECTORY="$tmp/nowhere" "$abs" check rel.txt

# --json onto the trace itself: refused, the trace kept
printf 'a 0 24\nf 0\n' >"$tmp/selfjson.txt"
expect 2 "is the trace itself" "$arenalab" stats "$tmp/selfjson.txt" --json "$tmp/selfjson.txt"
[[ $(cat "$tmp/selfjson.txt") == $'a 0 24\nf 0' ]] || fail "stats --json onto the trace replaced it"

echo "$checks checks, $failures failed"
[[ $failures == 0 ]]
