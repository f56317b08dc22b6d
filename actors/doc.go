// Package actors runs drivetrain's processing: the Kafka consumer, one
// protoactor-go actor per assigned order-stream partition, one per global
// table, and the sink actors that write the output tables.
//
// A processor node is built with NewNode(cfg, deps) — deps carry the
// logger and the output writers (Writer; *sinks.FactWriter and
// *sinks.MirrorWriter implement it) — and runs with Run(ctx), which
// returns nil once ctx ends and the node has drained and committed, or
// the error that stopped it.
//
// # Actors and goroutines
//
//	poll loop (Run's goroutine)        kgo group client: PollRecords, route, commit, AllowRebalance
//	  │ recordsFetched (per partition number)
//	  ▼
//	partition actor n ──writeRows──▶ sink actor (sales_facts, 5 mirror tables) ──▶ write goroutine
//	  ▲   ▲  │ deadLetter                 │ rowsWritten (ack)              (Writer.Write)
//	  │   │  └────────▶ dead-letter actor ─┘ deadLetterWritten
//	  │   └─ catch-up goroutine (catchUpRead)
//	  │ dimensionsChanged / refreshDone
//	global actor (customers, vehicles) ◀─ reader goroutine (direct kgo client, globalFetched)
//
// One actor owns each piece of mutable state: a partition actor owns its
// partition's range of the Pebble state and its decoder; a global actor
// the global range; a sink actor its batcher and writer; the dead-letter
// actor the producer's bookkeeping. Everything that does network I/O —
// fetching, writing to the sinks, producing dead letters, catching up —
// runs in a goroutine owned by an actor (or in the poll loop) and reports
// back with a message; Receive only applies records to Pebble (local and
// bounded), builds rows and sends messages. The node's goroutines end
// before Run returns.
//
// # Partitions and ownership
//
// orders, order_items and payments are co-partitioned by order id
// (docs/design.md, Topics, keys and partitioning): "partition n" of the order stream is partition n of all
// three, and one partition actor joins them. The group uses its own
// cooperative balancer (copartitionBalancer, protocol
// "drivetrain-copartitioned") that assigns partition numbers rather than
// topic partitions, sticky and balanced, revoking a moving number in one
// round and assigning it in the next as KIP-429 requires. Kafka's
// cooperative-sticky balancer would place the three topics' partitions
// independently. Every member of a group must run this balancer; if a
// member ever receives only some of a number's topic partitions it pauses
// them and waits for the rest.
//
// The start-up check refuses to run when a source topic is missing or
// the order-stream topics' partition counts differ. At run time a record
// whose order id hashes to another partition (topology.OrderPartition) is
// a dead letter (misrouted), and step.DefaultMaxMisrouted of them in a
// row stop the node. Both errors wrap ErrCoPartitioning and name the fix.
//
// # Life of a partition actor
//
// Assign. kgo fetches the group's committed offsets C (with their
// metadata), and the node's AdjustFetchOffsetsFn compares them with the
// offsets S stored in the partition's state: fetching starts at min(S, C)
// in each topic. Records below C are already reflected in the sinks:
// recovering, the actor applies them to state without emitting (state
// behind: left from an earlier ownership, lost, or never there). A topic
// that reaches its C is paused and its further records held until all
// three have: emitting earlier would compute facts from state lacking
// the other topics' committed records, and those newer facts would win
// over the right ones. Recovering batches are staged
// (state.Batch.Stage): each row reaches Pebble once per stage flush rather
// than at every change, and the stage is flushed before the partition
// subscribes, so nothing is emitted from state a crash could lose. A
// crash while recovering loses only the stage, and the next owner
// recovers from the offsets that reached Pebble. Records at or above C
// are applied and emitted (a
// state ahead of C — processed but not acknowledged before a crash —
// re-emits them: a record at a row's stored position emits again, an
// older one is ignored).
//
// Subscribing. The actor subscribes to both global actors, which answer
// with their positions (see "Dimension changes" below); then it runs.
//
// Quiet start. A partition the group never committed (nothing of it is
// in the sinks), or one more than quietMinBacklog records behind C, starts
// quietly. Its plan lists the end offsets of its three topics at
// assignment (quietTo), and the actor treats the records from C up to
// them as it treats those below C: applied, staged, not emitted. It also
// notes the order each one touched, and sends the bad ones to the
// dead-letter topic. Once it runs, it emits the state of those orders
// (topology.EmitState: mirror rows of the order, its items and payments,
// deleted ones included, and every item's fact) in chunks of
// stateChunkOrders as credit allows. The last chunk's unit carries the
// quietTo offsets. Until that chunk has run, records wait with their
// topics paused and dimension changes wait in the queue. The actor
// publishes no offsets before the last unit is acknowledged, so after a
// crash the group still has C and the next owner starts quietly again. The sinks end with what emitting every record would have left
// them (ClickHouse keeps the highest version), from one row per source
// row instead of one per change. Past quietMaxOrders touched orders, the
// quiet start ends at the offsets reached and the records after are
// emitted one by one. Config.EmitEveryRecord turns it off.
//
// Running. Per recordsFetched message, the processing step
// (topology/step.Partition.Records) decodes the records, checks their
// partition, applies them into one state batch that also stores their
// offsets and builds the facts they made due, each once; the actor
// stages the batch (the next checkpoint writes it: see "Checkpoints")
// and sends the rows to the sinks. dimensionsChanged
// messages re-emit the facts that join the changed rows
// (step.Partition.Refresh) the same way. Recovery runs the same step
// without emitting (step.Replay), and the quiet start too (step.Quiet),
// then emits the state of the orders it touched (step.Partition.EmitState).
//
// Revoke. The revoke callback takes the partition from the poll loop,
// sends drain (the actor stops taking input and the sinks flush), waits
// until everything the actor sent is acknowledged (at most DrainTimeout),
// commits what was acknowledged, stops the actor, and only then returns,
// letting the rebalance proceed. Lost partitions (a lost session) stop
// without committing: another member may own them already. A node
// shutting down leaves the group, which revokes everything the same way.
//
// # Offsets and acknowledgements
//
// Every message an actor processes becomes a unit: the rows it sent to
// each sink, its dead letters, and the progress it reaches (the next
// offsets of the partition's three topics after its records). Sinks
// acknowledge cumulatively per source (sinks.Batch.Tokens); a tracker
// releases units' progress strictly in order, so a committed offset
// never runs ahead of a row derived from a record below it — even though
// each sink batches on its own clock. The actor publishes its reached
// offsets on a board; the poll loop commits them every CommitInterval,
// between PollRecords and AllowRebalance (so the partitions are still
// this member's), and the revoke callback commits the final ones
// synchronously. A bad record counts as acknowledged once the dead-letter
// topic has it.
//
// The offsets stored in state say what the state reflects; the committed
// ones what the sinks have. The first may be ahead of the second (a
// checkpoint after rows not yet acknowledged) or behind it (a crash since
// the last checkpoint, an ownership change), which the assign step above
// handles.
//
// # Checkpoints
//
// The state the joins read and write lives in memory: the dimension
// cache holds the customers and vehicles, each partition's cache its
// orders, items, payments and indexes (package state). A running
// partition stages its batches there (state.Batch.Stage), coalesced by
// key, and its rows leave at once; the global actors stage theirs too.
// Every CheckpointInterval a goroutine of the node writes a checkpoint
// (state.Store.Flush): each partition's stage in one atomic write with the
// offsets and fact-version clock it reflects, and the global tables' in
// another, as StateCheckpointWrite says (a batch through Pebble's log;
// batches and a flush of the memtables, Pebble running without its log;
// or an ingested sstable); a partition's stage that outgrows
// CheckpointBytes is written at once. A partition whose cache cannot hold
// it whole commits each batch to Pebble instead (its cached views can
// then be evicted and read back; without the log, those commits too are
// durable at the next checkpoint only).
//
// A crash loses what was staged since the last checkpoint. The next
// start (or the next owner) recovers each partition from the offsets its
// state holds up to the group's committed offsets without emitting, as
// above, and reads the global records after their stored offsets again
// (the partitions refresh their facts once more). The rows the lost
// state had emitted are then superseded: a fact's version is above any
// the lost state wrote (the commit metadata's reservation), and the join
// gives the same facts from any interleaving of the topics, a state that
// starts again from committed offsets included (topology/doc.go, "Lost
// state"). Commits to Kafka still follow the sinks' acknowledgements, so a
// checkpoint may lag the committed offsets but a committed offset never
// passes a row the sinks lack. A restart thus reads again about
// CheckpointInterval of records, besides what the sinks had not
// acknowledged. With CheckpointInterval negative, every batch is committed
// to Pebble before its rows leave.
//
// # Dimension changes and ownership
//
// A global actor reads every partition of its topic with a direct
// client, applies a poll's records with topology.ApplyGlobal in one
// batch, commits it, and tells every subscribed partition actor which
// rows changed and its position after them (dimensionsChanged). Each
// partition re-emits the facts that join those rows, and partition 0
// also their mirror rows (below, "The mirrors of the global tables"). Before the node joins the group, both global actors bootstrap:
// they apply every record below the end offsets listed at start. During
// the bootstrap they stage their batches (state.GlobalBatch.Stage)
// instead of committing them: each row's last value is written once, when
// the stage fills up (state.Options.StageBytes) or the bootstrap ends,
// rather than at every change (a vehicle's at each price or stock
// change). A crash before then loses the staged rows with the staged
// offsets, and the next start reads those records again; nothing else
// depended on them, since no order partition starts before the bootstrap
// ends.
//
// A global table bootstrapped from nothing (a new state directory: no
// offset stored for its topic) reads its topic newest first (backward.go): in
// rounds from the end offsets back to the start, it applies per row only
// the last complete image and what follows it, and decodes the older
// records only to send the bad ones to the dead-letter topic
// (Stats.BootstrapSkipped counts them). It stores no offsets before it
// ends.
//
// Otherwise the global offsets a global actor stores are those of the
// records it applied (and whose dead letters are written). (Package
// state's doc describes partitions also storing how far they applied
// refreshes, and resuming the global topics from the lowest of those;
// this package does not use that: it would not cover refreshed facts
// lost in flight, nor partitions moving between nodes, whose global
// actors progress independently. The mechanism below covers both.)
//
// Which dimension changes the facts of partition n in the sinks reflect
// is part of n's committed offsets: their commit metadata
// ("drivetrain/3 version=1796661556148904294 customers=0:120,1:98
// vehicles=0:4000") holds, per global topic partition, the position G
// below which every record's refreshed facts (and, for partition 0, its
// mirror rows) were acknowledged. Whichever node owns n next subscribes to its
// global actors, which answer with their position Y, and re-reads the
// records between G and Y in a catch-up goroutine (a direct client from
// G to Y; only the keys matter), re-emitting the facts of the rows they
// changed; changes after Y arrive as notifications. Its own commits carry
// min(G, Y) until the catch-up is acknowledged, then the position of the
// last acknowledged notification. A partition never committed before
// has nothing in the sinks: it starts from Y with no catch-up. The
// metadata is a few dozen bytes per global partition, within Kafka's
// default offset.metadata.max.bytes (4096) up to about 150 partitions
// per global topic.
//
// The metadata also carries the partition's fact-version reservation: a
// minute (reservationLease) above the higher of the highest fact version
// the owner emitted and its clock. A partition emits only while the
// committed reservation exceeds that by half a minute; otherwise it
// publishes a new one and holds its input (fetching paused) until the
// commit succeeded, which a new owner does once before its first
// emission. Every version an owner wrote therefore lies below its last
// committed reservation, crash or not; the next owner sets the
// partition's clock to at least that before it emits, so its facts
// supersede the last owner's whatever their clocks say (topology/doc.go,
// "Fact versions"). A partition that read nothing yet commits its zero
// offsets with the reservation; a commit at offset 0 counts as none for
// the quiet start and the dimension catch-up.
//
// # The mirrors of the global tables
//
// Every node keeps the customers and vehicles whole, but one writes
// their mirror rows: the owner of partition 0 of the order stream, the
// mirror writer, whichever node that is (a node with no partition 0
// writes none). Partition 0 adds to the facts of each refresh, from a
// notification or its catch-up, the mirror rows of the rows refreshed,
// read from the state (state.Store.MirrorsOf: the newest version, which
// supersedes any older one in ClickHouse). Its commit metadata thus
// says which global records' mirror rows are acknowledged as well, and
// the handover is the catch-up above: the next owner of partition 0
// re-reads the records between G and Y and writes their rows again, so
// no change falls between two writers. Metadata written before this
// ("drivetrain/2") says nothing of mirror rows: partition 0 then reads
// the global topics from the start once.
//
// A partition 0 the group never committed writes every row of the
// global tables from the state (state.Store.Mirrors, mirrorChunk: a
// chunk of rows at a time as credit allows, the last versions only,
// sent late), rather than every version the topics hold: in the
// catch-up benchmark that is 100,000 vehicle rows instead of 600,000,
// each with its features document. Until the sinks acknowledged them
// all, its commits carry progress 0 for the table, so a crash meanwhile
// makes the next owner read the whole topic; the node is not idle
// meanwhile (Stats.Snapshots).
//
// # Backpressure
//
// Credits: when a partition's unacknowledged rows
// exceed MaxInflightRows, or their size (as the sinks measure rows for
// their batches) MaxInflightBytes, it pauses fetching its topic partitions
// (kgo PauseFetchPartitions, whose buffered data is dropped and fetched
// again on resume) and resumes below half of that; a partition over its
// credit also defers dimension changes and catch-up chunks, and a global
// actor stops reading while any subscriber has two notifications
// unprocessed. The poll loop stops polling while more than
// 2×MaxPollRecords records wait in partition actors' mailboxes. One batch
// of records can make many facts due (the delete of an order of 5,000
// items makes 5,000): the step builds them in shares of the credit left
// (step.Partition.MaxFacts, at least minFactChunk), the first with the
// batch's mirror rows, the rest (factChunk) as acknowledgements return
// credit, input waiting meanwhile; only the last share carries the
// batch's offsets. So with a stalled sink, memory stays bounded by the
// credits, plus one share and one poll's mirror rows per partition (a
// quiet start's chunk of orders stops taking orders once their mirror
// rows reach the credit left, so it passes it by one order's rows at
// most), plus the sinks' open batches — not by the input rate or the size
// of an order. Mailboxes are unbounded (a full bounded mailbox would
// block its sender); the bounds come from the credits.
//
// # Sinks
//
// A sink actor collects rows in a sinks.Batcher, which keeps the newest
// row (highest _version) of each output key: facts by order id, item id
// and order_date month, mirror rows by id,
// writes one batch at a time in a goroutine it owns, and acknowledges the
// tokens of a written batch to their sources. Batches are written in the
// order they were cut. Rows are sent marked late when the newest record
// they derive from (its Kafka timestamp; for a refresh, the newest of the
// global batch that caused it) was older than SinkBatch.CatchUpDelay when
// read, and always for the mirror rows partition 0 sends from the state:
// a batch of late rows may wait CatchUpDelay instead of MaxDelay, so a
// node catching up makes fewer and larger inserts. A source that runs
// out of credit sends the sinks a flush, so that it does not wait that
// long for the acknowledgements it needs. A write that fails with an error Deps.Retryable
// accepts is retried with exponential backoff (SinkRetryMin to
// SinkRetryMax) for as long as it fails, while the sources run out of
// credit and pause; any other error stops the node with ErrSinkFailed.
//
// # Bad records
//
// Records that cannot be decoded (the debezium.ErrorKind names:
// malformed_json, unknown_op, missing_field, type_mismatch, out_of_range,
// oversized, wrong_table, …), that the join rules reject (invalid_change)
// or that sit on another partition than their order's (misrouted) go to the
// dead-letter topic (DLQTopic, <prefix>.drivetrain.dlq by default,
// created when missing) with their original key, value and headers plus
// error.kind, error.detail, source.topic, source.partition and
// source.offset headers. A node creates the topic with max.message.bytes
// of 8 MiB; a record too large for the topic it finds is written with the
// first bytes of its value that fit and an error.value_truncated_bytes
// header giving its size. A record is dead-lettered once per offset: at
// start a node reads the topic's source.* headers and does not write
// those records again, whether it reads them again after a restart, on a
// new state directory (the global tables are read from the start) or in
// another group (a replay); only two nodes that find the same new bad
// record at once may both write it.
// They are counted per kind (Node.Stats), logged once per kind, and
// processing goes on. Tombstones, heartbeats and
// transaction records are skipped. If the dead-letter topic cannot take
// a record, the node stops (ErrDeadLetter) rather than drop it.
//
// # Supervision
//
// Every actor is spawned under a guardian whose decider stops the actor
// and stops the node (ErrActorFailed) whatever the panic: an actor that
// panicked broke an invariant, and restarting it would lose the
// acknowledgements it tracks, so the node exits and resumes from its
// committed offsets, the recovery path the tests exercise. Transient
// failures never reach the supervisor: sink writes are retried by the
// sink actor, and the Kafka clients retry on their own. Errors from the
// state store, the co-partitioning check and permanent sink errors stop
// the node with an error naming the cause. After a fatal error the
// actors process no more input, so that no later acknowledgement lets a
// commit pass the record that failed.
//
// # Shutdown
//
// When ctx ends: the poll loop stops polling; leaving the group revokes
// every partition, which drains it (final sink flush) and commits what
// the sinks acknowledged; the global actors stop reading and wait for
// their dead letters to be written (so their stored offsets are as far
// as possible); then the actors stop, the dead-letter producer flushes
// and closes, the actor system stops, the goroutines that read the state
// end (the checkpoints' included), and the state store closes, writing
// what was staged since the last checkpoint. Each wait is bounded by
// DrainTimeout.
//
// # Logging
//
// Child loggers carry component (group, partition, global, sink, dlq,
// kafka, pebble, protoactor) and partition, table and topic fields.
// franz-go's log lines are routed into zerolog by a small adapter (its
// kzerolog plugin is not available at a compatible version), its Info at
// Debug; protoactor's log/slog lines by a slog handler, its Info at
// Debug; Pebble's through state.Options.Logger.
package actors
