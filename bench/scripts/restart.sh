#!/usr/bin/env bash
# restart.sh: a node back after a long stop, on the local stack. A node of
# a new group (emitting every record, so that it commits as it goes) reads
# the ecommerce.public.* topics until it has consumed STOP_AT records
# (default 3,000,000) and stops (SIGTERM: flush, commit, leave). A node
# then starts on the same group, state directory and ClickHouse database
# and catches up the rest: with its defaults (a partition far behind its
# commits starts quietly, see actors/doc.go) or, with --every, emitting
# every record. The script reports that second node's time to its last
# write and to idle (as bench/scripts/catchup.sh measures them), its CPU
# and the rows ClickHouse acknowledged.
#
# Usage (repo root, stack up, topics filled as for catchup.sh):
#   make build && bench/scripts/restart.sh [--every]
set -euo pipefail
cd "$(dirname "$0")/../.."
source .stack/env
id=restart$(date +%s)
addr=127.0.0.1:18097
stop_at=${STOP_AT:-3000000}
every=false
[[ ${1:-} == --every ]] && every=true
mkdir -p bench/out
pid=
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "bench/out/$id.state"; curl -s "$DRIVETRAIN_CLICKHOUSE_URL/" --data-binary "DROP DATABASE IF EXISTS $id" >/dev/null' EXIT
eval "$(sed -n '/^field()/,/^}/p' bench/scripts/catchup.sh)"

start_node() {
	bin/drivetrain run --node-id "$id" --group "$id" --database "$id" --state-dir "bench/out/$id.state" \
		--http-addr "$addr" >>"bench/out/$id.log" 2>&1 &
	pid=$!
}

DRIVETRAIN_PROCESSOR_EMIT_EVERY_RECORD=true start_node
consumed=0
while ((consumed < stop_at)); do
	sleep 0.5
	consumed=$(sum_of consumed "$(curl -s "http://$addr/status" || true)")
	printf '\r\033[Kfirst node: consumed %s of %s' "$consumed" "$stop_at" >&2
done
echo >&2
kill -TERM $pid
wait $pid || true

$every && export DRIVETRAIN_PROCESSOR_EMIT_EVERY_RECORD=true
start=$(date +%s.%N) last=$start seen=
start_node
while sleep 0.25; do
	st=$(curl -s "http://$addr/status" || true)
	now=$(date +%s.%N)
	[[ -n $st ]] || continue
	consumed=$(sum_of consumed "$st") written=$(sum_of rows_written "$st")
	if [[ "$consumed $written" != "$seen" ]]; then
		seen="$consumed $written" last=$now
	fi
	printf '\r\033[Krestarted node: consumed %s  rows written %s' "$consumed" "$written" >&2
	[[ $(field idle "$st") == true && $consumed -gt 0 ]] && break
done
echo >&2
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$pid/stat")
python3 -c "import sys; n=int(sys.argv[1]); w=float(sys.argv[3])-float(sys.argv[2]); s=float(sys.argv[4])-float(sys.argv[2]); print(f'restart ({sys.argv[7]}): {n} events in {w:.1f} s = {n/w:,.0f} events/s to the last write; {s:.1f} s to idle; node CPU {float(sys.argv[5]):.1f} s; {int(sys.argv[6]):,} rows written')" \
	"$consumed" "$start" "$last" "$now" "$cpu" "$written" "$($every && echo every record || echo defaults)"
