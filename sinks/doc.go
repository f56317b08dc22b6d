// Package sinks writes drivetrain's output rows to ClickHouse: the mirror
// tables and sales_facts of docs/design.md, Outputs.
//
// # Pieces
//
//   - Dial connects (Config.Addr's scheme picks the transport) and returns a
//     Client, safe for concurrent use.
//   - Client.EnsureSchema creates the database, the five mirror tables,
//     sales_facts and the sales_facts_current view where missing, then checks
//     every table's columns, engine and sorting key against what drivetrain
//     writes; any difference, listed column by column, is a permanent
//     *SchemaMismatchError. It returns the Schema, which makes a FactWriter
//     or a MirrorWriter per table.
//   - A writer encodes a batch into one reusable block of ch-go proto
//     columns (appended and reused across batches: no allocation per row)
//     and inserts it, retrying transient errors with exponential backoff and
//     jitter (Retry, IsRetryable).
//   - Batcher collects rows for a writer: last row per key wins, batches are
//     due by rows, bytes or age (longer for rows that are late already:
//     BatchConfig.CatchUpDelay), and each batch carries the highest ack
//     Token per source that went into it.
//
// Nothing here starts goroutines of its own or imports the actor system:
// the sink actors own a Batcher and a writer each and run the insert in a
// goroutine they own.
//
// # Transports
//
// clickhouse://host:9000 uses ch-go's native client (pooled; optional LZ4)
// for current servers: ch-go needs native protocol revision 54429 or later,
// which 18.16 (54412) lacks, and Dial says so instead of failing on the
// first query. http(s)://host:8123 posts each block in the Native format,
// encoded by ch-go's proto package at protocol revision 0 — the block
// without the native protocol's packet framing, block info or
// serialization flags, which is what the HTTP interface reads from 18.16
// to today — as the body of `INSERT INTO db.t (cols) FORMAT Native`
// (optionally LZ4 in ClickHouse's compressed framing, decompress=1).
// Credentials go in the X-ClickHouse-User / X-ClickHouse-Key headers,
// never in URLs; TLS with https:// or secure=true, a CA file, a client
// certificate, a server name. Secrets never appear in errors, logs or
// Config.String.
//
// Fixed-width columns are ch-go's (proto.ColInt64, ColDecimal64,
// ColDateTime, …); strings are kept in their wire form in a proto.ColRaw,
// so each value is copied once on append and each column once on encode.
//
// The HTTP path is tested against the local 18.16 (integration tests) and
// an httptest server; the native path against an in-process fake server
// that speaks enough of the protocol for ch-go's INSERTs (native_test.go),
// since no current server runs locally.
//
// # Column types
//
// DDL and checks work on ClickHouse 18.16 (Debian's package, the local
// stack) and on current releases; two types depend on the server's
// version, chosen when a table is created:
//
//	PostgreSQL    on servers that have it        on older servers
//	TIMESTAMPTZ   DateTime64(6, 'UTC') (20.1+)   DateTime('UTC')
//	DATE          Date32 (21.9+)                 String 'YYYY-MM-DD'
//
// DateTime64 holds PostgreSQL's microseconds exactly. On older servers a
// timestamp is stored as whole seconds, rounded down, and clamped to
// DateTime's range (1970-01-01 to 2106-02-07; 18.16 shows 0 as
// 0000-00-00 00:00:00): compare such columns at second precision. Date
// cannot hold dates before 1970 (birth dates), so older servers get the
// date as text, which sorts and compares like a date; toString() of either
// column gives the same 'YYYY-MM-DD'. An existing table in any layout the
// server supports is accepted and written in its own layout, so a server
// upgrade needs no migration. PostgreSQL's infinity and -infinity arrive
// already clamped by package debezium to the ends of DateTime's range
// (2106-02-07 06:28:15 and 1970-01-01 00:00:00; as dates, those days),
// which every layout above holds, so they read the same on every server.
//
// The other types are fixed: BIGINT/BIGSERIAL Int64, INTEGER Int32,
// SMALLINT Int16, TEXT, CHAR(n) and JSONB String, NUMERIC(p,2)
// Decimal(p, 2), a nullable column Nullable(…), plus _version UInt64 and
// _deleted UInt8; ReplacingMergeTree(_version) ORDER BY id. sales_facts
// is docs/design.md's (Outputs): order_date and updated_at DateTime('UTC') (seconds,
// rounded down, clamped as above), prices and line values Decimal(12, 2),
// order_total and order_paid Decimal(18, 2); ReplacingMergeTree(_version)
// PARTITION BY toYYYYMM(order_date) ORDER BY (order_id, order_item_id).
// DDL returns the statements; deploy/clickhouse/schema.sql (current
// servers) and schema-legacy.sql (18.16 … 21.8) hold them for database
// drivetrain, and a test keeps them equal to DDL (go test ./sinks -run
// TestSchemaFiles -update rewrites them).
//
// # Errors
//
// IsRetryable tells transient errors (network, timeouts, HTTP 502/503/504,
// overload codes such as TOO_MANY_PARTS or MEMORY_LIMIT_EXCEEDED) from
// permanent ones (schema mismatch, authentication and grants, unknown
// tables or columns, type and syntax errors, TLS verification, bad
// configuration), which should stop the node with their message.
//
// # Benchmarks
//
// Encoding facts into blocks (target: 2,000,000 rows/s per core):
//
//	go test ./sinks -run '^$' -bench BenchmarkEncodeFacts -benchmem -cpu 1
//
// Inserting into an ENGINE = Null copy of sales_facts over HTTP, which
// measures the client and the transport, not the storage:
//
//	source .stack/env
//	go test ./sinks -tags integration -run '^$' -bench BenchmarkIntegrationInsertNull -benchmem -cpu 1
package sinks
