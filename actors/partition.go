package actors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
)

// phase is a partition actor's state.
type phase uint8

const (
	// phaseRecovering replays, without emitting, the records below the
	// group's committed offsets that the local state lacks.
	phaseRecovering phase = iota
	// phaseSubscribing waits for the global actors' positions.
	phaseSubscribing
	// phaseRunning applies records and dimension changes and emits.
	phaseRunning
	// phaseDraining takes no more input and waits for acknowledgements.
	phaseDraining
)

var phaseNames = [...]string{"recovering", "subscribing", "running", "draining"}

func (p phase) String() string { return phaseNames[p] }

// partitionPlan is how a partition actor starts, decided when its topic
// partitions are assigned (see Node.adjustOffsets).
type partitionPlan struct {
	n int32
	// start is where fetching starts in each order-stream topic: the
	// lower of the stored and the committed offset.
	start [3]int64
	// committed holds the group's committed offsets (0 when none):
	// records below them are already reflected in the sinks and are
	// applied without emitting.
	committed [3]int64
	// hasCommit is false when the group never committed the partition:
	// nothing of it has reached the sinks.
	hasCommit bool
	// progress is the committed offsets' metadata (progressOK when it
	// parsed): how far the facts in the sinks reflect the global tables.
	progress   globalProgress
	progressOK bool
	// quiet: the group never committed the partition (nothing of it is
	// in the sinks) or it is far behind its commits; the records from the
	// committed offsets to quietTo (the end offsets at assignment) are
	// applied without emitting, and the state of every order they
	// touched is emitted once after (the quiet start).
	quiet   bool
	quietTo [3]int64
}

// pmark is the progress a partition actor reaches once a unit is
// acknowledged.
type pmark struct {
	order    [3]int64 // next offsets after the unit, when hasOrder
	hasOrder bool
	table    topology.Table // refresh units: the global table refreshed
	through  positions      // notification units: the global actor's position
	catchUp  bool           // the last catch-up chunk of table
}

// partitionActor owns one partition number n of the order stream:
// partition n of orders, order_items and payments, and partition n's
// range of the state. See the package doc for its life cycle.
type partitionActor struct {
	env    *env
	plan   partitionPlan
	tps    [3]string
	source int32
	log    zerolog.Logger

	self  *actor.PID
	step  *step.Partition
	recs  []step.Record // the batch being processed, as the step reads it
	part  *state.Partition
	phase phase
	track tracker[pmark]

	reached        [3]bool
	held           []*kgo.Record // fetched at or past the committed offsets while recovering
	recoveryPaused [3]bool
	creditPaused   bool
	paused         [3]bool // as last told to the client

	committable [3]int64
	// hwm is the highest fact version the partition emitted, or the
	// version reserved by the commit metadata it started from. published
	// is the highest reservation it published, reserved the highest one
	// committed (see reservationLease); awaiting says input waits for a
	// reservation to be committed.
	hwm, published, reserved uint64
	awaiting                 bool
	subscribed               map[topology.Table]positions
	startG                   globalProgress // progress the sinks are known to reflect at start
	notified                 globalProgress // position of the last acknowledged notification
	catchingUp               map[topology.Table]bool

	queued        []any // dimensionsChanged, catchUpRead and stateChunk waiting to run
	cancelCatchUp context.CancelFunc
	drainDone     chan struct{}
	fetched       int64 // records received, for the stop log

	// The quiet start (partitionPlan.quiet): the orders the quiet records
	// touched, their bad records, the newest Kafka timestamp among them,
	// and whether the state chunks are being emitted (records wait).
	touched       map[int64]struct{}
	quietBad      []*deadLetter
	quietWritten  time.Time
	quietNext     [3]int64 // next offset after the last quiet record, per topic
	emittingState bool
	// chunking: a call's facts are emitted in shares as credit allows
	// (factChunk at the head of queued); records wait meanwhile.
	chunking bool
	// sendingMirrors holds the global tables whose mirror rows the
	// partition, as the mirror writer, sends from the state (mirrorChunk)
	// and the sinks have not all acknowledged.
	sendingMirrors map[topology.Table]bool
}

// mirrorWriter reports whether the partition writes the mirror rows of
// the global tables: partition 0 does, on whichever node owns it (see
// the package doc, "The mirrors of the global tables").
func (p *partitionActor) mirrorWriter() bool { return p.plan.n == 0 }

// mirrorChunk is the next share of a global table's mirror rows that the
// mirror writer sends from the state: the rows with ids above after.
type mirrorChunk struct {
	table topology.Table
	after int64
}

// mirrorChunkRows is how many mirror rows one mirrorChunk sends.
const mirrorChunkRows = 1000

// longAgo is the Kafka timestamp the mirror rows sent from the state are
// given: the last versions of rows, history by nature, late for the
// sinks (sinks.BatchConfig.Late).
var longAgo = time.Unix(1, 0)

// factChunk is the rest of a call's facts (step.Result.More), emitted as
// credit allows; the last share carries mark, and then runs after it.
type factChunk struct {
	mark    pmark
	written time.Time
	then    func()
}

