// Package observe is what a drivetrain node tells about itself and what
// `drivetrain status` reads: the status document (/status) and readiness
// (/readyz) computed by a Source from the running actors.Node, the lag
// watcher and the probes of ClickHouse and Kafka; the Prometheus metrics
// (/metrics); the HTTP servers of those and of pprof; and the cluster view
// of a consumer group and its nodes.
//
// Readiness: a node is ready once bootstrapped, with ClickHouse and Kafka
// answering its probes (or failing for less than
// Readiness.MaxUnreachable), its lag at most Readiness.MaxLag and no
// partition stalled; idle when ready with lag 0 on every topic it reads,
// the global tables included, and nothing buffered or in flight to the
// sinks. /healthz only says the process serves HTTP.
package observe
