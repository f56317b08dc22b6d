// Package tool is the parent of the packages that implement drivetrain's
// commands: configuration, the status server and metrics, health checks,
// the Kafka Connect client, replay, the dashboard and the benchmarks.
// cmd/drivetrain parses flags and wires them; the packages under tool may
// use every other package of the module (one another included, as health
// uses config and connect), and nothing outside tool imports them but
// cmd/drivetrain.
package tool
