// Package pipeline is the processor's speed-and-memory benchmark: Debezium
// records in the captured format go through decoding, the Pebble state
// and the join rules to fact rows, in process, with the state of
// 1,000,000 customers and 100,000 vehicles. Kafka, the actors and the
// ClickHouse sinks are not part of it.
//
// # Workload
//
// Records are rendered byte for byte in the layout Debezium 3.6.1 wrote
// for the captured records of topology/debezium/testdata/fixtures: the
// key and value "schema" members are the captured ones (schemas/ holds
// verbatim copies of fixture__<table>__u.json), the payloads are written
// in the captured field order, numbers as the JSON converter writes them
// (NUMERIC as precise base64, timestamps as ZonedTimestamp, JSONB as
// text). TestRenderMatchesCapturedRecords renders the rows and metadata
// of every captured change record, schemas on and off, and requires the
// same bytes. Schemas are on by default (4.2 KB per record on average),
// off with Options.SchemasOff (0.8 KB).
//
// The snapshot (op r) holds every customer and vehicle and 200,000 base
// orders of 1-3 items (400,000 items) with an approved payment each; ids
// of orders and items are drawn uniformly over the customers and vehicles.
// The seeded streaming mix, by records: orders c 8%, orders u 20%,
// order_items c 16.5%, u 7.7%, d 2.8%, payments c 14%, u 11%, customers u
// 10%, vehicles u 10% (price and stock changes; features small JSON
// documents, never TOASTed). Updates pick among the 50,000 most recent
// orders; before images are the rows' current values.
//
// # What one record costs
//
// One goroutine does the work of a node's actors with the production
// processing step (package topology/step), the one the actors run.
// Records are grouped as fetches per scope: 100 records (Options.Group)
// of one order-stream partition (6), or of the global tables. A
// partition's fetch is one step.Partition.Records call on one state batch
// (decoding with debezium's SkipUpdateBefore and detaching, as an actor
// does, the join rules per record, the topics' next offsets, each due fact
// built once), then one commit (not synced by default, Options.Sync). A
// global fetch is one step.Global.Apply per table on one GlobalBatch,
// committed, then one batch per partition with step.Partition.Refresh of
// the changed customers and vehicles and the global offsets. Each batch's
// rows go, after its commit, to a counting sink. The snapshot is loaded
// through the same step without emitting rows (step.Replay), in fetches
// of 2,000 records; it is not measured. Figures measured before the step
// existed (below) timed a copy of the loop that built every due fact once
// per record.
//
// # Commands
//
// Quick behaviour test (about 1 s; 6 s with -race): the rows a
// hand-written history emits record by record, and sales_facts_current of
// a generated history against topologytest's in-memory processor fed the
// same records one by one (one current fact per live item):
//
//	go test ./bench/pipeline
//
// The benchmark, single core, output for benchstat (the state is loaded
// once per process and shared by the sub-benchmarks, which continue on
// it: 35-45 s of loading, then about 25 s per sub-benchmark here; add
// -count 5 for benchstat's statistics):
//
//	go test ./bench/pipeline -run '^$' -bench Pipeline -benchtime 150000x -cpu 1 -timeout 40m | tee bench/out/pipeline.txt
//	benchstat bench/out/pipeline-before.txt bench/out/pipeline.txt
//
// A smaller state, and the state calls per record (count and time of
// every call of the join rules into state):
//
//	go test ./bench/pipeline -run '^$' -bench 'Pipeline/schemas=on/group=100$' -benchtime 50000x -cpu 1 -args -pipeline.customers=100000 -pipeline.vehicles=10000 -pipeline.orders=20000 -pipeline.trace
//
// The same outside go test, with a CPU profile of the measured phase only
// (go test -cpuprofile also profiles the load), phase timing (-phase-timing)
// and state calls (-trace-store); GOMAXPROCS=1 is -cpu 1:
//
//	go build -o bin/pipelinebench ./bench/pipeline/cmd/pipelinebench
//	GOMAXPROCS=1 bin/pipelinebench -events 150000 -cpuprofile bench/out/pipeline.cpu.prof
//	go tool pprof -top -cum bin/pipelinebench bench/out/pipeline.cpu.prof
//	GOMAXPROCS=1 bin/pipelinebench -events 100000 -trace-store -phase-timing
//
// The long run: records for a duration, a sample every 10 s (events/s,
// RSS, Go heap, Pebble writes) into a CSV, least-squares slopes of the
// heap and RSS over the whole run and its second half, and a plot
// (python3 with matplotlib):
//
//	GOMEMLIMIT=450MiB GOMAXPROCS=1 PIPELINE_SOAK=10m bin/pipelinebench -csv bench/out/pipeline-soak.csv
//	python3 bench/pipeline/plot.py bench/out/pipeline-soak.csv   # writes bench/out/pipeline-soak.png
//
// # Results
//
// On the 2-core, 24 GiB VM of the local stack, full state (1,000,000
// customers, 100,000 vehicles, 200,000 orders), GOMAXPROCS=1,
// GOMEMLIMIT=420MiB, 600,000 records per run, three pairs with a load
// average under 1.1:
//
//	                                      events/s          CPU per event   commit share   w-amp
//	-sync -checkpoint-interval 0          32,935-39,039     26.9-32.5 µs    44-46%         3.7
//	-sync -checkpoint-interval 5s         39,198-46,577     23.8-28.1 µs    21-24%         4.0-4.3
//
// -sync commits as a node does (state_no_sync: false); with checkpoints
// (the node's default) the synced writes happen once per interval. RSS
// ends at 474-482 MB. Without -sync the two modes are within this VM's
// noise (±15% from run to run).
//
// -checkpoint-write chooses how the checkpoints reach the disk
// (processor.state_checkpoint_write). With -sync -checkpoint-interval 5s,
// three interleaved runs of each (load average 0.8-2.4; the last flush and
// ingest runs shared the machine with other work):
//
//	                          events/s (median)          checkpoint   written in the run (WAL + ingested + tables)
//	-checkpoint-write wal     45,854-49,007 (47,270)     258-274 ms   94-126 MB
//	-checkpoint-write flush   37,515-46,685 (46,168)     267-316 ms   147-176 MB
//	-checkpoint-write ingest  37,133-46,621 (46,326)     411-458 ms   131-177 MB
//
// The rates are within the noise. A checkpoint without the log takes as
// long as one through it, an ingested one half as long again (an sstable,
// its sync, the link and the MANIFEST per stage); both write more table
// bytes, since each checkpoint makes small tables in L0 for compactions
// to merge where the 32 MiB memtable otherwise gathers the updates of
// several checkpoints.
//
// # Where the time goes
//
// The CPU profile of the measured phase (-cpuprofile, checkpoints on):
// the processing step 35% (building facts 25%, decoding the records 8%),
// decoding the order views and dimension rows the caches hold in encoded
// form about 14%, staging the batches 9%, the garbage collector about
// 20%. Without checkpoints, Pebble's write path takes most of what staging
// saves: an event writes 1.48 keys on average (its row, new index
// entries, and per batch the offsets and the fact-version clock), and
// Pebble alone takes 3,470-4,240 ns of CPU per key on this VM, compactions
// included (state's BenchmarkWriteFloor). 250,000 events/s per core leaves
// 4.0 µs per event: it needs the rows held decoded in memory, dirty marks
// instead of re-encoded writes at every batch, and facts built without
// decoding the same customers and vehicles again.
//
// # Memory over time
//
// The long run keeps inserting orders (8% of the records, with 16.5% new
// items), so the state grows past the per-partition order caches: the
// indexes outgrow their share and are dropped (a step in the heap a few
// minutes in), and refreshes read old orders from Pebble again. The rate
// therefore falls from the first minute's 26,000-41,000 events/s to
// 5,000-12,000. Memory stays bounded by the caches: with
//
//	GOMEMLIMIT=390MiB GOMAXPROCS=1 bin/pipelinebench -soak 10m -sample 1s -order-cache-mb 20 -csv bench/out/pipeline-soak.csv
//	python3 bench/pipeline/plot.py bench/out/pipeline-soak.csv
//
// a 10-minute soak processed 6.23 M events (8,700-9,300 events/s from 5
// minutes on), RSS 444-496 MB sampled every second (high-water mark 504
// MB), heap live 216-285 MB (+0.8 MB/min over the run). With the default
// 32 MiB per partition the live set of the full caches and their indexes
// peaks near 440 MB, above a 390MiB limit, and the high-water mark reaches
// about 540 MB before the indexes are dropped. A node with the memory for
// its state (a larger state_order_cache_bytes) keeps the first minutes'
// rate.
//
// # Write amplification
//
// The Pipeline opens the store on a vfs.FS that counts the bytes written
// to the WAL, to the sstables a checkpoint writes for Pebble to ingest, and
// to other table files (DiskWrites), and computes Pebble's total write
// amplification ((WAL + ingested + flushed + compacted) / (WAL +
// ingested); 0 with -checkpoint-write flush, which writes no WAL). Over the
// snapshot load and a run it is 2.2-2.3; within a run 3.7 with every
// batch committed and 4.0-4.3 with checkpoints, which write a quarter less
// to the WAL (the same keys reach the tables): with 32 MiB memtables, the
// updates of one row within a memtable are compacted once.
package pipeline
