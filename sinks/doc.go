// Package sinks writes drivetrain's output rows to ClickHouse.
package sinks
