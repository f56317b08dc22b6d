// Package topology holds drivetrain's pure logic: the source table
// definitions, the decoding of Debezium change events into typed rows, and
// the join rules that turn rows into sales facts.
//
// Nothing in this package does I/O. That is what lets it be tested with
// plain tables of inputs and expected outputs, and what keeps the hot path
// free of hidden blocking.
//
// # Join rules
//
// The join rules see state through small interfaces (GlobalRows,
// GlobalStore, Rows, PartitionStore) that package state implements over
// Pebble and package topologytest with maps. Their input is a Change: one
// decoded row event with its Kafka position, source.lsn, source.ts_ms, row
// images and unchanged-TOAST columns. Their outputs are Mirror rows and
// Facts, plain data for the sinks.
//
//   - Apply applies a change of orders, order_items or payments to its
//     partition, emits the mirror row and marks every affected fact: for
//     an order or a payment, the facts of all the order's items; for an
//     item, its own fact (a tombstone fact if it was deleted) and its
//     siblings' (order_total changed).
//   - ApplyGlobal applies a change of customers or vehicles to the global
//     tables and emits the mirror row. The caller then calls Refresh on
//     each partition, which marks the facts of the customer's orders
//     (customer → orders index) or of the items referencing the vehicle
//     (vehicle → items index).
//   - EmitPending builds every marked fact once, from the state as it is
//     then. A batch of changes thus costs one fact per affected item,
//     however many of its order's rows changed: an order of thousands of
//     items inserted in one transaction costs linear work, not quadratic.
//
// Package topology/step runs these rules for a batch of Kafka records —
// decoding, applying, recording offsets, building the marked facts,
// collecting dead letters — and is the one processing step that the
// actors, the property tests and the benchmarks share.
//
// Facts are computed from the stored rows only, never incremented:
// line_total = quantity × unit_price − discount; order_total sums it over
// the order's live items; order_paid sums amount over the order's live
// payments with status "approved"; payment_status is "unpaid" when
// order_paid is 0, "partial" when below order_total, else "paid". Money is
// exact (Decimal, scale 2). A missing or deleted customer or vehicle gives
// empty strings and zeros (left join); a NULL region gives "". customer_id
// and vehicle_id come from the order and the item, so they are set even
// when the dimension row is missing.
//
// A fact waits for its order: order_date is the partition key of
// sales_facts (toYYYYMM), and ReplacingMergeTree only replaces rows within
// a partition, so a fact emitted without its order_date would stay behind
// in another partition forever. Since items and orders travel on different
// topics, an item can arrive first; its fact is emitted when the order
// arrives. For the same reason deleted orders are kept as tombstones with
// their last image: the facts of a deleted order's items are emitted at
// once as deletes (the cascade guarantees the items are gone), carrying the
// real order_date, and again when the items' own deletes arrive.
//
// updated_at is the latest source.ts_ms among the stored rows the fact
// joins: the item, its order, the order's customer, the item's vehicle, and
// every item and payment of the order, tombstones included (a deletion
// changes the totals too). It is a function of the final stored rows, so
// it does not depend on the order in which topics interleave; it never
// decreases as changes commit in real time (removing a row leaves its
// tombstone; an order changing customer or an item changing vehicle is
// itself a newer change). After a rebuild from compacted topics, from which
// deleted rows are gone, it can be lower than before.
//
// # Ordering and redelivery
//
// Only each partition's order is kept: the five topics interleave
// arbitrarily, and Kafka redelivers records after restarts. Every change of
// a row travels in one topic partition (rows are keyed by id; items and
// payments are routed by order_id, which a trigger keeps immutable), so
// Change.Pos orders the changes of a row exactly. The stored row keeps the
// position of its last applied change, and a change is:
//
//   - older (earlier offset in the same topic partition): ignored, nothing
//     emitted. Redelivered history never regresses state or facts.
//   - at the stored position: applied again and emitted again with fresh
//     fact versions, because its rows may not have reached the sinks before
//     a crash. Applying is idempotent (TOAST merges read the row the same
//     change produced).
//   - newer, or in another partition (the topic was repartitioned, so
//     offsets cannot be compared): applied.
//
// The position rather than source.lsn orders a row's changes because LSNs
// are not monotonic per row at the snapshot boundary: a transaction that
// began before the snapshot's consistent point and commits after it
// carries change LSNs below the snapshot's, yet follows the snapshot read
// in the topic.
//
// # Mirror versions
//
// A mirror row's _version is the change's source.lsn, raised to one above
// the stored row's version when it is not above it; a redelivery of the
// stored change keeps that change's version. The changes of a row in its
// topic partition thus get strictly increasing versions in Kafka order,
// the snapshot boundary included. source.lsn rather than an emission
// clock is the base because a row can move: an item or payment moved to
// another order is deleted under one order and inserted under the other,
// often in another partition, processed by another actor or node at its
// own pace. Only the source orders those two changes: PostgreSQL writes
// the insert's WAL record after the delete it waits for, so its LSN is
// higher, whichever partition applies it first. (Row locks give the same
// for every later change of one row.) A change without an LSN
// (incremental-snapshot read) gets one above the stored row's version,
// and zero without a stored row.
//
// # Rows that move
//
// sales_facts is keyed by (order_id, order_item_id): a moved item is the
// tombstone of its fact under the old order (emitted when the delete is
// applied) and a live fact under the new one. An order deleted and
// created again under its id is the same order row; the tombstone kept
// its last image, so a redelivered older record cannot resurrect it.
//
// sales_facts is also partitioned by the month of order_date, and
// ReplacingMergeTree replaces rows only within a partition: a fact
// emitted under March is not superseded by the same key under May. So a
// stored order keeps the months its order_date had before the current one
// (Stored.PastMonths, in this state, replays included), and every fact of
// the order is emitted with a tombstone under each of them, dated the
// first instant of that month. That covers facts written under an old
// month by this state and by any earlier one (a node that crashed, a
// replay in another interleaving): whichever interleaving emitted them,
// the month was one the order had, and this state saw it. An order that
// moves to another month also emits the tombstones of its deleted items
// there, as an order new to the state does (see "Lost state"): another
// interleaving may have seen the item live under that month. Months are
// compared as the sink stores them (Timestamp.Month: DateTime's clamped
// range).
//
// Why the result is order-insensitive: for each fact, take the last
// processed change of any row the fact depends on in the final tables (its
// item, order, customer, vehicle, and the order's items and payments). That
// change is the row's final one (later records of the row do not exist, and
// redelivered older ones are ignored), every other such row is already
// final, and the indexes link the changed row to the fact (the item's
// vehicle and order, the order's customer are final), so the change emits
// the fact computed from final rows. Facts emitted later are computed from
// the same rows, and facts emitted earlier carry lower versions. Deleted
// items leave the indexes, so nothing re-emits them as live. The property
// tests (topology and state packages) check this on random histories.
//
// # Lost state
//
// That argument holds within one state directory. A node can also emit
// facts and then lose its state before the group commits what it read (a
// crash before its first commit, a wiped disk). The next owner rebuilds
// each partition up to the committed offsets without emitting and reads
// the rest again, possibly in another interleaving; every fact the lost
// state emitted must then be superseded by a newer version (its clock is
// later: see "Fact versions"). For the items of the final tables the
// argument above gives that. A deleted item's tombstone is emitted when
// its delete is applied with its order known; when the item was deleted
// before its order arrived in this state, nothing would emit it, although
// the lost state, which saw the order first, may have emitted the item's
// fact. So an order new to the state emits the tombstones of its deleted
// items along with the facts of its live ones. (A tombstone of a fact
// never written is harmless: sales_facts_current leaves deleted rows
// out.) TestJoinLostState (in memory) and state's TestStateLostState (on
// Pebble) check this with topologytest.RunLostState; the golden case
// items_before_order shows it.
//
// Unchanged TOAST values (Change.Unchanged; in practice vehicles.features)
// keep the stored value; without a stored row, the before image's; without
// either, the column stays as decoded (NULL).
//
// # Fact versions
//
// A fact's _version is NextVersion(last, now) = max(now, last+1), where
// now is the emission clock (wall-clock Unix nanoseconds, read by the
// caller and passed in) and last the version of the key's previous fact —
// or any higher version: package state keeps one clock per partition, the
// highest version the partition emitted, committed in the same batch as
// the facts (refreshes and the quiet start's state included). Mirror rows
// use source.lsn instead (see "Mirror versions").
//
// Within one state directory versions grow strictly per fact key whatever
// the clock does: restarts reopen the same last versions, and last+1
// covers a clock that stalls or steps back. Across state directories —
// a partition moving to another node (rebalance), a node whose disk was
// wiped, a replay into fresh state writing into the same ClickHouse table —
// the last versions written elsewhere are unknown to the new state. The
// partition's owner therefore commits, with its offsets (package actors,
// commit metadata), a reservation: a minute above the higher of its
// highest emitted version and its clock, and it emits only while the
// committed reservation is still half a minute above that (a new owner
// commits one before its first emission). Every version an owner wrote
// thus lies below the last reservation it committed, crash or not, and
// the next owner starts its clock there: its versions exceed the last
// owner's whatever the two clocks say — ten minutes apart, or one stepped
// back by an hour. Strictness still rests on the wall clock for a replay
// into existing tables with new state and a new consumer group: it must
// run at a wall-clock time later than every version already written
// (versions are nanosecond timestamps, a minute ahead of the writer's
// clock at most after each takeover).
//
// If a clock jumps far ahead and back, versions follow the jump (last+1)
// until the clock catches up: still strictly increasing, only less
// informative.
package topology