// minFactChunk is the fewest facts a share holds, so that a partition
// over its credit still makes progress.
const minFactChunk = 1000

// stateChunk is a share of the orders a quiet start emits from the
// state; the last one carries the offsets the quiet records reached.
type stateChunk struct {
	ids  []int64
	last bool
}

// Quiet start bounds.
const (
	// stateChunkOrders is how many orders one stateChunk emits.
	stateChunkOrders = 500
	// quietMaxOrders bounds the orders a quiet start remembers (about 36
	// bytes each, 9 MiB at the bound): at the bound, it ends early and
	// the records after are emitted one by one.
	quietMaxOrders = 1 << 18
	// quietMinBacklog is the backlog, in records of the three topics
	// beyond the committed offsets, above which a partition that has
	// commits starts quietly (a partition without starts quietly
	// whatever its backlog): about a second of a partition's catch-up.
	quietMinBacklog = 20_000
)

// quietBacklog returns the backlog above which a partition with commits
// starts quietly.
func (c *Config) quietBacklog() int64 {
	if c.quietMinBacklog > 0 {
		return c.quietMinBacklog
	}
	return quietMinBacklog
}

// quietOrders returns how many orders a quiet start remembers.
func (c *Config) quietOrders() int {
	if c.quietMaxOrders > 0 {
		return c.quietMaxOrders
	}
	return quietMaxOrders
}

func newPartitionActor(e *env, plan partitionPlan) *partitionActor {
	return &partitionActor{env: e, plan: plan, tps: e.topics.orderStream(), source: e.nextSource.Add(1)}
}

// Receive implements actor.Actor.
func (p *partitionActor) Receive(c actor.Context) {
	if p.env.failed.Load() {
		// The node is stopping on a fatal error: process nothing more,
		// so that no later record's acknowledgement lets a commit pass
		// the record that failed.
		switch m := c.Message().(type) {
		case *recordsFetched:
			p.env.recordsDone(len(m.records))
			return
		case *catchUpRead:
			close(m.done)
			return
		case *dimensionsChanged, *subscribed:
			return
		}
	}
	switch m := c.Message().(type) {
	case *actor.Started:
		p.start(c)
	case *recordsFetched:
		defer p.env.recordsDone(len(m.records))
		defer p.noteWork(false)
		p.fetched += int64(len(m.records))
		switch p.phase {
		case phaseRecovering:
			p.recover(m.records)
		case phaseSubscribing:
			p.held = append(p.held, m.records...)
		case phaseRunning:
			if p.emittingState || p.chunking {
				p.held = append(p.held, m.records...)
			} else {
				p.process(m.records)
			}
		}
	case *subscribed:
		if p.phase != phaseSubscribing {
			return
		}
		p.subscribed[m.table] = m.through
		if len(p.subscribed) == len(p.env.globals) {
			p.run()
		}
	case *dimensionsChanged:
		if p.phase == phaseDraining {
			return
		}
		p.queued = append(p.queued, m)
		p.runQueued()
		p.noteWork(false)
	case *catchUpRead:
		if p.phase == phaseDraining {
			close(m.done)
			return
		}
		p.queued = append(p.queued, m)
		p.runQueued()
	case *catchUpFailed:
		if p.phase != phaseDraining {
			p.env.fail(fmt.Errorf("catching partition %d up with the global tables: %w", p.plan.n, m.err))
		}
	case *rowsWritten:
		p.track.ack(m.out, m.seq)
		p.reachedUnits()
	case *reservationCommitted:
		p.reserved = max(p.reserved, m.version)
		if p.awaiting && p.mayEmit(p.env.clock()) {
			p.awaiting = false
			p.applyPause()
			if p.phase == phaseRunning && !p.emittingState {
				p.takeHeld()
			}
			p.runQueued()
		}
	case *deadLetterWritten:
		p.track.deadLetterDone(m.seq)
		p.reachedUnits()
	case *drain:
		p.startDrain(m.done)
	case *actor.Stopping:
		p.stop()
	}
}

func (p *partitionActor) start(c actor.Context) {
	p.self = c.Self()
	p.log = p.env.log.With().Str("component", "partition").Int32("partition", p.plan.n).Logger()
	dec := newDecoder(p.env.cfg.TopicPrefix, p.env.cfg.MaxRecordBytes, p.log, nil, false)
	p.step = step.NewPartition(p.plan.n, p.env.orderPartitions, p.tps, dec.Decoder)
	p.part = p.env.store.Partition(p.plan.n)
	if !p.startClock() {
		return
	}
	p.committable = p.plan.committed
	p.subscribed = map[topology.Table]positions{}
	p.catchingUp = map[topology.Table]bool{}
	p.sendingMirrors = map[topology.Table]bool{}
	p.env.board.setProgress(p.plan.n, p.progress())
	for i := range p.tps {
		p.reached[i] = p.plan.start[i] >= p.until(i)
	}
	if p.plan.quiet {
		p.touched = map[int64]struct{}{}
	}
	p.log.Info().Ints64("start", p.plan.start[:]).Ints64("committed", p.plan.committed[:]).
		Bool("replay", !p.allReached()).Bool("quiet", p.plan.quiet).Ints64("quiet_to", p.plan.quietTo[:]).
		Uint64("version_clock", p.hwm).Msg("partition assigned")
	p.phase = phaseRecovering
	if p.allReached() {
		p.subscribe()
	}
}

