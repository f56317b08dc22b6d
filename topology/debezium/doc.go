// Package debezium decodes the Kafka records of the Debezium PostgreSQL
// connector (JSON converter) into typed rows of
// drivetrain's five source tables. It is pure: no I/O, no Kafka client.
//
// # Use
//
//	dec := debezium.NewDecoder(debezium.Options{TopicPrefix: "ecommerce"})
//	var ch debezium.Change // reused for every record
//	for _, r := range records {
//		if err := dec.Decode(r.Topic, r.Key, r.Value, &ch); err != nil {
//			var e *debezium.Error // e.Kind, e.Path: what the dead-letter topic carries
//			...
//		}
//		switch ch.Kind {
//		case debezium.KindChange: // ch.Op, ch.Before/ch.After.<Table row>, ch.After.Unchanged
//		case debezium.KindTombstone, debezium.KindHeartbeat, debezium.KindTransaction, debezium.KindMessage: // skip
//		}
//	}
//
// A Decoder is not safe for concurrent use (one per partition actor). Decode
// fills a caller-owned Change; the strings of its rows alias the record's
// value or the Decoder's scratch buffer and are valid until the next Decode
// call: call Change.Detach before keeping them.
//
// # What is accepted
//
//   - Values with the schema envelope ({"schema":…,"payload":…}) and
//     without; keys likewise. Tombstones in all three shapes: nil bytes,
//     the text null, {"schema":…,"payload":null}.
//   - Heartbeat (__debezium-heartbeat.*), transaction (<prefix>.transaction)
//     and logical-message (<prefix>.message) topics are recognized by name
//     and not parsed.
//   - Column types from the record's Connect schema when there is one, else
//     from topology.Table.Columns: int8…int64 exactly (never via float64);
//     NUMERIC as precise base64 two's complement (sign-extended, at most 8
//     significant bytes), as string or double text (parsed exactly, never
//     via float64), or as VariableScaleDecimal, always normalized to the
//     column's scale; dates as days or IsoDate; timestamptz as
//     ZonedTimestamp/IsoTimestamp text, or Timestamp/MicroTimestamp/
//     NanoTimestamp/Connect Timestamp epoch counts; json/jsonb as JSON text
//     inside a string (checked to parse); text. PostgreSQL's infinity and
//     -infinity (the text, or any of Debezium's numeric sentinels) become
//     the latest and earliest values the pipeline clamps to, ClickHouse
//     DateTime's 2106-02-07 06:28:15 and 1970-01-01 00:00:00 UTC (as dates,
//     2106-02-07 and 1970-01-01): they have no ClickHouse counterpart, and
//     clamping keeps the row instead of sending it to the dead-letter topic.
//   - TOAST placeholders (docs/debezium.md, Unchanged TOAST values; every shape) mark the column in
//     Image.Unchanged instead of giving it a value.
//   - Schema evolution: a column the table does not have is ignored and
//     reported once per Decoder (Options.OnUnknownColumn); a missing
//     nullable column is NULL; a missing NOT NULL column is missing_field.
//
// Errors are *Error values with a stable ErrorKind and the path of the
// offending field (see ErrorKind for the list).
//
// # Speed
//
// The decoder scans the bytes once, without a token tree and without
// allocating per record (strings alias the input; only escaped strings are
// copied, into a reused buffer). The value's "schema" member is identical
// from one record of a table to the next, so the Decoder keeps the bytes it
// last saw per table and skips a matching schema with one comparison; it
// parses a schema (with encoding/json) only when it changes. With
// Options.SkipUpdateBefore (the processor's setting) an update's before
// image, as large as its after image under REPLICA IDENTITY FULL, is only
// checked to be JSON unless the after image has unchanged TOAST columns,
// the one case the join rules read it.
//
// Benchmarks decode captured inserts and updates (full before and after
// images) of order_items, orders and vehicles, schemas on and off, and
// BenchmarkEncodingJSON decodes the same records with encoding/json into
// the same structs for comparison (events/s = 1e9 / ns/op; on a shared
// machine the cpu-ns/op metric, CPU time per event, is the steadier one):
//
//	go test -run '^$' -bench . -benchmem -cpu 1 ./topology/debezium
//
// # Fixtures
//
// testdata/fixtures holds records captured from Debezium 3.6.1 by
// testdata/capture.sh (see its header), one <name>.json per record (topic,
// partition, offset, and the key and value bytes verbatim), each with
// <name>.golden beside it: the decoded Change as Change.AppendJSON renders
// it (indented), the output of `drivetrain inspect`. Rewrite them with
//
//	go test ./topology/debezium -run TestGolden -update
//
// FuzzDecode is seeded with them:
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 3m -fuzzminimizetime 5s ./topology/debezium
package debezium
