package pipeline

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
)

// Options shape a Pipeline. The zero value is the benchmark of the issue:
// 1,000,000 customers, 100,000 vehicles, 200,000 base orders, six
// partitions, schemas on, groups of 100 records per state batch, commits
// not synced.
type Options struct {
	// Dir holds the Pebble state; default a new temporary directory,
	// removed by Close.
	Dir string
	// Customers and Vehicles size the global tables; defaults 1,000,000
	// and 100,000.
	Customers, Vehicles int
	// Orders is the number of base orders loaded with the snapshot, each
	// with 1-3 items (2 on average) and one approved payment; default
	// 200,000; negative for none.
	Orders int
	// Partitions is the order stream's partition count (the customers and
	// vehicles topics have as many); default 6.
	Partitions int
	// Group is the number of records of one topic scope (a partition of the
	// order stream, or the global tables) processed in one state batch, as
	// a partition actor handles a fetch; default 100. Use 1 for a batch per
	// record.
	Group int
	// SetupGroup is Group for the snapshot load; default 2,000.
	SetupGroup int
	// Window is the number of recent orders that streaming updates pick
	// from; default 50,000.
	Window int
	// SchemasOff renders records without the schema envelope (JSON
	// converter schemas.enable=false).
	SchemasOff bool
	// Sync syncs every commit to the write-ahead log, as a node does by
	// default (state_no_sync: false). Default off: the benchmark measures
	// CPU, and a single goroutine cannot overlap syncs the way several
	// partition actors do.
	Sync bool
	// CheckpointInterval, when positive, runs the state as a node does
	// (processor.checkpoint_interval): batches are staged in memory
	// (state.Batch.Stage) and a checkpoint (state.Store.Flush) writes them
	// to Pebble at this interval, its time counted as commit time. Zero:
	// every batch is committed to Pebble, as a node with checkpoints off.
	CheckpointInterval time.Duration
	// CheckpointWrite is how the checkpoints, and with "flush" every
	// commit, reach the disk (state.Options.CheckpointWrite,
	// processor.state_checkpoint_write): "wal" (the default), "flush" or
	// "ingest".
	CheckpointWrite state.CheckpointWrite
	// Seed seeds the workload; default 1.
	Seed uint64
	// BlockCacheBytes, DimensionCacheBytes and OrderCacheBytes are
	// state.Options'; zero keeps state's defaults (16 MiB, 512 MiB, 32 MiB
	// per partition).
	BlockCacheBytes, DimensionCacheBytes, OrderCacheBytes int64
	// PhaseTiming times the processing step apart from the commits (two
	// clock reads per batch), for Stats.StepTime.
	PhaseTiming bool
	// TraceStore counts and times every call of the join rules into state
	// (Pipeline.Trace); each call then costs two clock reads more.
	TraceStore bool
	// Sink receives each batch's output after its commit; default a
	// CountingSink. The Output is reset afterwards: a Sink must copy what
	// it keeps.
	Sink Sink
}

// Defaults of Options.
const (
	DefaultCustomers  = 1_000_000
	DefaultVehicles   = 100_000
	DefaultOrders     = 200_000
	DefaultPartitions = 6
	DefaultGroup      = 100
	DefaultSetupGroup = 2_000
	DefaultWindow     = 50_000
	topicPrefix       = "ecommerce"
)

