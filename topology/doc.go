// Package topology holds drivetrain's pure logic: the source table
// definitions, the decoding of Debezium change events into typed rows, and
// the join rules that turn rows into sales facts.
//
// Nothing in this package does I/O. That is what lets it be tested with
// plain tables of inputs and expected outputs, and what keeps the hot path
// free of hidden blocking.
package topology