// startClock sets the partition's fact-version clock to at least the
// reservation of the commit metadata: the last owner emitted no higher
// version, whatever its clock said, so every fact this node emits
// supersedes those of the last owner (see reservationLease).
func (p *partitionActor) startClock() bool {
	clock, _, err := p.part.LastFactVersion(0)
	if err != nil {
		p.env.fail(fmt.Errorf("reading the fact-version clock of partition %d: %w", p.plan.n, err))
		return false
	}
	p.hwm = clock
	if !p.plan.progressOK || p.plan.progress.version <= clock {
		return true
	}
	p.hwm, p.reserved = p.plan.progress.version, p.plan.progress.version
	b := p.part.NewBatch()
	defer b.Close()
	if err := b.SetFactVersion(0, p.hwm); err != nil {
		p.env.fail(fmt.Errorf("setting the fact-version clock of partition %d: %w", p.plan.n, err))
		return false
	}
	if err := b.Commit(); err != nil {
		p.env.fail(fmt.Errorf("committing partition %d state: %w", p.plan.n, err))
		return false
	}
	return true
}

func (p *partitionActor) allReached() bool { return p.reached[0] && p.reached[1] && p.reached[2] }

// until returns the offset of order-stream topic i below which records
// are applied without emitting: the committed one, or for a quiet start
// the end offset at assignment.
func (p *partitionActor) until(i int) int64 {
	return max(p.plan.committed[i], p.plan.quietTo[i])
}

// recover applies records below the committed offsets to state without
// emitting: the sinks already hold what they produced. A topic partition
// that reaches its committed offset is paused and its further records
// held, because emitting before every topic has caught up would compute
// facts from state that lacks the other topics' committed records, and
// those facts, newer than the ones the sinks hold, would win.
func (p *partitionActor) recover(records []*kgo.Record) {
	b := p.part.NewBatch()
	defer b.Close()
	var replay, quiet []*kgo.Record
	for _, r := range records {
		i := p.env.topics.index(r.Topic)
		if i < 0 {
			continue
		}
		switch {
		case p.reached[i] || r.Offset >= p.until(i):
			p.reached[i] = true
			p.held = append(p.held, r)
			continue
		case r.Offset < p.plan.committed[i]:
			replay = append(replay, r)
		default:
			quiet = append(quiet, r)
		}
		if r.Offset+1 >= p.until(i) {
			p.reached[i] = true
		}
	}
	// Bad records below the committed offset went to the dead-letter
	// topic when they were first processed; a quiet start's go there
	// with the state it emits.
	if _, ok := p.apply(b, replay, step.Replay, 0); !ok {
		return
	}
	res, ok := p.apply(b, quiet, step.Quiet, 0)
	if !ok {
		return
	}
	for _, id := range res.Touched {
		p.touched[id] = struct{}{}
	}
	for _, d := range res.Bad {
		p.quietBad = append(p.quietBad, &deadLetter{record: quiet[d.Index], kind: d.Kind, detail: d.Detail})
	}
	for i, next := range res.Next {
		if next > 0 {
			p.quietNext[i] = next
		}
	}
	if res.Written.After(p.quietWritten) {
		p.quietWritten = res.Written
	}
	if p.plan.quiet && len(p.touched) >= p.env.cfg.quietOrders() {
		p.endQuietEarly()
	}
	// Staged: nothing is emitted while recovering, so the batches can
	// reach Pebble together, written once per row (see state.Batch.Stage);
	// the stage is flushed before the partition emits anything.
	if !b.Empty() {
		if err := b.Stage(); err != nil {
			p.env.fail(fmt.Errorf("committing partition %d state: %w", p.plan.n, err))
			return
		}
	}
	if p.allReached() {
		if err := p.part.Flush(); err != nil {
			p.env.fail(fmt.Errorf("committing partition %d state: %w", p.plan.n, err))
			return
		}
		p.subscribe()
		return
	}
	for i := range p.tps {
		p.recoveryPaused[i] = p.reached[i]
	}
	p.applyPause()
}

func (p *partitionActor) subscribe() {
	p.phase = phaseSubscribing
	for _, pid := range p.env.globals {
		p.env.root.Send(pid, &subscribe{pid: p.self})
	}
}

