#!/usr/bin/env bash
# report_slurm_test.sh: `arenalab report --slurm` against a real Slurm.
#
# Starts a private one-node cluster (Debian's munge, slurmctld, slurmd) in
# a temporary directory: its own munge key and socket, a generated
# slurm.conf with ports nobody listens on, SLURM_CONF pointing at it; the
# daemons are stopped by their process ids when the test ends, however it
# ends.  Then:
#   - a small experiment through --slurm gives the same cells and the same
#     model figures as --jobs 1, and says which node ran which trace;
#   - an array task killed mid-run (SIGKILL) is retried and the report
#     completes;
#   - --no-wait, then scancel of the whole array, then --resume completes;
#   - a task that fails every attempt is reported in PARTIAL with its
#     Slurm state and log, and --resume does not claim success;
#   - executor("slurm") in the experiment runs it so;
#   - results from two machines are flagged in the report, and compare
#     does not judge their timings.
# Skips, saying why, only where Slurm cannot start (not root, packages
# missing, daemons that do not come up) -- unless ARENALAB_REQUIRE_SLURM=1
# (scripts/test sets it under CI), where that is a failure.
set -uo pipefail

bin=$(pwd)/sim/cli/arenalab
export ARENALAB_ROOT=$(pwd) # the runfiles tree holds scripts/ and traces/
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
t_start=$(date +%s)
say() { echo "[$(($(date +%s) - t_start)) s] $*"; }

skip() {
  if [ "${ARENALAB_REQUIRE_SLURM:-0}" = 1 ]; then
    echo "FAIL: Slurm cannot start here, and this run requires it: $*" >&2
    exit 1
  fi
  echo "SKIP: Slurm cannot start here: $*"
  exit 0
}

# ---- the cluster -------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root (this test runs as $(id -un))"
for cmd in munged mungekey slurmctld slurmd sbatch squeue scancel scontrol sinfo; do
  command -v "$cmd" >/dev/null || skip "no $cmd (scripts/setup installs slurmctld slurmd slurm-client munge)"
done

# Unix socket paths must stay short (108 bytes): a deep TEST_TMPDIR gets a
# short directory of our own in /tmp instead, removed at the end.
if [ ${#tmp} -le 60 ]; then
  base=$tmp/slurm
  own_base=
else
  base=$(mktemp -d /tmp/arenalab-slurm.XXXXXX)
  own_base=$base
fi
mkdir -p "$base/munge" "$base/state" "$base/spool" "$base/log"
chmod 755 "$base" "$base/munge"
export SLURM_CONF=$base/slurm.conf

pids=() # the daemons, as started: stopped by these ids only
stop_cluster() {
  # Our jobs first (only this cluster's: SLURM_CONF), so no slurmstepd
  # outlives its daemon.
  if [ -s "$base/slurmctld.pid" ]; then
    for j in $(squeue -h -o %A 2>/dev/null | sort -u); do scancel "$j" 2>/dev/null; done
    for _ in $(seq 50); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  local f pid
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    pid=$(cat "$base/$f" 2>/dev/null) || continue
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  [ -n "$own_base" ] && rm -rf "$own_base"
}
trap stop_cluster EXIT

# A TCP port nobody listens on (the listening sockets of /proc/net/tcp*).
port_free() {
  local hex
  hex=$(printf '%04X' "$1")
  ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" { print $2 }' | grep -qi ":$hex\$"
}
port=
for _ in $(seq 100); do
  p=$((20000 + RANDOM % 30000))
  if port_free "$p" && port_free $((p + 1)); then port=$p; break; fi
done
[ -n "$port" ] || skip "no free TCP port pair found"

mungekey -c -k "$base/munge/munge.key" >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$base/munge/munge.key" bs=128 count=1 2>/dev/null
chmod 600 "$base/munge/munge.key"
# As root (--force): the munge user cannot reach a directory under /root,
# and every daemon and job here runs as root anyway.
munged --force --socket="$base/munge/munge.socket" --pid-file="$base/munge/munged.pid" \
  --key-file="$base/munge/munge.key" --log-file="$base/munge/munged.log" \
  --seed-file="$base/munge/munged.seed" 2>"$base/log/munged.err" ||
  skip "munged does not start: $(cat "$base/log/munged.err")"
pids+=("$(cat "$base/munge/munged.pid")")

host=$(hostname)
node=$(slurmd -C 2>/dev/null | head -1)
case "$node" in NodeName=*) ;; *) skip "slurmd -C does not describe this node: $node" ;; esac
cat >"$SLURM_CONF" <<EOF
ClusterName=arenalabtest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$base/munge/munge.socket
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/slurmctld.pid
SlurmdPidFile=$base/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
$node State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld 2>"$base/log/slurmctld.err" || skip "slurmctld does not start: $(cat "$base/log/slurmctld.err" "$base/log/slurmctld.log" 2>/dev/null | tail -5)"
for _ in $(seq 50); do [ -s "$base/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$base/slurmctld.pid")")
slurmd 2>"$base/log/slurmd.err" || skip "slurmd does not start: $(cat "$base/log/slurmd.err" "$base/log/slurmd.log" 2>/dev/null | tail -5)"
for _ in $(seq 50); do [ -s "$base/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$base/slurmd.pid")")
state=
for _ in $(seq 150); do
  state=$(sinfo -h -o %t 2>/dev/null)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || skip "the node is '$state', not idle, after 30 s: $(tail -5 "$base/log/slurmd.log" "$base/log/slurmctld.log" 2>/dev/null)"
