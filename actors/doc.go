// Package actors runs drivetrain's processing: the Kafka consumer, one
// protoactor-go actor per assigned order-stream partition, one per global
// table, and the sink actors that write to ClickHouse.
package actors
