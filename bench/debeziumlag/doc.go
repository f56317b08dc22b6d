// Command debeziumlag measures freshness through the real Debezium path
// and splits it into its parts. It reads the five source topics from
// their end offsets and, for every change committed during --duration
// (after --warmup), takes four times: the source commit (source.ts_us),
// when Debezium made the event (the envelope's ts_us), when Kafka Connect
// handed it to its producer (the record's CreateTime) and when this
// consumer received it. After --duration it keeps reading stragglers
// until nothing arrives for --quiet, so a lagging connector shows its
// whole lag. With --node it also reports a drivetrain node's end-to-end
// freshness, source commit → ClickHouse acknowledgement: the node's
// /status summary (×1.25 buckets, since the node started: restart the
// node before a run) and the difference of its
// drivetrain_freshness_seconds histogram over the same window (×2
// buckets, interpolated: coarse around one second).
//
// # Running it
//
// On the local stack (deploy/local/stack.sh up, connector registered from
// deploy/debezium/connector.json), with one node started just before:
//
//	source .stack/env
//	drivetrain run --group freshness --database freshness --state-dir /tmp/freshness-state \
//	    --http-addr 127.0.0.1:18190 &
//	go run ./bench/debeziumlag --duration 2m --warmup 20s --node http://127.0.0.1:18190 &
//	drivetrain generate --rate 5000 --duration 2m
//
// The segments it prints: commit → Debezium read it (WAL sender, pgoutput,
// Debezium's streaming loop, which sleeps poll.interval.ms after five
// empty reads); read → Connect sent it (Debezium's queue, whose poll
// waits poll.interval.ms unless max.batch.size events are ready, the SMTs
// and the JSON converter); sent → consumer got it (producer batching,
// broker, fetch); and their sum, Debezium's share of freshness.
//
// # Results
//
// Measured on the 2-core VM of the local stack (PostgreSQL 15, Kafka 4.4,
// Connect 4.3.1 with Debezium 3.6.1, ClickHouse 18.16 over HTTP, one
// drivetrain node). Milliseconds; end-to-end figures are the upper bounds
// of the node's ×1.25 buckets. "node only" runs the node without
// debeziumlag.
//
//	                                   rate held   Debezium p50/p99   end-to-end p50/p90/p99
//	poll.interval.ms 500, no producer overrides (load average above 3)
//	  --rate 1000                        1,000/s      572 / 1,074        808 / 1,262 / 1,578
//	deploy/debezium/connector.json with value schemas (poll 50 ms; load average above 3)
//	  --rate 1000                        1,000/s       60 /   145        265 /   414 /   646
//	  --rate 5000                        2,659/s       91 /   323        331 /   646 / 1,010
//	  --rate 5000, node only             2,429/s        -                414 /   646 / 1,010
//	the same with poll 25 ms
//	  --rate 5000                        3,097/s       64 /   308        331 /   517 /   808
//	  --rate 5000, node only             3,664/s        -                265 /   414 /   808
//	as shipped: values without their schema (value.converter.schemas.enable=false)
//	  --rate 5000 (load average 3-5)     3,990/s      101 /   260        286 /   559 / ≤1,000
//	  --rate 5000 (load average 5-14)    2,966/s       80 /   269        511 / 1,076 / 1,275
//	  --rate 5000 (quiet machine)        3,475/s      122 / 9,050        478 / 8,060 / 10,022
//	  --rate 2000 (quiet machine)        2,000/s       74 /   251        262 /   536 /   636
//
// At --rate 5000 the machine is saturated. With the load average at 3-5,
// top's average over the run gave PostgreSQL 0.57 core, Kafka and Connect
// 0.46, the node and generate together 0.37, ClickHouse 0.30 and
// debeziumlag 0.10, so generate held 3,990 of the 5,000 changes/s asked.
// Without the value schema a record is 0.8 KB instead of 4.2 KB, and the
// rate held rises from 2,400-3,700 to 3,990/s. With the load average at
// 5-14, ClickHouse needs 0.47 core and end-to-end p99 reaches 1.28 s.
//
// Started on a quiet machine at --rate 5000, Debezium falls 6-9 s behind
// for the first minute (commit → Debezium read it), then keeps up (p99
// 200-270 ms per 10 s); end-to-end p99 in the window follows Debezium's
// lag. That run used 1.92 of the 2 cores: Connect 0.51, PostgreSQL 0.48,
// ClickHouse 0.26, the node 0.22, Kafka 0.21, debeziumlag and generate
// 0.10 each. Per change that is 570 µs of CPU for the whole path, so
// 5,000 changes/s would need about 2.9 cores; the node and ClickHouse are
// a quarter of it. At --rate 2000, where records arrive fresh, the 99th
// percentile of the window lies in the histogram's 0.5-1 s bucket
// (interpolated 635 ms); the node's /status p99 counts the first seconds
// of the run too.
//
// 5,000 changes/s is out of reach on this machine: with every component
// on it the CPU is saturated near 2,500-3,700 changes/s (generate then
// falls short of its rate), and at that rate Debezium keeps up (no
// growing lag) and end-to-end p99 stays at or below about 1 s. Connect
// alone drains a backlog at 5,400-6,600 events/s (connector paused,
// 200,000 changes generated, resumed).
//
// What the shipped connector settings change, and why:
//
//   - poll.interval.ms 500 → 50: Debezium's streaming loop sleeps that
//     long after five empty reads of the replication stream, and its
//     queue's poll waits that long for a full batch (max.batch.size 2048),
//     so at 1,000/s most events waited up to 2×500 ms. Lower values cut
//     latency further but cost CPU in Connect and downstream (smaller
//     batches): idle Connect used 0.01 core at 500 ms, 0.03 at 50, 0.05
//     at 25, 0.11 at 10; at 1,000/s Connect + Kafka + node used about
//     0.13 core more at 25 ms than at 50 ms.
//   - producer.override.batch.size 256 KiB, compression.type lz4,
//     linger.ms 5: Connect's producer keeps one request in flight
//     (max.in.flight.requests.per.connection=1, acks=all) and a request
//     drains at most one batch per partition, so 16 KiB batches of 4 KiB
//     JSON records capped the producer; lz4 shrinks the records with
//     their repeated schemas several times. sent → consumer p99 fell from
//     505 to about 100 ms at 2,500/s, Kafka's CPU from 0.22 to 0.12-0.18
//     core.
//
// Where the rest goes (the node's side): a row waits up to the sink's
// MaxDelay (200 ms) for its batch, then the ClickHouse insert (one in
// flight per table; HTTP to 18.16) takes p50 35-120 ms and p99 250-750
// ms depending on the machine's load: that insert tail is most of the
// end-to-end p99. A 100 ms MaxDelay did not help (twice the inserts,
// ClickHouse CPU 0.24 → 0.42 core, slower inserts); 300-400 ms was not
// clearly better than 200 ms within the noise.
package main