// run starts emitting, once the global actors told their positions: it
// decides which dimension changes the partition's facts in the sinks may
// miss (those between the committed progress and the global actors'
// positions) and starts a catch-up goroutine that reads them again.
func (p *partitionActor) run() {
	ranges := map[topology.Table][2]positions{}
	for t, y := range p.subscribed {
		switch {
		case !p.plan.hasCommit && p.mirrorWriter():
			// Nothing of the partition is in the sinks, and the mirror
			// rows the sinks have are unknown: the mirror writer sends
			// every row of the table from state that has y.
			*p.startG.of(t) = positions{}
			p.catchingUp[t] = true
			p.sendingMirrors[t] = true
			p.env.metrics.snapshots.Add(1)
			p.queued = append(p.queued, &mirrorChunk{table: t, after: math.MinInt64})
		case !p.plan.hasCommit:
			// Nothing of the partition is in the sinks: every fact is
			// emitted from now on, from state that has y.
			*p.startG.of(t) = y.clone()
		default:
			var g positions
			if p.plan.progressOK && (p.plan.progress.mirrors || !p.mirrorWriter()) {
				// Metadata older than the mirror writer says nothing of
				// the mirror rows: the writer reads the whole topic.
				g = *p.plan.progress.of(t)
			}
			*p.startG.of(t) = g.minWith(y)
			if g.below(y) {
				ranges[t] = [2]positions{g.minWith(y), y}
				p.catchingUp[t] = true
			}
		}
		*p.notified.of(t) = y.clone()
	}
	p.phase = phaseRunning
	p.log.Info().Int("replayed", int(p.fetched)-len(p.held)).Int("catch_up_tables", len(ranges)).
		Int("quiet_orders", len(p.touched)).Msg("partition running")
	if len(ranges) > 0 {
		p.startCatchUp(ranges)
	}
	if p.plan.quiet {
		p.queueState()
	}
	if !p.emittingState {
		// A quiet start publishes nothing before its state is
		// acknowledged: without a commit, a restart starts quietly again.
		p.publish()
		p.takeHeld()
	}
	p.applyPause()
	p.runQueued()
}

// takeHeld processes the records held back while the partition could
// not emit, and lets every topic flow again; not while the facts of a
// call are due (the step refuses any other call) or the quiet start's
// state is being emitted: the share or the state chunk that ends them
// takes the held records.
func (p *partitionActor) takeHeld() {
	if p.chunking || p.emittingState {
		return
	}
	held := p.held
	p.held = nil
	p.recoveryPaused = [3]bool{}
	if len(held) > 0 {
		p.process(held)
	}
}

// queueState puts the orders a quiet start touched at the head of the
// queue, in chunks that run as credit allows; records wait, their topics
// paused, until the last chunk ran.
func (p *partitionActor) queueState() {
	ids := slices.Sorted(maps.Keys(p.touched))
	p.touched = nil
	var chunks []any
	for len(ids) > stateChunkOrders {
		chunks = append(chunks, &stateChunk{ids: ids[:stateChunkOrders]})
		ids = ids[stateChunkOrders:]
	}
	chunks = append(chunks, &stateChunk{ids: ids, last: true})
	p.queued = append(chunks, p.queued...)
	p.emittingState = true
	p.recoveryPaused = [3]bool{true, true, true}
}

// emitState emits a chunk of the quiet start's orders from the state;
// the last chunk also carries the quiet records' bad records and the
// offsets they reached, and lets the held records run.
func (p *partitionActor) emitState(c *stateChunk) {
	b := p.part.NewBatch()
	defer b.Close()
	p.step.MaxFacts = p.factBudget()
	res, err := p.step.EmitState(b, c.ids, p.env.clock())
	if err != nil {
		p.env.fail(fmt.Errorf("emitting the state of partition %d: %w", p.plan.n, err))
		return
	}
	if !b.Empty() {
		if err := p.save(b); err != nil {
			p.env.fail(fmt.Errorf("committing partition %d state: %w", p.plan.n, err))
			return
		}
	}
	if len(res.Rest) > 0 {
		// The rest of the chunk comes after this one's facts (deliver
		// queues those ahead of it).
		p.queued = append([]any{&stateChunk{ids: res.Rest, last: c.last}}, p.queued...)
		c = &stateChunk{ids: c.ids[:len(c.ids)-len(res.Rest)]}
	}
	var m pmark
	var bad []*deadLetter
	if c.last {
		m.hasOrder = true
		for i := range m.order {
			m.order[i] = p.until(i)
		}
		bad, p.quietBad = p.quietBad, nil
		p.log.Info().Ints64("offsets", m.order[:]).Msg("quiet start emitted")
	}
	var then func()
	if c.last {
		then = func() {
			p.emittingState = false
			if !p.chunking {
				p.takeHeld()
				p.applyPause()
			}
		}
	}
	p.deliver(&res, m, bad, p.quietWritten, then)
}

// endQuietEarly ends a quiet start that touched quietMaxOrders orders at
// the offsets its records reached (or where each topic started): the
// records after are emitted one by one.
func (p *partitionActor) endQuietEarly() {
	for i := range p.tps {
		if p.reached[i] {
			continue
		}
		at := p.quietNext[i]
		if at == 0 {
			at = p.plan.start[i]
		}
		p.plan.quietTo[i] = max(at, p.plan.committed[i])
		p.reached[i] = true
	}
	p.log.Info().Int("orders", len(p.touched)).Ints64("offsets", p.plan.quietTo[:]).Msg("quiet start ends early: too many orders")
}