func (o *Options) setDefaults() {
	if o.Customers == 0 {
		o.Customers = DefaultCustomers
	}
	if o.Vehicles == 0 {
		o.Vehicles = DefaultVehicles
	}
	if o.Orders == 0 {
		o.Orders = DefaultOrders
	}
	if o.Partitions == 0 {
		o.Partitions = DefaultPartitions
	}
	if o.Group == 0 {
		o.Group = DefaultGroup
	}
	if o.SetupGroup == 0 {
		o.SetupGroup = DefaultSetupGroup
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Sink == nil {
		o.Sink = &CountingSink{}
	}
}

// ErrInvalidOptions is wrapped by the errors of Options.Validate.
var ErrInvalidOptions = errors.New("invalid pipeline options")

// Validate reports the first invalid field, by name.
func (o Options) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"Customers", o.Customers}, {"Vehicles", o.Vehicles}, {"Partitions", o.Partitions},
		{"Group", o.Group}, {"SetupGroup", o.SetupGroup}, {"Window", o.Window},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s %d is negative", ErrInvalidOptions, f.name, f.v)
		}
	}
	if o.BlockCacheBytes < 0 {
		return fmt.Errorf("%w: BlockCacheBytes %d is negative", ErrInvalidOptions, o.BlockCacheBytes)
	}
	if !o.CheckpointWrite.Valid() {
		return fmt.Errorf("%w: CheckpointWrite %q is not one of %s", ErrInvalidOptions, o.CheckpointWrite, state.CheckpointWritesText())
	}
	return nil
}

// Sink receives the rows of a committed batch.
type Sink interface {
	Consume(mirrors []topology.Mirror, facts []topology.Fact)
}

// CountingSink counts rows and discards them. Not safe for concurrent use.
type CountingSink struct {
	Facts, FactDeletes, Mirrors int64
}

// Consume implements Sink.
func (s *CountingSink) Consume(mirrors []topology.Mirror, facts []topology.Fact) {
	s.Mirrors += int64(len(mirrors))
	s.Facts += int64(len(facts))
	for i := range facts {
		if facts[i].Deleted {
			s.FactDeletes++
		}
	}
}

// Stats are the counters of a Pipeline's streaming phase (the snapshot
// load is not counted).
type Stats struct {
	Events  int64 // records processed
	Bytes   int64 // their key and value bytes
	Facts   int64 // fact rows emitted (deletes included)
	Mirrors int64 // mirror rows emitted
	// Batches counts state commits of partitions (a global fetch's
	// refreshes commit once per partition); GlobalBatches those of the
	// global tables.
	Batches, GlobalBatches int64
	// Checkpoints counts the checkpoints written (Options.CheckpointInterval),
	// CheckpointTime the time they took (part of CommitTime).
	Checkpoints    int64
	CheckpointTime time.Duration
	// GenerateTime is spent rendering the records (not part of the
	// pipeline); CommitTime in state commits; StepTime in the processing
	// step (decoding, join rules, state batch writes, building facts),
	// only with Options.PhaseTiming.
	GenerateTime, CommitTime, StepTime time.Duration
}

// Sub returns s - t.
func (s Stats) Sub(t Stats) Stats {
	return Stats{
		Events: s.Events - t.Events, Bytes: s.Bytes - t.Bytes, Facts: s.Facts - t.Facts, Mirrors: s.Mirrors - t.Mirrors,
		Batches: s.Batches - t.Batches, GlobalBatches: s.GlobalBatches - t.GlobalBatches, Checkpoints: s.Checkpoints - t.Checkpoints,
		GenerateTime: s.GenerateTime - t.GenerateTime, CommitTime: s.CommitTime - t.CommitTime,
		CheckpointTime: s.CheckpointTime - t.CheckpointTime, StepTime: s.StepTime - t.StepTime,
	}
}

// record is a generated Kafka record; its bytes are spans of its fetch's
// buffer.
type record struct {
	table                topology.Table
	partition            int32
	offset               int64
	keyStart, valueStart int32
	end                  int32
}

// fetch is what one actor receives at once: records of one scope (an
// order-stream partition, or the global tables), in offset order per
// topic partition.
type fetch struct {
	scope int32 // partition number, or globalScope
	recs  []record
	buf   []byte
	ready bool
}

const globalScope = -1

// refreshIDs are the rows of a global table a global batch changed.
type refreshIDs struct {
	table topology.Table
	ids   []int64
}

