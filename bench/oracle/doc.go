// Package oracle checks drivetrain's correctness contract (docs/design.md, The correctness contract):
// once the pipeline is idle, for every table the non-deleted FINAL rows in
// ClickHouse equal the rows in PostgreSQL, and sales_facts_current equals
// the same left join computed by SQL in PostgreSQL.
//
// Compare reads both sides sorted by primary key and merges them row by
// row: PostgreSQL with one streaming query per table (all in one
// REPEATABLE READ snapshot), ClickHouse a page of Options.PageRows rows at
// a time (keyset pagination), so memory stays bounded by the page size
// however large the tables. It reports, per table, the row counts, the
// keys missing from ClickHouse, the extra keys in ClickHouse and the rows
// whose values differ, column by column. Waiting for the pipeline to be
// idle is the caller's job; Compare only reads. CountRows gives
// PostgreSQL's counts cheaply, for progress while waiting.
//
// # What is compared
//
//   - customers, vehicles, orders, order_items, payments: every source
//     column, against `SELECT … FROM <db>.<table>[_suffix] FINAL` minus
//     the rows with _deleted = 1 (filtered here, not in a WHERE clause
//     that older servers may move before FINAL). _version and _deleted
//     are not compared.
//   - sales_facts_current against, in PostgreSQL, one row per order item
//     joined to its order, LEFT JOIN its customer and its vehicle (a
//     missing one gives ” and 0), customer_name first_name || ' ' ||
//     last_name, customer_region NULL as ”, line_total quantity *
//     unit_price - discount, order_total the sum of line_total over the
//     order's items, order_paid the sum of amount over its approved
//     payments (0 if none), payment_status unpaid (order_paid = 0),
//     partial (< order_total) or paid; every column but updated_at,
//     _version and _deleted. updated_at, "the latest source change that
//     went into the row", cannot be derived from PostgreSQL, which keeps
//     no change times.
//
// Rows are keyed by id, facts by (order_id, order_item_id): a fact filed
// under the wrong order shows as one missing and one extra row.
//
// # Normalisation
//
// Values are compared in a canonical text form per column kind, which is
// also what a report prints:
//
//	integers     decimal text
//	NUMERIC      exact decimal, at least 2 fractional digits: 20000 = 20000.00
//	             (newer servers print decimals without trailing zeros)
//	TEXT         exact bytes, read through ClickHouse's TSV escaping
//	CHAR(n)      exact, padding included: Debezium sends PostgreSQL's padded
//	             value and the mirror keeps it (read uncast from PostgreSQL:
//	             a cast to text would strip the padding)
//	JSONB        semantically: both sides re-encoded with sorted keys,
//	             no spaces and canonical numbers
//	DATE         YYYY-MM-DD (ClickHouse String on old servers, Date32 on new)
//	TIMESTAMPTZ  DateTime64(6) columns: UTC to the microsecond;
//	             DateTime columns (servers before 20.1, and sales_facts'
//	             order_date): PostgreSQL's value rounded down to whole
//	             seconds and clamped to [1970-01-01, 2106-02-07 06:28:15]
//	             exactly as package sinks stores it
//	NULL         equal only to NULL (Nullable columns are read with isNull)
//
// The ClickHouse type of each column comes from sinks' schema check
// (Client.CheckSchema), so a table created before a server upgrade is
// compared in its own layout. Infinite PostgreSQL dates and timestamps
// have no ClickHouse counterpart and always differ.
//
// # Report
//
// Result.String prints a summary line, a line per table and, under each
// table that differs, its first Options.MaxDiffs differing rows, missing
// keys and extra keys:
//
//	oracle: MISMATCH in 2 of 6 tables (customers, payments)
//	customers: postgresql 3 rows, clickhouse db.customers 3 rows: 0 missing, 0 extra, 1 differing
//	  differing id=2: city pg="Madrid" ch="Sevilla";
//	vehicles: postgresql 2 rows, clickhouse db.vehicles 2 rows: ok
//	payments: postgresql 3 rows, clickhouse db.payments 2 rows (+1 deleted): 1 missing, 1 extra, 0 differing
//	  missing id=2 (in postgresql, not in clickhouse)
//	  extra id=9 (in clickhouse, not in postgresql)
//	…
//
// The integration test (go test -tags integration ./bench/oracle, with
// DRIVETRAIN_POSTGRES_DSN and DRIVETRAIN_CLICKHOUSE_URL set) builds both
// sides in scratch databases without the processor and checks that
// Compare finds exactly the corruptions it makes.
package oracle
