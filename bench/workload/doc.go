// Package workload generates a realistic car e-commerce workload into the
// source PostgreSQL database (docs/design.md, Source data model): the change stream that Debezium
// turns into the events drivetrain consumes. `drivetrain generate` is its
// command line; tests and `drivetrain demo` use it as a library:
//
//	g, err := workload.Open(ctx, dsn, log)
//	...
//	defer g.Close()
//	rep, err := g.Run(ctx, workload.Options{Rate: 500, Changes: 10_000, Seed: 1})
//
// # What it writes
//
// Run first tops up the catalogue when the tables hold fewer rows than
// Options.Scale asks for: about Scale customers (cities of six countries,
// retail, business and fleet segments, some without phone or birth date)
// and Scale/5 vehicles (real makes and models with plausible body, fuel,
// transmission, year, mileage and prices; about one in twenty with a
// features document of 6-20 KB that PostgreSQL stores out of line, TOAST).
// Existing rows are reused, never rewritten.
//
// Then it runs a steady mix, one transaction per business operation: new
// orders of 1-3 items (reserving used vehicles), order confirmations,
// payments added, approved, rejected and refunded, deliveries (vehicles
// sold), cancellations (payments refunded, vehicles released), order
// deletions that cascade to items and payments, items added, removed,
// renegotiated or switched to another vehicle, vehicle price, stock and
// features changes (some on TOASTed documents, some leaving them
// unchanged), customers moving city or changing phone or segment, and new
// customers and vehicles. The mix adapts its weights so tables stay near
// the catalogue size however long it runs. order_items.order_id and
// payments.order_id are never updated.
//
// About 2-3% of the operations are the rewrites real applications make
// (docs/design.md, Rows that move): an item or a pending payment moved to another
// order by DELETE and INSERT with the same id, in one transaction or in
// two with other operations between them (move_item, move_payment); an
// order deleted and later re-created under its id, dated in another month,
// with new lines whose ids are new or those of its deleted lines
// (recreate_order); order_date moved to another month (change_order_date);
// and a customer or vehicle that nothing references deleted and inserted
// again with the same id and new attributes (reinsert_customer,
// reinsert_vehicle). These dates lie two to four months before the run's
// start, so they always differ from the order's previous month.
//
// # Counts
//
// The Report counts, per table, the rows inserted, updated and deleted by
// committed transactions, read from PostgreSQL's answers (rows affected;
// for an order deletion, the children counted after locking the order, in
// the same transaction, before the cascading delete). Each counted row is
// one Debezium change event, so a consumer that filters on
// source.txId > Report.StartXID sees exactly these counts. A change is one
// such row; Options.Rate and Options.Changes count changes, not
// transactions. Seeding counts too (inserts).
//
// # Failures
//
// The database may hold rows other applications wrote, and they may write
// while the generator runs. The planner keeps every money value it writes
// within NUMERIC(12,2) (unit prices, discounts, payments, list prices),
// and every line (quantity × unit price) and order total too, whatever the
// list prices it finds: a vehicle listed near 9,999,999,999.99 has its
// unit price capped there (in dollars it would be more), is sold one unit
// at a time, and only to orders whose total stays within the bound; a line
// is renegotiated (a smaller discount, the current list price) only while
// its order's total stays within it too. Its jsonb_set leaves features that
// are not JSON objects unchanged. What still fails is handled per
// transaction:
//
//   - serialization failures (40001) and deadlocks (40P01) are retried,
//     up to 5 times, and counted in Report.Retried;
//   - data errors (SQLSTATE class 22, check, foreign key and unique
//     violations 23514, 23503, 23505) roll the transaction back; it is
//     skipped, counted in Report.Skipped by SQLSTATE, and the first of each
//     SQLSTATE is logged. Operations planned after it on the same order,
//     customer or vehicle are left out too (Report.SkippedDependents): they
//     assumed its changes. The planner's model assumed them as well, so
//     the run then waits for the transactions in flight and reads the model
//     from the tables again before planning on. The run makes up for the
//     changes it skipped, so Options.Changes still holds exactly.
//
// With Options.Strict, the first data error stops the run instead, and Run
// returns it. Any other error (connection lost, schema changed, ...) stops
// the run too.
//
// # Determinism
//
// One goroutine plans every operation from a PCG generator seeded with
// Options.Seed and an in-memory model of the rows (loaded in id order at
// start), so the same seed against the same starting database plans the
// same operations with the same values and ids (ids come from the tables'
// sequences in blocks; ids left unused at the end leave gaps). Workers
// execute operations concurrently, but operations on the same order,
// customer or vehicle (or item or payment moved in two transactions)
// commit in plan order, so every row goes through the same sequence of
// values as with a single connection. What is not
// reproducible: timestamps (seeded rows are dated relative to the wall
// clock at start, the mix stamps rows with now()), transaction ids, and the
// interleaving of unrelated transactions in the WAL. With Duration, how
// many operations run depends on speed; with Changes it does not. After a
// skipped transaction (see Failures), the rest of the run depends on
// timing too.
//
// # Performance
//
// A transaction is sent as one pipelined batch (one round trip) of
// statements prepared once per connection. When more transactions are
// ready than there are idle workers, a worker sends up to 8 of them in one
// round trip, each still its own BEGIN ... COMMIT. Measured against the
// local stack's PostgreSQL 15 (2 cores shared with Kafka, Connect,
// ClickHouse and other builds; fsync and synchronous_commit on), in a
// scratch database with the schema:
//
//	drivetrain generate --rate 0 --changes 200000    # 6,500-7,600 changes/s (8 workers)
//	drivetrain generate --rate 5000 --changes 150000 # 5,000 changes/s held; generator ≈ 0.35 core
//
// More --workers help when PostgreSQL has idle CPU (group commit).
package workload