// Pipeline drives generated Debezium records through decoding, the join
// rules and a Pebble state, in process and on one goroutine: the work of
// a node's partition and global-table actors without actors and Kafka.
// Not safe for concurrent use.
type Pipeline struct {
	opts    Options
	dir     string
	tempDir bool
	fs      *countingFS
	store   *state.Store
	parts   []*state.Partition
	gen     *generator
	dec     *step.Decoder
	steps   []*step.Partition
	global  step.Global
	recs    []step.Record
	decoded []step.Decoded
	fetches []fetch // partitions 0…n-1, then the global fetch
	ready   []int   // fetches to process, in the order they filled
	refresh []refreshIDs
	gnext   [numTables][]int64 // per global topic partition: next offset, 0 if untouched
	group   int
	setup   bool
	stats   Stats
	trace   StoreTrace
	closed  bool
	// checkpointAt is when the last checkpoint was written.
	checkpointAt time.Time
}

// Open creates the state and the workload. Call Load next.
func Open(opts Options) (*Pipeline, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	p := &Pipeline{opts: opts, dir: opts.Dir, group: opts.Group}
	if p.dir == "" {
		dir, err := os.MkdirTemp("", "drivetrain-pipeline-*")
		if err != nil {
			return nil, fmt.Errorf("creating state directory: %w", err)
		}
		p.dir, p.tempDir = dir, true
	}
	p.fs = &countingFS{FS: vfs.Default}
	st, err := state.Open(p.dir, state.Options{
		FS:                  p.fs,
		BlockCacheBytes:     opts.BlockCacheBytes,
		DimensionCacheBytes: opts.DimensionCacheBytes,
		OrderCacheBytes:     opts.OrderCacheBytes,
		NoSync:              !opts.Sync,
		CheckpointWrite:     opts.CheckpointWrite,
		Logger:              quietLogger{},
	})
	if err != nil {
		return nil, errors.Join(err, p.removeDir())
	}
	p.store = st
	r, err := newRenderer(topicPrefix, "ecommerce", !opts.SchemasOff)
	if err != nil {
		return nil, errors.Join(err, p.Close())
	}
	p.gen = newGenerator(r, opts.Seed, int64(opts.Customers), int64(opts.Vehicles), int64(max(opts.Orders, 0)), int32(opts.Partitions), opts.Window)
	p.dec = step.NewDecoder(debezium.Options{TopicPrefix: topicPrefix, SkipUpdateBefore: true}) // as the actors decode
	p.fetches = make([]fetch, opts.Partitions+1)
	for i := range p.fetches {
		p.fetches[i].scope = int32(i)
	}
	p.fetches[opts.Partitions].scope = globalScope
	topics := [3]string{r.topic(topology.TableOrders), r.topic(topology.TableOrderItems), r.topic(topology.TablePayments)}
	for i := 0; i < opts.Partitions; i++ {
		p.parts = append(p.parts, st.Partition(int32(i)))
		dec := step.NewDecoder(debezium.Options{TopicPrefix: topicPrefix, SkipUpdateBefore: true})
		p.steps = append(p.steps, step.NewPartition(int32(i), int32(opts.Partitions), topics, dec))
	}
	for _, t := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		p.gnext[t] = make([]int64, opts.Partitions)
	}
	return p, nil
}

// quietLogger drops Pebble's informational lines (a line per flush and
// compaction would drown the benchmark's output).
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}

// Options returns the options in effect (defaults applied).
func (p *Pipeline) Options() Options { return p.opts }

// Dir returns the state directory.
func (p *Pipeline) Dir() string { return p.dir }

// Load loads the snapshot: every customer and vehicle, then the base
// orders with their items and payments, as snapshot reads (op r) through
// the same decoding and join rules, without emitting rows (as a node
// rebuilding its state does), in groups of Options.SetupGroup records.
func (p *Pipeline) Load() error {
	p.setup, p.group = true, p.opts.SetupGroup
	defer func() { p.setup, p.group = false, p.opts.Group }()
	for !p.gen.snapshotDone() {
		p.gen.nextSnapshot(p)
		if err := p.processReady(); err != nil {
			return err
		}
	}
	if err := p.Flush(); err != nil {
		return err
	}
	// Streaming fetches are much smaller: let the snapshot's buffers go.
	for i := range p.fetches {
		p.fetches[i].recs, p.fetches[i].buf = nil, nil
	}
	return nil
}