// apply runs the processing step on records in mode, within b. It
// returns false, having failed the node, on an error: a store error, or
// a record whose order belongs to another partition (the topics are not
// co-partitioned and joining would be wrong).
func (p *partitionActor) apply(b *state.Batch, records []*kgo.Record, mode step.Mode, now uint64) (step.Result, bool) {
	if len(records) == 0 {
		return step.Result{}, true
	}
	p.recs = stepRecords(p.recs, records)
	p.step.MaxFacts = p.factBudget()
	res, err := p.step.Records(b, p.recs, mode, now)
	clear(p.recs) // the records' memory goes with them
	var mis *step.MisroutedError
	switch {
	case errors.As(err, &mis):
		p.env.fail(copartitionRecordError(mis.Run, mis.Topic, mis.Partition, mis.Offset, mis.OrderID, mis.Want))
		return res, false
	case err != nil:
		p.env.fail(fmt.Errorf("partition %d: %w", p.plan.n, err))
		return res, false
	}
	return res, true
}

// save writes the batch of a running partition, whose rows leave once it
// returns: into the partition's stage, written by the next checkpoint
// (Config.CheckpointInterval), or, without checkpoints, to Pebble. A
// crash loses what was staged; the records are read again (the package
// doc, "Checkpoints").
func (p *partitionActor) save(b *state.Batch) error {
	if p.env.cfg.CheckpointInterval > 0 {
		return b.Stage()
	}
	return b.Commit()
}

// mayEmit reports whether the committed reservation covers the
// partition's clock at now with half a lease to spare (see
// reservationLease). If not, it publishes a higher reservation, pauses
// fetching and returns false: input waits until the commit succeeded.
func (p *partitionActor) mayEmit(now uint64) bool {
	if max(p.hwm, now)+reservationLease/2 <= p.reserved {
		return true
	}
	if !p.awaiting {
		p.awaiting = true
		p.publish()
		p.applyPause()
	}
	return false
}

// process applies records to state in one batch, commits it, and hands
// what they emitted to the sinks; or holds them until a reservation
// covers the versions they would emit.
func (p *partitionActor) process(records []*kgo.Record) {
	now := p.env.clock()
	if !p.mayEmit(now) {
		p.held = append(p.held, records...)
		return
	}
	b := p.part.NewBatch()
	defer b.Close()
	res, ok := p.apply(b, records, step.Emit, now)
	if !ok {
		return
	}
	m := pmark{order: p.lastOrder(), hasOrder: true}
	for i, next := range res.Next {
		if next > 0 {
			m.order[i] = next
		}
	}
	if err := p.save(b); err != nil {
		p.env.fail(fmt.Errorf("committing partition %d state: %w", p.plan.n, err))
		return
	}
	bad := make([]*deadLetter, 0, len(res.Bad))
	for _, d := range res.Bad {
		bad = append(bad, &deadLetter{record: records[d.Index], kind: d.Kind, detail: d.Detail})
	}
	p.deliver(&res, m, bad, res.Written, nil)
}

// factBudget returns how many facts the next step call may build: the
// credit left, and at least minFactChunk (or the whole credit when that
// is smaller).
func (p *partitionActor) factBudget() int {
	limit := p.env.cfg.MaxInflightRows
	return max(limit-p.track.inflight, min(minFactChunk, limit))
}

// deliver emits res with mark m, or, when the step left facts due
// (res.More), emits this share without m and queues the rest ahead of
// everything else, input waiting: the last share carries m. then, if not
// nil, runs once the last share is out.
func (p *partitionActor) deliver(res *step.Result, m pmark, bad []*deadLetter, written time.Time, then func()) {
	if !res.More {
		p.emit(res, m, bad, written)
		if then != nil {
			then()
		}
		return
	}
	// Queued before emitting: emit runs the queue again (reachedUnits),
	// and nothing may run before the rest of these facts.
	p.queued = append([]any{&factChunk{mark: m, written: written, then: then}}, p.queued...)
	if !p.chunking {
		p.chunking = true
		p.recoveryPaused = [3]bool{true, true, true}
		p.applyPause()
	}
	p.emit(res, pmark{}, bad, written)
}

// continueFacts emits the next share of a call's facts.
func (p *partitionActor) continueFacts(c *factChunk) {
	b := p.part.NewBatch()
	defer b.Close()
	p.step.MaxFacts = p.factBudget()
	res, err := p.step.Continue(b, p.env.clock())
	if err != nil {
		p.env.fail(fmt.Errorf("emitting the facts of partition %d: %w", p.plan.n, err))
		return
	}
	if !b.Empty() {
		if err := p.save(b); err != nil {
			p.env.fail(fmt.Errorf("committing partition %d state: %w", p.plan.n, err))
			return
		}
	}
	if res.More {
		p.queued = append([]any{c}, p.queued...) // before emit: see deliver
		p.emit(&res, pmark{}, nil, c.written)
		return
	}
	p.chunking = false
	p.emit(&res, c.mark, nil, c.written)
	if c.then != nil {
		c.then()
	}
	if !p.emittingState {
		p.takeHeld()
		p.applyPause()
	}
}

