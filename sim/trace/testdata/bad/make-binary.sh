#!/usr/bin/env bash
# make-binary.sh: writes the binary (.atr) files of this bad-input corpus,
# byte by byte, from the spec example's encoding (sim/trace/TRACE-FORMAT.md,
# "Worked example").  Run it here after a format change; EXPECT says what
# `arenalab check` must report for each.
set -euo pipefail
cd "$(dirname "$0")"

# header FLAGS EVENTS SLOTS ASLOTS [HDRLEN] [NMETA] [VERSION]: the 36 fixed bytes
header() {
    local flags=$1 events=$2 slots=$3 aslots=$4 hlen=${5:-36} nmeta=${6:-0} ver=${7:-1}
    le() { local v=$1 n=$2 i; for ((i = 0; i < n; i++)); do printf '\\x%02x' $(((v >> (8 * i)) & 255)); done; }
    printf '\x89ATR\r\n\x1a\n'
    printf "$(le "$ver" 2)$(le "$flags" 2)$(le "$hlen" 4)$(le "$events" 8)$(le "$slots" 4)$(le "$aslots" 4)$(le "$nmeta" 4)"
}
# the spec example's nine events, and its end record
EVENTS='\x30\x18\x28\x64\x0a\xac\x02\x33\x0c\x0e\x2d\x30\x2d\xa8\x46\x4e\x00\x2f'
END='\x18\x09'
good() { header 1 9 2 1; printf "$EVENTS"; }

{ header 0 0 0 0; printf '\x30\x18\x28\x64\x0a\xac\x02\x33\x0c\x0e\x2d\x30\x2d\xa8'; } > truncated.atr
good > truncated-complete.atr
{ header 1 9 2 1; printf '\x1f\xff\x00\x12'; } > garbage.atr
{ header 1 1000 2 1; printf "$EVENTS$END"; } > lying-count.atr
{ header 1 9 4294967295 4294967295; printf "$EVENTS$END"; } > lying-slots.atr
{ header 1 9 2 1 4294967295; printf "$EVENTS$END"; } > lying-hdrlen.atr
{ header 1 9 2 1 36 4294967295; printf "$EVENTS$END"; } > lying-meta.atr
printf '\x89ATR\r\n\x1a\n\x01\x00' > short-header.atr
{ header 1 9 2 1 36 0 9; printf "$EVENTS$END"; } > bad-version.atr
{ header 32768 9 2 1; printf "$EVENTS$END"; } > bad-flags.atr
{ header 1 9 2 1; printf '\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f'; } > bad-varint.atr
{ header 1 9 2 1; printf '\x30\x81\x80\x80\x80\x80\x80\x40'; } > size-overflow.atr
{ good; printf "$END\\x00"; } > trailing.atr
{ good; printf '\x18\x08'; } > end-count.atr
# f with slot code 2 (+1 from slot 1): slot 2 was never used
{ header 1 9 2 1; printf '\x30\x18\x28\x64\x0a\xac\x02\x53\x0c\x0e\x2d\x30\x2d\xa8\x46\x4e\x00\x2f'; printf "$END"; } > bad-slot.atr
# f 1 in domain obj: block 1 was allocated in mem
{ header 1 9 2 1; printf '\x30\x18\x28\x64\x0a\xac\x02\x13\x0c\x0e\x2d\x30\x2d\xa8\x46\x4e\x00\x2f'; printf "$END"; } > api-violation.atr
# the second a names id 0 again (zigzag delta -1 from the next id); no
# counts in the header (they would differ: rejected events take no slot)
{ header 0 0 0 0; printf '\x30\x18\x08\x01\x64\x0a\xac\x02\x33\x0c\x0e\x2d\x30\x2d\xa8\x46\x4e\x00\x2f'; printf "$END"; } > dup-id.atr
{ header 1 9 2 1; printf '\x70\x18'; } > reserved-bits.atr