// Step generates records until a fetch is full and processes it. It
// returns the number of records generated, which over many steps is the
// number processed.
func (p *Pipeline) Step() (int, error) {
	start := time.Now()
	n := 0
	for len(p.ready) == 0 {
		p.gen.next(p)
		n++
	}
	p.stats.GenerateTime += time.Since(start)
	return n, p.processReady()
}

// Run processes at least n streaming records (whole fetches).
func (p *Pipeline) Run(n int64) error {
	for done := int64(0); done < n; {
		k, err := p.Step()
		if err != nil {
			return err
		}
		done += int64(k)
	}
	return nil
}

// Flush processes the partly filled fetches.
func (p *Pipeline) Flush() error {
	for i := range p.fetches {
		if f := &p.fetches[i]; len(f.recs) > 0 && !f.ready {
			f.ready = true
			p.ready = append(p.ready, i)
		}
	}
	return p.processReady()
}

// Configure changes, between runs, how the streaming records are
// rendered and grouped: it flushes the fetches in progress, then renders
// records with or without the schema envelope and groups group records
// per state batch (0 keeps the current size). Benchmarks use it to share
// one loaded state.
func (p *Pipeline) Configure(schemasOff bool, group int) error {
	if group < 0 {
		return fmt.Errorf("%w: group %d is negative", ErrInvalidOptions, group)
	}
	if err := p.Flush(); err != nil {
		return err
	}
	p.opts.SchemasOff = schemasOff
	p.gen.r.schemas = !schemasOff
	if group > 0 {
		p.opts.Group, p.group = group, group
	}
	return nil
}

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats { return p.stats }

// Trace returns the store calls counted so far (Options.TraceStore),
// snapshot load included.
func (p *Pipeline) Trace() StoreTrace { return p.trace }

func (p *Pipeline) partitionStore(b *state.Batch) step.Store {
	if p.opts.TraceStore {
		return tracedStore{tracedPartition{b, &p.trace}, b}
	}
	return b
}

// DiskWrites returns the bytes Pebble wrote since Open.
func (p *Pipeline) DiskWrites() DiskWrites { return p.fs.writes() }

// Store returns the state store.
func (p *Pipeline) Store() *state.Store { return p.store }

// Close closes the state and removes it if Open created its directory.
// Idempotent.
func (p *Pipeline) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	var err error
	if p.store != nil {
		err = p.store.Close()
	}
	return errors.Join(err, p.removeDir())
}

func (p *Pipeline) removeDir() error {
	if !p.tempDir {
		return nil
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("removing state directory: %w", err)
	}
	return nil
}

// buffer implements emitter.
func (p *Pipeline) buffer(t topology.Table, partition int32) []byte {
	return p.fetches[p.scopeOf(t, partition)].buf
}

// emit implements emitter.
func (p *Pipeline) emit(t topology.Table, partition int32, offset int64, buf []byte, keyStart, valueStart int) {
	i := p.scopeOf(t, partition)
	f := &p.fetches[i]
	f.buf = buf
	f.recs = append(f.recs, record{
		table: t, partition: partition, offset: offset,
		keyStart: int32(keyStart), valueStart: int32(valueStart), end: int32(len(buf)),
	})
	if len(f.recs) >= p.group && !f.ready {
		f.ready = true
		p.ready = append(p.ready, i)
	}
}

func (p *Pipeline) scopeOf(t topology.Table, partition int32) int {
	if t.Global() {
		return len(p.fetches) - 1
	}
	return int(partition)
}