// lastOrder returns the order offsets of the last unit, or the
// committable ones: a unit's mark holds all three.
func (p *partitionActor) lastOrder() [3]int64 {
	for i := len(p.track.units) - 1; i >= p.track.head; i-- {
		if u := &p.track.units[i]; u.mark.hasOrder {
			return u.mark.order
		}
	}
	return p.committable
}

// emit registers a unit for the rows of res and bad, and sends them.
// Rows leave only after the state batch that produced them committed:
// otherwise a crash could leave rows in the sinks that state lacks.
// written is the Kafka timestamp of the newest record they derive from
// (zero if unknown): older than the sinks' catch-up delay, they are late.
func (p *partitionActor) emit(res *step.Result, m pmark, bad []*deadLetter, written time.Time) {
	var rows [numOutputs]int
	facts := res.Facts
	rows[outFacts] = len(facts)
	for i := range facts {
		p.hwm = max(p.hwm, facts[i].Version)
	}
	var mirrors [numOutputs][]topology.Mirror
	for _, mr := range res.Mirrors {
		o := mirrorOutput(mr.Row.Table)
		mirrors[o] = append(mirrors[o], mr)
		rows[o]++
	}
	var bytes int64
	for i := range facts {
		bytes += int64(sinks.FactSize(&facts[i]))
	}
	for _, ms := range mirrors {
		bytes += mirrorBytes(ms)
	}
	seq := p.track.add(&rows, bytes, len(bad), m)
	total := 0
	for _, n := range rows {
		total += n
	}
	p.env.metrics.inflightRows.Add(int64(total))
	late := p.env.cfg.SinkBatch.Late(written, time.Now())
	if len(facts) > 0 {
		p.env.root.Send(p.env.sinks[outFacts], &writeRows[topology.Fact]{source: p.source, seq: seq, replyTo: p.self, rows: facts, late: late})
	}
	for o, ms := range mirrors {
		if len(ms) > 0 {
			p.env.root.Send(p.env.sinks[o], &writeRows[topology.Mirror]{source: p.source, seq: seq, replyTo: p.self, rows: ms, late: late})
		}
	}
	for _, d := range bad {
		d.replyTo, d.seq = p.self, seq
		p.env.root.Send(p.env.dlq, d)
	}
	p.reachedUnits()
}

// reachedUnits collects acknowledged units, publishes the offsets and
// progress they reach, and lets input flow again when credit allows.
func (p *partitionActor) reachedUnits() {
	before := p.track.inflight
	changed := false
	popped := p.track.pop(func(m pmark) {
		if m.hasOrder && m.order != p.committable {
			p.committable = m.order
			changed = true
		}
		switch {
		case m.table == topology.TableUnknown:
		case m.catchUp:
			p.catchingUp[m.table] = false
			if p.sendingMirrors[m.table] {
				delete(p.sendingMirrors, m.table)
				p.env.metrics.snapshots.Add(-1)
				p.log.Info().Stringer("table", m.table).Msg("mirror rows sent from the state")
			}
			changed = true
		case m.through != nil:
			*p.notified.of(m.table) = m.through
			changed = true
		}
	})
	p.env.metrics.inflightRows.Add(-int64(before - p.track.inflight))
	if changed {
		p.publish()
	}
	p.checkCredit()
	p.runQueued()
	p.noteWork(popped > 0)
	if p.drainDone != nil && p.track.pending() == 0 {
		close(p.drainDone)
		p.drainDone = nil
	}
}

// noteWork tells the progress board whether the running partition has
// work and whether it just made progress (see Node.Stalled).
func (p *partitionActor) noteWork(progressed bool) {
	if p.env.progress == nil {
		return
	}
	work := p.phase == phaseRunning && (p.track.pending() > 0 || len(p.held) > 0 || len(p.queued) > 0)
	p.env.progress.note(p.plan.n, time.Now(), progressed, work)
}

// progress returns how far the partition's facts in the sinks reflect
// the global tables: before the partition runs, what the committed
// metadata said; then, per table, the start (the lower of the committed
// progress and the global actor's position) until the catch-up is
// acknowledged, and the last acknowledged notification after.
func (p *partitionActor) progress() globalProgress {
	if p.phase < phaseRunning || len(p.subscribed) == 0 {
		g := globalProgress{customers: positions{}, vehicles: positions{}}
		if p.plan.progressOK {
			g = p.plan.progress
		}
		return g
	}
	var g globalProgress
	for _, t := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		if p.catchingUp[t] {
			*g.of(t) = *p.startG.of(t)
		} else {
			*g.of(t) = *p.notified.of(t)
		}
	}
	return g
}

// publish offers the committable offsets, progress and a fact-version
// reservation a lease above the partition's clock to the committer.
func (p *partitionActor) publish() {
	g := p.progress()
	p.published = max(p.published, g.version, max(p.hwm, p.env.clock())+reservationLease)
	g.version = p.published
	p.env.board.set(p.plan.n, p.committable, g.version, encodeProgress(g), p.self)
	p.env.board.setProgress(p.plan.n, g)
}