say "cluster up: $host, ports $port-$((port + 1)), $base"

sanitized=0
case "$(ldd "$bin" 2>/dev/null)" in *libasan*) sanitized=1 ;; esac

# Column NAME of the runs.csv row for (TRACE, ALLOC).
csv_field() { # FILE TRACE ALLOC NAME
  awk -F, -v t="$2" -v a="$3" -v n="$4" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == t && $2 == a { print $(col[n]); found = 1 }
    END { if (!found) print "MISSING" }' "$1"
}

# Waits (at most 120 s) until Slurm has none of our jobs queued or running.
wait_idle() {
  for _ in $(seq 600); do
    [ -z "$(squeue -h -o %A 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  fail "jobs still queued after 120 s: $(squeue 2>&1)"
  return 1
}

# The one result directory (or .partial) under $1.
result_dir() { ls -d "$1"/*-2* 2>/dev/null | grep -v '/latest$' | head -1; }

report() { timeout 300 "$bin" report "$@"; }

# ---- the same cells and model figures as --jobs 1 ------------------------------
report scripts/experiments/tiny.lua --jobs 1 --out "$tmp/local" >"$tmp/local.out" 2>"$tmp/local.err" ||
  fail "report --jobs 1: $(cat "$tmp/local.err")"
report scripts/experiments/tiny.lua --slurm --out "$tmp/slurm" >"$tmp/slurm.out" 2>"$tmp/slurm.err" ||
  fail "report --slurm: $(cat "$tmp/slurm.err")"
say "tiny.lua through --slurm"
ld=$(result_dir "$tmp/local")
sd=$(result_dir "$tmp/slurm")
case "$sd" in *.partial | "") fail "--slurm left no finished result: $sd $(cat "$sd/PARTIAL" 2>/dev/null)" ;; esac
[ "$(tail -n 1 "$tmp/slurm.out")" = "$sd/index.html" ] || fail "--slurm stdout does not end with the page: $(tail -3 "$tmp/slurm.out")"
for f in index.html summary.md runs.json runs.csv nodes.csv experiment.json plots/style.gp; do
  [ -s "$sd/$f" ] || fail "--slurm: missing $f"
done
[ -e "$sd/PARTIAL" ] && fail "--slurm: a finished result has a PARTIAL file"
cut -d, -f1,2 "$ld/runs.csv" >"$tmp/cells.local"
cut -d, -f1,2 "$sd/runs.csv" >"$tmp/cells.slurm"
cmp -s "$tmp/cells.local" "$tmp/cells.slurm" || fail "the cells differ: $(diff "$tmp/cells.local" "$tmp/cells.slurm")"
exact="events repeat peak_live_bytes peak_live_blocks configuration"
model="peak_resident_bytes peak_held_bytes frag_jw1 frag_jw2 frag_jw3 frag_jw4 util internal_frag"
[ "$sanitized" = 1 ] && model="peak_held_bytes internal_frag" # the sanitizer's heap is resident
while IFS=, read -r t a; do
  [ "$t" = trace ] && continue
  keys=$exact
  case "$a" in pymalloc*) keys="$exact $model" ;; esac # our model: machine-independent
  for k in $keys; do
    x=$(csv_field "$ld/runs.csv" "$t" "$a" "$k")
    y=$(csv_field "$sd/runs.csv" "$t" "$a" "$k")
    [ "$x" = "$y" ] || fail "$t with $a: $k is '$x' with --jobs 1, '$y' with --slurm"
  done
done <"$tmp/cells.local"
# Which node ran which trace: nodes.csv, the page and the headline.
for t in binary-lab.rep churn-s3; do
  grep -q "^$t,$host,[0-9a-f]\{16\},.*,[0-9]*_[01]\$" "$sd/nodes.csv" || fail "nodes.csv lacks $t on $host: $(cat "$sd/nodes.csv")"
  grep -q "^| $t | $host | " "$tmp/slurm.out" || fail "the headline does not say where $t ran"
done
grep -q '<h2 id="machines">Machines</h2>' "$sd/index.html" || fail "index.html has no Machines section"
grep -q '"executor": "slurm"' "$sd/experiment.json" || fail "experiment.json does not say slurm"
grep -q '"slurm_job": "[0-9]*_0"' "$sd/experiment.json" || fail "experiment.json lacks the tasks' jobs"
[ "$(ls "$sd"/tasks/logs/ | wc -l)" -eq 2 ] || fail "not one log per task: $(ls "$sd/tasks/logs")"
[ -e "$sd/tasks/arenalab" ] && fail "the binary's copy outlived the report"
report scripts/experiments/tiny.lua --no-wait --out "$tmp/usage" >/dev/null 2>"$tmp/usage.err"
[ $? -eq 2 ] && grep -q -- "--no-wait goes with --slurm" "$tmp/usage.err" || fail "--no-wait alone: $(cat "$tmp/usage.err")"

# ---- a task killed mid-run is retried ------------------------------------------
# Two traces big enough that a task runs for seconds.
cat >"$tmp/slow.lua" <<'EOF'
name("slow")
repeats(3)
samples(100)
workload("churn", {seed = 1, params = {steps = 400000}})
workload("churn", {seed = 2, params = {steps = 20000}})
allocator("raw")
allocator("pymalloc")
EOF
report "$tmp/slow.lua" --slurm --retries 1 --out "$tmp/kill" >"$tmp/kill.out" 2>"$tmp/kill.err" &
rpid=$!
marker=
for _ in $(seq 1200); do # 120 s
  marker=$(ls "$tmp"/kill/*.partial/tasks/task-0.started 2>/dev/null | head -1)
  [ -n "$marker" ] && break
  sleep 0.1
done
if [ -z "$marker" ]; then
  fail "task 0 never started: $(cat "$tmp/kill.err")"
else
  tpid=$(cut -f4 "$marker")
  [ -e "${marker%.started}.result" ] && fail "task 0 finished before it could be killed"
  kill -9 "$tpid" || fail "cannot kill task 0 (pid $tpid)"
fi
wait "$rpid" || fail "report --slurm after a killed task: exit $?: $(cat "$tmp/kill.err")"
say "killed task retried"
kd=$(result_dir "$tmp/kill")
case "$kd" in *.partial | "") fail "no finished result after the retry: $(cat "$kd/PARTIAL" 2>/dev/null)" ;; esac
[ "$(awk -F'\t' '{ for (i = 3; i <= NF; i++) n += $i == 0 } END { print n + 0 }' "$kd/tasks/jobs.txt")" -eq 2 ] || fail "task 0 was not submitted twice: $(cat "$kd/tasks/jobs.txt")"
grep -q "task 0 (churn-s1) has no result: job [0-9]*_0 ended FAILED; trying again" "$tmp/kill.err" ||
  fail "the retry was not announced: $(cat "$tmp/kill.err")"
[ "$(($(wc -l <"$kd/runs.csv") - 1))" -eq 4 ] || fail "runs.csv after the retry: $(cat "$kd/runs.csv")"

# ---- --no-wait, scancel, --resume ------------------------------------------------
report scripts/experiments/tiny.lua --slurm --no-wait --out "$tmp/cancel" >"$tmp/cancel.out" 2>"$tmp/cancel.err" ||
  fail "--no-wait: $(cat "$tmp/cancel.err")"
job=$(head -1 "$tmp/cancel.out")
case "$job" in '' | *[!0-9]*) fail "--no-wait did not print the job id first: $(cat "$tmp/cancel.out")" ;; esac
scancel "$job" || fail "scancel $job"
wait_idle
cd_=$(result_dir "$tmp/cancel")
case "$cd_" in *.partial) ;; *) fail "--no-wait + scancel: not a .partial directory: $cd_" ;; esac
grep -q "report --resume" "$cd_/PARTIAL" || fail "PARTIAL does not say how to finish: $(cat "$cd_/PARTIAL")"
# (a relative DIR: the tasks still get absolute paths)
(cd "$tmp/cancel" && timeout 300 "$bin" report --resume "$(basename "$cd_")/") >"$tmp/resume.out" 2>"$tmp/resume.err" ||
  fail "--resume after scancel: $(cat "$tmp/resume.err")"
say "--no-wait, scancel, --resume"
fin=${cd_%.partial}
[ -s "$fin/index.html" ] && [ ! -e "$cd_" ] || fail "--resume did not finish $fin"
[ -e "$fin/PARTIAL" ] && fail "--resume left the PARTIAL marker"
[ "$(grep -c '^job' "$fin/tasks/jobs.txt")" -eq 2 ] || fail "--resume did not resubmit: $(cat "$fin/tasks/jobs.txt")"
[ "$(ls "$fin"/tasks/logs/ | wc -l)" -ge 2 ] || fail "--resume: the tasks' logs are not in tasks/logs: $(ls "$fin/tasks/logs")"
cut -d, -f1,2 "$fin/runs.csv" | cmp -s - "$tmp/cells.local" || fail "--resume: the cells differ from --jobs 1"
report --resume "$fin" >/dev/null 2>"$tmp/again.err" && fail "--resume of a finished result succeeded"
grep -q "finished" "$tmp/again.err" || fail "--resume of a finished result: $(cat "$tmp/again.err")"

# ---- a task that fails every attempt is reported -------------------------------
# Held while a generated trace is removed, then released: that task fails,
# and so does its one more attempt (--resume --retries 0: one attempt; the
# new --sbatch-arg replaces the plan's --hold).
report scripts/experiments/tiny.lua --slurm --no-wait --sbatch-arg=--hold --out "$tmp/bad" \
  >"$tmp/bad.out" 2>"$tmp/bad.err" || fail "--no-wait --hold: $(cat "$tmp/bad.err")"
bd=$(result_dir "$tmp/bad")
rm -f "$bd/traces/churn-s3.atr"
scontrol release "$(head -1 "$tmp/bad.out")" || fail "scontrol release"
report --resume "$bd" --retries 0 --sbatch-arg=--export=ALL >"$tmp/bad2.out" 2>"$tmp/bad2.err"
rc=$?
say "a failing task reported"
[ "$rc" -eq 1 ] || fail "--resume with a failing task: exit $rc, want 1"
grep -q "task 1 (trace churn-s3): no result after 2 attempts; the last, Slurm job [0-9]*_1, ended FAILED.*tasks/logs/task-1\.[0-9]*\.log" "$bd/PARTIAL" ||
  fail "PARTIAL does not give the failed task's state and log: $(cat "$bd/PARTIAL")"
grep -q "churn-s3.atr" "$bd/PARTIAL" || fail "PARTIAL does not show the log's last lines: $(cat "$bd/PARTIAL")"
[ -e "${bd%.partial}" ] && fail "a failed --resume made a finished-looking directory"

# ---- two machines are flagged ------------------------------------------------------
# executor("slurm") in the experiment is --slurm.
{ cat scripts/experiments/tiny.lua; echo 'executor("slurm", {retries = 0})'; } >"$tmp/tiny-slurm.lua"
report "$tmp/tiny-slurm.lua" --no-wait --out "$tmp/two" >"$tmp/two.out" 2>"$tmp/two.err" ||
  fail "executor('slurm') --no-wait: $(cat "$tmp/two.err")"
wait_idle
td=$(result_dir "$tmp/two")
# Task 1's result as if another node had run it.
sed -i 's/^env\thost\t.*/env\thost\tother-node/' "$td/tasks/task-1.result"
report --resume "$td" >"$tmp/two2.out" 2>"$tmp/two2.err" || fail "--resume (two machines): $(cat "$tmp/two2.err")"
say "two machines flagged"
tf=${td%.partial}
grep -q "Timings come from 2 different machines" "$tf/summary.md" || fail "summary.md does not flag two machines"
grep -q "Timings come from 2 different machines" "$tf/index.html" || fail "index.html does not flag two machines"
grep -q "^churn-s3,other-node," "$tf/nodes.csv" || fail "nodes.csv: $(cat "$tf/nodes.csv")"
# A damaged result is moved aside and its task rerun by --resume.
report scripts/experiments/tiny.lua --slurm --no-wait --out "$tmp/damaged" >/dev/null 2>"$tmp/dm.err" ||
  fail "--no-wait: $(cat "$tmp/dm.err")"
wait_idle
dd_=$(result_dir "$tmp/damaged")
sed -i '/^run\t/d' "$dd_/tasks/task-0.result"
report --resume "$dd_" >/dev/null 2>"$tmp/dm2.err" && fail "--resume merged a damaged result"
grep -q "task-0.result.bad" "$tmp/dm2.err" || fail "the damaged result was not moved aside: $(cat "$tmp/dm2.err")"
report --resume "$dd_" >/dev/null 2>"$tmp/dm3.err" || fail "--resume after a damaged result: $(cat "$tmp/dm3.err")"
[ -s "${dd_%.partial}/index.html" ] || fail "--resume did not finish after a damaged result"
say "a damaged result rerun"
# compare refuses to judge the timings of churn-s3 (another machine in B).
if timeout 120 "$bin" compare "$ld" "$tf" --out "$tmp/cmp" --json "$tmp/cmp.json" >"$tmp/cmp.out" 2>"$tmp/cmp.err"; then
  [ "$(grep -c '"other_machine": true' "$tmp/cmp.json")" -eq 4 ] ||
    fail "compare: the churn-s3 pairs are not marked other_machine: $(grep -c '"other_machine": true' "$tmp/cmp.json")"
  grep -q "4 pairs not tested: their trace ran on different machines" "$tmp/cmp.out" ||
    fail "compare's tally does not count them: $(tail -4 "$tmp/cmp.out")"
else
  fail "compare: $(cat "$tmp/cmp.err")"
fi

say "done"
[ "$fails" -eq 0 ] && echo "PASS" || echo "$fails failure(s)"
exit $((fails > 0))