func (p *Pipeline) processReady() error {
	// Processing generates nothing, so p.ready does not grow meanwhile.
	for _, i := range p.ready {
		f := &p.fetches[i]
		var err error
		if f.scope == globalScope {
			err = p.processGlobal(f)
		} else {
			err = p.processPartition(f)
		}
		f.recs, f.buf, f.ready = f.recs[:0], f.buf[:0], false
		if err != nil {
			p.ready = p.ready[:0]
			return err
		}
	}
	p.ready = p.ready[:0]
	if p.checkpointing() && time.Since(p.checkpointAt) >= p.opts.CheckpointInterval {
		p.checkpointAt = time.Now()
		commit0 := p.stats.CommitTime
		if err := p.commit(p.store.Flush); err != nil {
			return err
		}
		p.stats.Checkpoints++
		p.stats.CheckpointTime += p.stats.CommitTime - commit0
	}
	return nil
}

// checkpointing reports whether batches are staged until a checkpoint
// (Options.CheckpointInterval); the snapshot load commits them.
func (p *Pipeline) checkpointing() bool { return p.opts.CheckpointInterval > 0 && !p.setup }

// save returns how a batch is written: staged, or committed.
func (p *Pipeline) save(b *state.Batch) func() error {
	if p.checkpointing() {
		return b.Stage
	}
	return b.Commit
}

// mode returns how the step runs: without emitting while loading the
// snapshot.
func (p *Pipeline) mode() step.Mode {
	if p.setup {
		return step.Replay
	}
	return step.Emit
}

// records returns the records of f as the step reads them.
func (p *Pipeline) records(f *fetch) []step.Record {
	p.recs = p.recs[:0]
	for i := range f.recs {
		r := &f.recs[i]
		p.recs = append(p.recs, step.Record{
			Topic: p.gen.r.topic(r.table), Partition: r.partition, Offset: r.offset,
			Key: f.buf[r.keyStart:r.valueStart], Value: f.buf[r.valueStart:r.end],
		})
	}
	return p.recs
}

// processPartition runs the production processing step on a fetch of one
// order-stream partition in one state batch, with the offsets it reaches,
// and hands the rows to the sink after the commit.
func (p *Pipeline) processPartition(f *fetch) error {
	b := p.parts[f.scope].NewBatch()
	var t0 time.Time
	if p.opts.PhaseTiming {
		t0 = time.Now()
	}
	res, err := p.steps[f.scope].Records(p.partitionStore(b), p.records(f), p.mode(), uint64(time.Now().UnixNano()))
	if err == nil && len(res.Bad) > 0 {
		err = fmt.Errorf("%s offset %d: %w", p.recs[res.Bad[0].Index].Topic, p.recs[res.Bad[0].Index].Offset, &res.Bad[0].BadRecord)
	}
	if err != nil {
		return errors.Join(err, b.Close())
	}
	if p.opts.PhaseTiming {
		p.stats.StepTime += time.Since(t0)
	}
	if err := p.commit(p.save(b)); err != nil {
		return err
	}
	p.account(f, false, res.Mirrors, res.Facts)
	return nil
}

