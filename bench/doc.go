// Package bench holds drivetrain's workload generators and benchmark
// harness.
package bench