// checkCredit pauses fetching when the unacknowledged rows exceed
// MaxInflightRows and resumes it below half of that.
func (p *partitionActor) checkCredit() {
	rows, bytes := p.env.cfg.MaxInflightRows, p.env.cfg.MaxInflightBytes
	switch {
	case !p.creditPaused && p.track.over(rows, bytes):
		p.creditPaused = true
		p.log.Debug().Int("inflight", p.track.inflight).Int64("inflight_bytes", p.track.inflightBytes).Msg("paused: sinks behind")
		// Late rows may wait in the sinks' batches for CatchUpDelay:
		// have them written now rather than idle meanwhile.
		p.flushSinks()
	case p.creditPaused && !p.track.over(rows/2, bytes/2):
		p.creditPaused = false
		p.log.Debug().Int("inflight", p.track.inflight).Msg("resumed")
	default:
		return
	}
	p.applyPause()
}

func (p *partitionActor) applyPause() {
	var pause, resume []int
	for i := range p.tps {
		want := p.phase != phaseDraining && (p.creditPaused || p.recoveryPaused[i] || p.awaiting)
		if want != p.paused[i] {
			p.paused[i] = want
			if want {
				pause = append(pause, i)
			} else {
				resume = append(resume, i)
			}
		}
	}
	if p.env.fetch == nil {
		return
	}
	if len(pause) > 0 {
		p.env.fetch.PauseFetchPartitions(p.topicPartitions(pause))
	}
	if len(resume) > 0 {
		p.env.fetch.ResumeFetchPartitions(p.topicPartitions(resume))
	}
}

func (p *partitionActor) topicPartitions(idx []int) map[string][]int32 {
	m := make(map[string][]int32, len(idx))
	for _, i := range idx {
		m[p.tps[i]] = []int32{p.plan.n}
	}
	return m
}

// runQueued re-emits the facts of queued dimension changes while credit
// allows.
func (p *partitionActor) runQueued() {
	for len(p.queued) > 0 && p.phase == phaseRunning && !p.track.over(p.env.cfg.MaxInflightRows, p.env.cfg.MaxInflightBytes) && p.mayEmit(p.env.clock()) {
		q := p.queued[0]
		p.queued[0] = nil
		p.queued = p.queued[1:]
		switch m := q.(type) {
		case *dimensionsChanged:
			p.refresh(m.table, m.ids, pmark{table: m.table, through: m.through}, m.written)
			p.env.root.Send(m.from, &refreshDone{pid: p.self})
		case *catchUpRead:
			p.refresh(m.table, m.ids, pmark{table: m.table, catchUp: m.last}, time.Time{})
			close(m.done)
		case *stateChunk:
			p.emitState(m)
		case *factChunk:
			p.continueFacts(m)
		case *mirrorChunk:
			p.sendMirrors(m)
		}
	}
}

// sendMirrors sends a share of a global table's mirror rows from the
// state and queues the next; the last, empty, share carries the mark
// that ends the table's catch-up.
func (p *partitionActor) sendMirrors(c *mirrorChunk) {
	rows, last, err := p.env.store.Mirrors(c.table, c.after, mirrorChunkRows, nil)
	if err != nil {
		p.env.fail(fmt.Errorf("reading %s to send its mirror rows: %w", c.table, err))
		return
	}
	if len(rows) == 0 {
		p.emit(&step.Result{}, pmark{table: c.table, catchUp: true}, nil, time.Time{})
		// The rows are late and wait CatchUpDelay in the sink's batch,
		// unless credit runs out; the last of them are written now, since
		// the table's catch-up (and the node's idle) waits for them.
		p.env.root.Send(p.env.sinks[mirrorOutput(c.table)], &flush{})
		return
	}
	p.queued = append(p.queued, &mirrorChunk{table: c.table, after: last})
	p.emit(&step.Result{Mirrors: rows}, pmark{}, nil, longAgo)
}

// refresh re-emits the facts that join the given rows of a global table,
// changed by records up to the Kafka timestamp written (see emit).
func (p *partitionActor) refresh(t topology.Table, ids []int64, m pmark, written time.Time) {
	b := p.part.NewBatch()
	defer b.Close()
	p.step.MaxFacts = p.factBudget()
	res, err := p.step.Refresh(b, t, ids, p.env.clock())
	if err != nil {
		p.env.fail(fmt.Errorf("refreshing partition %d for %s: %w", p.plan.n, t, err))
		return
	}
	if p.mirrorWriter() {
		if res.Mirrors, err = p.env.store.MirrorsOf(t, ids, res.Mirrors); err != nil {
			p.env.fail(fmt.Errorf("reading the %s mirror rows to write: %w", t, err))
			return
		}
	}
	if !b.Empty() {
		if err := p.save(b); err != nil {
			p.env.fail(fmt.Errorf("committing partition %d state: %w", p.plan.n, err))
			return
		}
	}
	p.deliver(&res, m, nil, written, nil)
}

