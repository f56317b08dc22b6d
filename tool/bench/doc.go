// Package bench is drivetrain's benchmark suite, the service behind
// `drivetrain bench`: the same work given to drivetrain and to the systems
// people would use instead (its peers), measured in one run, with the
// results as a table, a JSON file of stable schema and plots.
//
// # Suites
//
// Run takes the suites of Options.Suites in this order; each can run alone
// (bench/README.md says what each one measures and how):
//
//   - decode: the Debezium decoder alone, in process.
//   - process: the production processing step (topology/step through
//     bench/pipeline: decoding, join rules, Pebble state), in process.
//   - soak: the processing step over a longer time, its rate and memory
//     read ten times.
//   - sink: sales_facts inserts into ClickHouse (encoding and insert).
//   - catchup: a fresh `drivetrain run` node over the preloaded topics,
//     to ClickHouse.
//   - rebuild: a node rebuilding its state from the earliest offsets.
//   - freshness: source commit → ClickHouse acknowledgement at a ladder of
//     rates, through PostgreSQL and a Debezium connector of its own, with
//     Debezium's share split out.
//   - peers: bench/peers/<name> (python, kafka-streams, flink) over the
//     same preloaded topics, their facts checked equal to drivetrain's.
//
// The suites on the local stack write their workload themselves
// (bench/pipeline's generator, rendered as Debezium writes it) into the
// topics <TopicPrefix>.public.<table>, reused when a marker record says
// they hold the workload asked for, and name their consumer groups,
// ClickHouse databases, PostgreSQL database and connector after the
// prefix; they remove what they created when the run ends, but the topics.
//
// # Figures
//
// Every figure is the median of Options.Runs runs with their minimum and
// maximum, and where a process's CPU time is known, its CPU seconds per
// million events (Figure). A suite that fails is recorded in
// Results.Failures and the run goes on; a peer whose facts differ from
// drivetrain's is a failure too. results.json (Results, SchemaVersion),
// report.md and the plots go to Options.Out; Compare prints the
// differences between two results files.
//
// Nothing here is safe for concurrent use: a run is one goroutine, which
// starts and waits for the processes it measures.
package bench
