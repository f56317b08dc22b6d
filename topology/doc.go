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
//     partition and emits the mirror row and every affected fact: for an
//     order or a payment, the facts of all the order's items; for an item,
//     its own fact (a tombstone fact if it was deleted) and its siblings'
//     (order_total changed).
//   - ApplyGlobal applies a change of customers or vehicles to the global
//     tables and emits the mirror row. The caller then calls Refresh on
//     each partition, which re-emits the facts of the customer's orders
//     (customer → orders index) or of the items referencing the vehicle
//     (vehicle → items index).
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
// in the topic. (The mirror tables' _version is source.lsn as DESIGN §4
// says, so the mirror row of such a change loses to the snapshot read in
// ClickHouse; that rare case needs the mirror version to follow the Kafka
// order too.) A change without an LSN (incremental-snapshot read) keeps
// the stored row's LSN as its mirror version.
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
// the facts. Mirror rows
// use source.lsn instead, which is deterministic.
//
// Within one state directory versions grow strictly per fact key whatever
// the clock does: restarts reopen the same last versions, and last+1
// covers a clock that stalls or steps back. Across state directories —
// a partition moving to another node (rebalance), a node whose disk was
// wiped, a replay into fresh state writing into the same ClickHouse table —
// the last versions written elsewhere are unknown, so strictness rests on
// the wall clock:
//
//   - clocks of the nodes are synchronised (NTP) to well within the time a
//     partition takes to move: the old owner stops emitting before it
//     releases the partition (revoke: stop intake, flush, commit), and the
//     new owner restores or rebuilds state before emitting, which takes far
//     longer than any sane clock skew;
//   - a replay into existing tables with new state runs at a wall-clock
//     time later than every version already written (versions are
//     nanosecond timestamps, so a replay started after the old writes'
//     wall-clock time is newer).
//
// If a clock jumps far ahead and back, versions follow the jump (last+1)
// until the clock catches up: still strictly increasing, only less
// informative.
package topology
