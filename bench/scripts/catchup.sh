#!/usr/bin/env bash
# catchup.sh: end-to-end catch-up benchmark on the local stack. A fresh node
# (new consumer group, new state directory, new ClickHouse database) reads
# every record already in the five ecommerce.public.* topics, joins them and
# writes mirrors and facts to ClickHouse; the script reports events/s from
# start to idle (consumer lag 0, nothing in flight), with a progress line.
#
# Usage (repo root, stack up, topics filled by `drivetrain generate`):
#   make build && bench/scripts/catchup.sh
# Output: one line "catchup: N events in S s = R events/s" plus the node's
# freshness summary; the node's log is in bench/out/catchup-<id>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
source .stack/env
id=$(date +%s)
mkdir -p bench/out
addr=127.0.0.1:18099
bin/drivetrain run --node-id "catchup-$id" --group "catchup-$id" --database "catchup_$id" \
	--state-dir "bench/out/catchup-$id.state" --http-addr "$addr" >"bench/out/catchup-$id.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "bench/out/catchup-$id.state"; curl -s "$DRIVETRAIN_CLICKHOUSE_URL/" --data-binary "DROP DATABASE IF EXISTS catchup_$id" >/dev/null' EXIT
start=$(date +%s.%N)
for _ in $(seq 1 3600); do
	sleep 1
	st=$(curl -s "http://$addr/status" || true)
	[[ -n $st ]] || continue
	line=$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(sum((s.get("consumed") or {}).values()), s["lag"], s["sink_backlog"], s["idle"], s["facts_written"])' <<<"$st")
	read -r consumed lag backlog idle facts <<<"$line"
	printf '\r\033[Kconsumed %s  lag %s  backlog %s  facts %s' "$consumed" "$lag" "$backlog" "$facts" >&2
	if [[ $idle == True ]]; then
		end=$(date +%s.%N)
		echo >&2
		python3 -c "import sys; n=int(sys.argv[1]); s=float(sys.argv[3])-float(sys.argv[2]); print(f'catchup: {n} events in {s:.1f} s = {n/s:,.0f} events/s')" "$consumed" "$start" "$end"
		exit 0
	fi
done
echo "catchup: not idle after an hour" >&2
exit 1
