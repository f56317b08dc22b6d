#!/usr/bin/env bash
# catchup.sh: end-to-end catch-up benchmark on the local stack. A fresh node
# (new consumer group, new state directory, new ClickHouse database) reads
# every record already in the five ecommerce.public.* topics, joins them and
# writes mirrors and facts to ClickHouse; the script reports events/s from
# the node's start to its last write (the last time the records consumed or
# the rows ClickHouse acknowledged grew, polled every 0.25 s), and to idle
# (consumer lag 0, nothing in flight, offsets committed: up to a commit
# interval and a lag measurement, a second each, after the last write),
# with a progress line.
#
# With --rebuild, the node then stops (SIGTERM: flush, commit, leave) and
# starts again on the same group with an empty state directory: it rebuilds
# every partition's state from the earliest offsets up to the committed
# ones without emitting (docs/design.md, Rebalance) and reads the global tables;
# the script reports that rate too (the replay-into-state benchmark).
#
# Usage (repo root, stack up, topics filled by `drivetrain generate`):
#   make build && bench/scripts/catchup.sh [--rebuild]
# Output: one line "catchup: N events in S s = R events/s to the last write;
# ... to idle" (and "rebuild:
# ..."), each followed by the bytes the node's state wrote to Pebble (WAL,
# flushed, compacted: stable where rates vary with the machine's load) and
# how long the global tables' bootstrap took (no order partition starts
# before it ends); the node's logs are in
# bench/out/catchup-<id>[-rebuild].log.
set -euo pipefail
cd "$(dirname "$0")/../.."
source .stack/env
id=$(date +%s)
mkdir -p bench/out
rebuild=false
[[ ${1:-} == --rebuild ]] && rebuild=true
addr=127.0.0.1:18099
pid=
start_node() { # $1: log suffix
	bin/drivetrain run --node-id "catchup-$id" --group "catchup-$id" --database "catchup_$id" \
		--state-dir "bench/out/catchup-$id.state" --http-addr "$addr" >"bench/out/catchup-$id$1.log" 2>&1 &
	pid=$!
}
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "bench/out/catchup-$id.state"; curl -s "$DRIVETRAIN_CLICKHOUSE_URL/" --data-binary "DROP DATABASE IF EXISTS catchup_$id" >/dev/null' EXIT

# field NAME JSON: a top-level number or boolean of the node's /status.
field() { [[ $2 =~ \"$1\":[[:space:]]*([a-z0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo -; }
# sum_of NAME JSON: the sum of a top-level object of numbers.
sum_of() {
	local obj n=0
	[[ $2 =~ \"$1\":[[:space:]]*\{([^}]*)\} ]] || { echo 0; return; }
	obj=${BASH_REMATCH[1]}
	while [[ $obj =~ :[[:space:]]*([0-9]+)(.*) ]]; do
		n=$((n + BASH_REMATCH[1])) obj=${BASH_REMATCH[2]}
	done
	echo $n
}

# wait_idle NAME MIN: waits until the node is idle having consumed at least
# MIN records, then prints the rate and sets consumed.
wait_idle() {
	local name=$1 min=$2 log=$3 start end st lag backlog idle facts written cpu cpu0 now last_change seen
	start=$(date +%s.%N)
	cpu0=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$pid/stat")
	last_change=$start seen=
	for _ in $(seq 1 14400); do
		sleep 0.25
		st=$(curl -s "http://$addr/status" || true)
		now=$(date +%s.%N)
		[[ -n $st ]] || continue
		# Parsed in bash: a python start per poll would take CPU from the node.
		consumed=$(sum_of consumed "$st")
		written=$(sum_of rows_written "$st")
		lag=$(field lag "$st") backlog=$(field sink_backlog "$st") idle=$(field idle "$st") facts=$(field facts_written "$st")
		if [[ "$consumed $written" != "$seen" ]]; then
			seen="$consumed $written" last_change=$now
		fi
		printf '\r\033[K%s: consumed %s  lag %s  backlog %s  facts %s' "$name" "$consumed" "$lag" "$backlog" "$facts" >&2
		if [[ $idle == true && $consumed -ge $min ]]; then
			end=$now
			echo >&2
			cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$pid/stat")
			python3 -c "import sys; n=int(sys.argv[2]); s=float(sys.argv[4])-float(sys.argv[3]); w=float(sys.argv[7])-float(sys.argv[3]); c=float(sys.argv[5])-float(sys.argv[6]); print(f'{sys.argv[1]}: {n} events in {w:.1f} s = {n/w:,.0f} events/s to the last write; {s:.1f} s = {n/s:,.0f} events/s to idle; node CPU {c:.1f} s = {n/c:,.0f} events per CPU second; load average {open(\"/proc/loadavg\").read().split()[0]}')" "$name" "$consumed" "$start" "$end" "$cpu" "$cpu0" "$last_change"
			curl -s "http://$addr/metrics" | python3 -c '
import sys
m = {}
for line in sys.stdin:
    if line.startswith("drivetrain_pebble_") and " " in line:
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
w, f, c = (m.get("drivetrain_pebble_" + k, 0) / 1e6 for k in ("wal_bytes_written_total", "flushed_bytes_total", "compacted_bytes_total"))
print(f"  state writes: WAL {w:,.0f} MB, flushed {f:,.0f} MB, compacted {c:,.0f} MB")'
			# The global tables' bootstrap, which every order partition
			# waits for: from the node's first log line to the one that
			# says it is done (whole seconds).
			python3 - "$log" <<'PY'
import json, sys
from datetime import datetime
times, boot = [], None
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if "time" in r:
        t = datetime.fromisoformat(r["time"].replace("Z", "+00:00"))
        times.append(t)
        if boot is None and r.get("message", "").startswith("global tables bootstrapped"):
            boot = t
if times and boot:
    print(f"  of which the global tables' bootstrap: {(boot - times[0]).total_seconds():.0f} s")
PY
			return 0
		fi
	done
	echo "$name: not idle after an hour" >&2
	exit 1
}

start_node ""
wait_idle catchup 1 "bench/out/catchup-$id.log"
$rebuild || exit 0
kill -TERM $pid
wait $pid || true
rm -rf "bench/out/catchup-$id.state"
start_node -rebuild
wait_idle rebuild "$consumed" "bench/out/catchup-$id-rebuild.log"