// flushSinks asks every sink to write its open batch, which may hold
// the partition's rows.
func (p *partitionActor) flushSinks() {
	for _, pid := range p.env.sinks {
		p.env.root.Send(pid, &flush{})
	}
}

func (p *partitionActor) startDrain(done chan struct{}) {
	p.phase = phaseDraining
	p.stopInputs()
	p.held = nil
	p.drainDone = done
	p.log.Debug().Int("pending_units", p.track.pending()).Int("inflight", p.track.inflight).Msg("draining")
	p.flushSinks()
	if p.track.pending() == 0 {
		close(done)
		p.drainDone = nil
	}
}

// stopInputs ends the catch-up, answers queued work and unsubscribes.
func (p *partitionActor) stopInputs() {
	if p.cancelCatchUp != nil {
		p.cancelCatchUp()
		p.cancelCatchUp = nil
	}
	for _, q := range p.queued {
		switch m := q.(type) {
		case *dimensionsChanged:
			p.env.root.Send(m.from, &refreshDone{pid: p.self})
		case *catchUpRead:
			close(m.done)
		}
	}
	p.queued = nil
	for _, pid := range p.env.globals {
		p.env.root.Send(pid, &unsubscribe{pid: p.self})
	}
}

func (p *partitionActor) stop() {
	if p.phase != phaseDraining {
		p.phase = phaseDraining
		p.stopInputs()
	}
	p.creditPaused = false
	p.recoveryPaused = [3]bool{}
	p.applyPause()
	p.env.metrics.inflightRows.Add(-int64(p.track.inflight))
	p.track.inflight = 0
	p.env.metrics.snapshots.Add(-int64(len(p.sendingMirrors)))
	clear(p.sendingMirrors)
	p.env.board.dropProgress(p.plan.n)
	if p.env.progress != nil {
		p.env.progress.remove(p.plan.n)
	}
	p.log.Info().Int64("records", p.fetched).Msg("partition stopped")
}

// startCatchUp reads, in a goroutine the actor owns, the global records
// of ranges (per table, from → to) and sends the ids they change in
// chunks, waiting for each to be processed.
func (p *partitionActor) startCatchUp(ranges map[topology.Table][2]positions) {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancelCatchUp = cancel
	e, root, self := p.env, p.env.root, p.self
	tables := slices.Sorted(maps.Keys(ranges))
	ev := p.log.Info()
	for t, r := range ranges {
		ev = ev.Interface(t.String(), r)
	}
	ev.Msg("catching up with dimension changes the sinks may miss")
	e.goroutines.Add(1)
	go func() {
		defer e.goroutines.Done()
		for _, t := range tables {
			r := ranges[t]
			err := readChanged(ctx, e, t, r[0], r[1], func(ids []int64, last bool) bool {
				done := make(chan struct{})
				root.Send(self, &catchUpRead{table: t, ids: ids, last: last, done: done})
				select {
				case <-done:
					return true
				case <-ctx.Done():
					return false
				}
			})
			if err != nil {
				if ctx.Err() == nil {
					root.Send(self, &catchUpFailed{err: err})
				}
				return
			}
		}
	}()
}

// catchUpChunk is how many ids a catch-up sends at once.
const catchUpChunk = 1000

// readChanged reads the records of table's topic from → to (next
// offsets per partition) and calls send with the ids of the rows they
// change, in chunks, the last one with last set. send returns false to
// stop.
func readChanged(ctx context.Context, e *env, t topology.Table, from, to positions, send func([]int64, bool) bool) error {
	topic := e.topics.of(t)
	start := map[int32]kgo.Offset{}
	pending := map[int32]bool{}
	for part, end := range to {
		if from[part] < end {
			start[part] = kgo.NewOffset().At(from[part])
			pending[part] = true
		}
	}
	if len(pending) == 0 {
		send(nil, true)
		return nil
	}
	cl, err := kgo.NewClient(append(e.kafkaOpts(e.cfg.NodeID+"-catchup"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)...)
	if err != nil {
		return fmt.Errorf("creating a reader of %s: %w", topic, err)
	}
	defer cl.Close()
	dec := newDecoder(e.cfg.TopicPrefix, e.cfg.MaxRecordBytes, e.log, nil, false)
	ids := map[int64]struct{}{}
	for len(pending) > 0 {
		fs := cl.PollRecords(ctx, e.cfg.MaxPollRecords)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fs.EachRecord(func(r *kgo.Record) {
			if !pending[r.Partition] {
				return
			}
			if r.Offset >= to[r.Partition] {
				delete(pending, r.Partition)
				return
			}
			if _, id, ok := dec.key(r); ok {
				ids[id] = struct{}{}
			}
			if r.Offset+1 >= to[r.Partition] {
				delete(pending, r.Partition)
			}
		})
		if len(ids) >= catchUpChunk || len(pending) == 0 {
			chunk := slices.Sorted(maps.Keys(ids))
			clear(ids)
			if !send(chunk, len(pending) == 0) {
				return ctx.Err()
			}
		}
	}
	return nil
}