// processGlobal runs the global step on a fetch of the global tables in
// one batch, then refreshes the facts of every partition that join the
// changed rows, one batch per partition recording the global offsets it
// has caught up with.
func (p *Pipeline) processGlobal(f *fetch) error {
	g := p.store.NewGlobalBatch()
	var s topology.GlobalStore = g
	if p.opts.TraceStore {
		s = tracedGlobal{g, &p.trace}
	}
	var t0 time.Time
	if p.opts.PhaseTiming {
		t0 = time.Now()
	}
	recs := p.records(f)
	p.refresh = p.refresh[:0]
	var mirrors []topology.Mirror
	// The global actors apply one table each; so does the step here.
	for _, t := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		p.decoded = p.decoded[:0]
		for i := range f.recs {
			if f.recs[i].table != t {
				continue
			}
			p.decoded = append(p.decoded, step.Decoded{})
			d := &p.decoded[len(p.decoded)-1]
			d.OK, d.Err = p.dec.Decode(&recs[i], true, &d.Change)
			p.gnext[t][f.recs[i].partition] = f.recs[i].offset + 1
		}
		if len(p.decoded) == 0 {
			continue
		}
		res, err := p.global.Apply(s, p.decoded, !p.setup)
		if err == nil && len(res.Bad) > 0 {
			err = fmt.Errorf("%s: %w", t, &res.Bad[0].BadRecord)
		}
		if err != nil {
			return errors.Join(err, g.Close())
		}
		mirrors = append(mirrors, res.Mirrors...)
		p.refresh = append(p.refresh, refreshIDs{t, res.Changed})
	}
	clear(p.decoded)
	if p.opts.PhaseTiming {
		p.stats.StepTime += time.Since(t0)
	}
	if err := p.setGlobalOffsets(g.SetOffset); err != nil {
		return errors.Join(err, g.Close())
	}
	saveGlobal := g.Commit
	if p.checkpointing() {
		saveGlobal = g.Stage
	}
	if err := p.commit(saveGlobal); err != nil {
		return err
	}
	p.account(f, true, mirrors, nil)
	if !p.setup {
		for i, part := range p.parts {
			if err := p.refreshPartition(part, p.steps[i]); err != nil {
				return err
			}
		}
	}
	for _, t := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		clear(p.gnext[t])
	}
	return nil
}

func (p *Pipeline) refreshPartition(part *state.Partition, st *step.Partition) error {
	b := part.NewBatch()
	s := p.partitionStore(b)
	now := uint64(time.Now().UnixNano())
	var t0 time.Time
	if p.opts.PhaseTiming {
		t0 = time.Now()
	}
	var mirrors []topology.Mirror
	var facts []topology.Fact
	for _, r := range p.refresh {
		res, err := st.Refresh(s, r.table, r.ids, now)
		if err != nil {
			return errors.Join(fmt.Errorf("refreshing partition %d for %s: %w", part.ID(), r.table, err), b.Close())
		}
		mirrors, facts = append(mirrors, res.Mirrors...), append(facts, res.Facts...)
	}
	if p.opts.PhaseTiming {
		p.stats.StepTime += time.Since(t0)
	}
	if err := p.setGlobalOffsets(b.SetOffset); err != nil {
		return errors.Join(err, b.Close())
	}
	if err := p.commit(p.save(b)); err != nil {
		return err
	}
	p.account(nil, false, mirrors, facts)
	return nil
}

func (p *Pipeline) setGlobalOffsets(set func(topic string, partition int32, next int64) error) error {
	for _, t := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		for part, n := range p.gnext[t] {
			if n > 0 {
				if err := set(p.gen.r.topic(t), int32(part), n); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (p *Pipeline) commit(commit func() error) error {
	start := time.Now()
	err := commit()
	p.stats.CommitTime += time.Since(start)
	return err
}

// account counts a committed batch (of fetch f, nil for a refresh) and
// hands its rows to the sink.
func (p *Pipeline) account(f *fetch, global bool, mirrors []topology.Mirror, facts []topology.Fact) {
	if p.setup {
		return
	}
	if global {
		p.stats.GlobalBatches++
	} else {
		p.stats.Batches++
	}
	if f != nil {
		p.stats.Events += int64(len(f.recs))
		p.stats.Bytes += int64(len(f.buf))
	}
	p.stats.Facts += int64(len(facts))
	p.stats.Mirrors += int64(len(mirrors))
	p.opts.Sink.Consume(mirrors, facts)
}

// tracedStore is a traced partition store with the batch's offsets.
type tracedStore struct {
	tracedPartition
	b *state.Batch
}

func (t tracedStore) SetOffset(topic string, partition int32, next int64) error {
	return t.b.SetOffset(topic, partition, next)
}
