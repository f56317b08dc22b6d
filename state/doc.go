// Package state is drivetrain's Pebble-backed storage: typed tables of the
// source rows, the secondary indexes the joins need, fact versions
// and per-partition consumed offsets.
//
// # Ownership
//
// One Store (one Pebble instance) per node. Its global range holds the
// customers and vehicles, which every node keeps whole; the range of each
// order-stream partition holds that partition's orders, items and
// payments, their indexes, fact versions and offsets. One writer per range
// by convention: the global-table actor writes the global range through
// GlobalBatch, the actor of partition n writes partition n's range through
// Batch. Reads are safe from any goroutine. The Store implements
// topology.GlobalRows; a Partition handle topology.Rows; a GlobalBatch
// topology.GlobalStore and a Batch topology.PartitionStore, which is what
// the join rules of package topology run on.
//
// # Key layout
//
// Every key starts with a range byte. Ids are 8 bytes big-endian with the
// sign bit flipped (so keys sort like ids), partition numbers 4 bytes
// big-endian, topics their name and a NUL:
//
//	m format                        layout version (5; 4 had no past months of orders and is upgraded in place, 3 kept items and payments apart from their orders, 2 vehicles' features in their rows, 1 a version per fact)
//	g C <customer>                  customer row
//	g V <vehicle>                   vehicle row, features only as NULL or not
//	g F <vehicle>                   vehicle's features text (the last one not NULL)
//	g o <topic> 0 <partition>       next offset of a global topic partition
//	p <n> O <order>                 order row
//	p <n> O <order> I <item>        item row, clustered under its order
//	p <n> O <order> P <payment>     payment row, clustered under its order
//	p <n> c <customer> <order>      index customer → live orders (empty value)
//	p <n> v <vehicle> <order> <item> index vehicle → live items (empty value)
//	p <n> f                         fact-version clock: highest version emitted (uvarint)
//	p <n> o <topic> 0 <partition>   next offset of a topic partition, for partition n
//
// Items and payments are keyed under their order (order_id never changes),
// so an order's row, items and payments are neighbours: reading an order
// that is not in memory is one prefix scan, which mostly reads one block,
// and order → items and order → payments need no indexes. The bloom
// filters hold groups, not whole keys (see split): an order with its
// items and payments, a customer's index entries, a vehicle's. A prefix
// scan of a group (SeekPrefixGE) thus skips the tables that lack it, as a
// point read does. State that outgrows memory is read this way when
// customers' and vehicles' changes refresh the facts of old orders. A vehicle's features, a JSONB document of up to tens
// of kilobytes, is kept apart from its row and written only when it
// changes: most vehicle changes (price, stock) leave it as it was, and
// writing it with each of them made vehicles 87% of the bytes the state
// wrote in the catch-up benchmark. Deleted rows stay as tombstones (the
// row's last image with a deleted flag) so that an older record redelivered later is
// recognised as older; the indexes hold live rows only. Everything of
// partition n shares the prefix "p <n>", so DropPartition removes a
// partition's whole state with one range deletion and leaves the global
// tables and the other partitions alone. Row values use a compact binary
// encoding with a codec version byte (see codec.go), not JSON.
//
// # Ordering and offsets
//
// A Batch carries, with the state changes, the offsets they reflect:
// SetOffset(topic, partition, next) means "the records of that topic
// partition before next are in this state". The commit is atomic, so after
// a crash a partition's state and its offsets agree. A partition records
// the offsets of its three order-stream topics (orders, order_items and
// payments, co-partitioned: its own partition number in each) and, for
// the global topics, how far it has applied the refreshes their records
// cause: a global record is applied to the global range first (committed
// with the global offset), then each partition refreshes the facts that
// join the row and records the global offset in its own batch. On restart
// a global topic partition is therefore read again from the lowest offset
// among the global range and every partition, so that no refresh is lost
// with an uncommitted partition batch; re-applying its records is
// harmless.
//
// These offsets say what the state reflects, not what ClickHouse has
// acknowledged. The Kafka consumer group's committed offsets (written only
// after the sinks acknowledged every row derived from the records before
// them) may be lower: on restart the actors resume from the committed
// offsets and re-apply records that the state already holds, which the
// join rules make harmless (a record at a row's stored position is applied
// again and re-emits; an older one is ignored). Rows must reach the sinks
// only after the batch that produced them is committed, or a crash could
// leave acknowledged rows that the state does not reflect. A partition
// whose stored offsets are below the group's committed offsets (state left
// from an earlier ownership) must be dropped and rebuilt, or replayed from
// its stored offsets.
//
// # Durability and failures
//
// Commits are synced to the write-ahead log unless Options.NoSync (or
// the log is off: CheckpointFlush). A
// GlobalBatch may instead be staged (GlobalBatch.Stage, stage.go): its
// rows and offsets go to an in-memory stage, coalesced by key with the
// other staged batches, that every reader sees at once and that is
// written to Pebble in one batch by the next Commit, Flush or Close, or
// when it outgrows Options.StageBytes. A crash loses the writes staged
// since the last flush, rows and offsets together, so the stored offsets
// still never pass the stored rows. A partition's Batch may be staged
// the same way (Batch.Stage, per partition, bounded by
// Options.PartitionStageBytes) while the partition cache holds the whole
// partition; Commit, Flush, a Partition handle's reads and Close write
// the stage first. Flush writing every stage is a checkpoint: the actors
// stage between checkpoints and read the records after the last one
// again after a crash (package actors, "Checkpoints").
// Options.CheckpointWrite says how a checkpoint's stages reach the disk
// (checkpoint.go): as batches through the write-ahead log (the default);
// with Pebble's log off, every write, commits included, staying in the
// memtables until Flush flushes them; or as sstables that Pebble ingests,
// the log kept for commits. Each writes a stage atomically, and a crash
// keeps the writes up to some point of their order, so the stored
// offsets never pass the stored rows in any of them. Pebble
// treats a failed log write as fatal; the Store turns that into ErrFailed
// from Commit and refuses further commits: the process must close and
// reopen it, and reopening replays the log, in which a batch is wholly
// present or absent. A checkpoint that fails to reach the disk without
// the log (a memtable flush) or as an sstable fails the store the same
// way. Fatal errors in Pebble's background work panic.
//
// # Memory
//
// Reads are served from memory; Pebble is the durable copy, read when a
// range is loaded and for what memory does not hold.
//
// The customers and vehicles are held in the dimension cache
// (Options.DimensionCacheBytes, cache.go), shared by every reader: Open
// loads the whole global range into it, a GlobalBatch puts the rows it
// wrote after committing, and an epoch counter keeps a reader that raced
// with a commit from caching the value it replaced. When every row fits,
// the cache is complete and a row it lacks does not exist.
//
// Each partition has a cache of its order views — an order, its items and
// payments —, its fact-version clock and its two indexes
// (Options.OrderCacheBytes, orders.go), loaded on the partition's first
// batch: whole when it fits; otherwise the views that fit, and the
// indexes are read from Pebble when they outgrow their share. It holds committed values only: a Batch works on private
// copies of the views it touches, which replace the cached ones after a
// successful commit together with the batch's index changes; a failed
// commit drops them, DropPartition empties the cache, and a generation
// counter keeps two batches of one partition open at once from installing
// a stale view.
//
// Both keep rows in their encoded form in arenas (arena.go): large chunks
// and maps of ids to offsets, which cost a few bytes per row beyond the
// encoding and give the garbage collector nothing to scan. With the
// benchmark's state (1,000,000 customers, 100,000 vehicles, 200,000
// orders in 6 partitions; see bench/pipeline) they take about 250 MB.
//
// # Fact versions
//
// The state keeps one fact-version clock per partition rather than a
// version per fact: the highest version the partition emitted, written
// once per batch. LastFactVersion returns the clock for every item, so
// the join rules' NextVersion(clock, now) exceeds every version the
// partition emitted before, for any key: versions stay strictly
// increasing per fact key (topology/doc.go) with one key written per
// batch instead of one per fact.
//
// Pebble runs with 32 MiB memtables (updates of the same rows within one
// memtable are compacted once, not at every level) and Bloom filters on
// every level.
//
// Values returned by reads are freshly decoded Go values (copies, for the
// cached views); nothing aliases Pebble's memory or the caches.
package state
