package actors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
)

// maxOutstandingRefreshes bounds the dimensionsChanged messages a global
// actor lets a subscriber have unprocessed before it stops reading.
const maxOutstandingRefreshes = 2

// globalActor keeps one global table (customers or vehicles) of the
// node's state. A reader goroutine it owns consumes every partition of
// the table's topic without a group, from the stored offsets, and hands
// it records one poll at a time (globalFetched), waiting for the actor
// before polling again.
//
// Per poll the actor applies the records in one state batch, commits
// it, then tells every subscribed partition actor which rows changed
// (dimensionsChanged). It writes no rows: the facts the changes affect
// are re-emitted by the partition actors, and the table's mirror rows by
// one of them, the mirror writer (the owner of partition 0 of the order
// stream; see the package doc, "The mirrors of the global tables"). The
// offsets it stores are those of the records applied and whose dead
// letters, if any, are written. It is bootstrapped once it has applied
// every record below the end offsets listed when the node started; the
// node joins the consumer group only then.
type globalActor struct {
	env   *env
	table topology.Table
	topic string
	log   zerolog.Logger

	self      *actor.PID
	applied   positions // next offset applied, by partition
	persisted positions // next offset stored as acknowledged
	starts    positions // the partitions' first offsets, at start
	ends      positions // bootstrap targets
	booted    bool
	// backward: the bootstrap reads newest first (backward.go).
	backward  bool
	onBoot    func()
	track     tracker[positions]
	step      step.Global
	subs      map[string]*subscriber
	held      chan struct{} // the reader's done, held for backpressure
	drainDone chan struct{}
	cancel    context.CancelFunc
}

type subscriber struct {
	pid         *actor.PID
	outstanding int
}

func newGlobalActor(e *env, t topology.Table, resume, starts, ends positions, onBoot func()) *globalActor {
	return &globalActor{
		env: e, table: t, topic: e.topics.of(t),
		applied: resume.clone(), persisted: resume.clone(), starts: starts, ends: ends, onBoot: onBoot,
	}
}

// Receive implements actor.Actor.
func (g *globalActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		g.self = c.Self()
		g.log = g.env.log.With().Str("component", "global").Str("table", g.table.String()).Str("topic", g.topic).Logger()
		g.subs = map[string]*subscriber{}
		g.env.metrics.globalAck(g.table, g.persisted)
		g.backward = g.fresh() && g.env.cfg.BootstrapChunkBytes > 0
		g.log.Info().Interface("from", g.applied).Interface("bootstrap_to", g.ends).
			Bool("newest_first", g.backward).Msg("reading global table")
		g.checkBoot()
		var ctx context.Context
		ctx, g.cancel = context.WithCancel(context.Background())
		g.startReader(ctx)
	case *globalFetched:
		g.apply(m)
	case *deadLetterWritten:
		g.track.deadLetterDone(m.seq)
		g.reached()
	case *subscribe:
		g.subs[m.pid.String()] = &subscriber{pid: m.pid}
		g.env.root.Send(m.pid, &subscribed{table: g.table, through: g.applied.clone()})
	case *unsubscribe:
		delete(g.subs, m.pid.String())
		g.release()
	case *refreshDone:
		if s := g.subs[m.pid.String()]; s != nil && s.outstanding > 0 {
			s.outstanding--
		}
		g.release()
	case *drain:
		g.cancel()
		g.drainDone = m.done
		g.checkDrained()
	case *actor.Stopping:
		if g.cancel != nil {
			g.cancel()
		}
	}
}

func (g *globalActor) startReader(ctx context.Context) {
	opts := append(g.env.kafkaOpts(g.env.cfg.NodeID+"-"+g.table.String()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Twice the default: vehicles' records carry JSON documents of
		// several kilobytes (about 7 KB each in the catch-up benchmark).
		kgo.FetchMaxPartitionBytes(2<<20),
	)
	root, self, maxRecords := g.env.root, g.self, g.env.cfg.MaxPollRecords
	log, fail := g.log, g.env.fail
	// The reader decodes each poll while the actor applies the previous
	// one: decoding is most of a global record's cost, and this keeps it
	// off the actor (and on another core). A large poll is decoded in
	// contiguous chunks by one goroutine per core, each with its own
	// decoder: the records keep their order, and the global tables'
	// bootstrap, which every order partition waits for, is mostly
	// decoding.
	decs := make([]*decoder, max(1, runtime.GOMAXPROCS(0)))
	for i := range decs {
		decs[i] = newDecoder(g.env.cfg.TopicPrefix, g.env.cfg.MaxRecordBytes, g.log, storedRow(g.env.store), false)
	}
	var back *backwardReader
	if g.backward {
		// Decoders of their own, which remember the rows' long values
		// for the bootstrap only.
		bdecs := make([]*decoder, len(decs))
		for i := range bdecs {
			bdecs[i] = newDecoder(g.env.cfg.TopicPrefix, g.env.cfg.MaxRecordBytes, g.log, storedRow(g.env.store), true)
		}
		back = newBackwardReader(g.topic, g.starts, g.ends, g.env.cfg.BootstrapChunkBytes, bdecs, func(n int) { g.env.metrics.bootstrapSkipped.Add(int64(n)) })
	}
	from := g.applied.clone()
	g.env.goroutines.Add(1)
	go func() {
		defer g.env.goroutines.Done()
		var prev chan struct{} // the poll the actor is applying
		// hand gives m to the actor once it applied the previous poll.
		hand := func(m *globalFetched) bool {
			if prev != nil {
				select {
				case <-prev:
				case <-ctx.Done():
					return false
				}
			}
			prev = make(chan struct{})
			m.done = prev
			root.Send(self, m)
			return true
		}
		onErr := func(p int32, err error) {
			log.Warn().Err(err).Int32("partition", p).Msg("fetching global records")
		}
		if back != nil {
			if !g.readBackward(ctx, back, opts, hand, onErr) {
				return
			}
			back, from = nil, g.ends // the memos go
		}
		cl, err := kgo.NewClient(slices.Concat(opts, []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{g.topic: offsetsOf(from)})})...)
		if err != nil {
			fail(fmt.Errorf("creating the reader of %s: %w", g.topic, err))
			return
		}
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollRecords(ctx, maxRecords)
			if fs.IsClientClosed() || ctx.Err() != nil {
				return
			}
			fs.EachError(func(topic string, p int32, err error) {
				if !errors.Is(err, context.Canceled) {
					onErr(p, err)
				}
			})
			recs := fs.Records()
			if len(recs) == 0 {
				continue
			}
			g.env.metrics.consumed(recs[0].Topic, len(recs))
			if !hand(&globalFetched{records: recs, decoded: decodeAll(decs, recs)}) {
				return
			}
		}
	}()
}

// readBackward runs the bootstrap newest first with a client of its own,
// then hands the actor the end offsets; false when ctx ended or the
// client could not be created.
func (g *globalActor) readBackward(ctx context.Context, back *backwardReader, opts []kgo.Opt, hand func(*globalFetched) bool, onErr func(int32, error)) bool {
	if len(back.lo) == 0 {
		return hand(&globalFetched{through: g.ends})
	}
	// Less per partition and fetch than the forward reader: a round ends
	// within a fetch, and what the fetch brought past it is read again.
	// One client per core: a client decompresses what it fetches on one
	// goroutine.
	first := back.firstOffsets()
	n := min(len(first), max(1, runtime.GOMAXPROCS(0)))
	back.cls = make([]*kgo.Client, n)
	for c := range back.cls {
		mine := map[int32]kgo.Offset{}
		for p, o := range first {
			if int(p)%n == c {
				mine[p] = o
			}
		}
		cl, err := kgo.NewClient(slices.Concat(opts, []kgo.Opt{
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{g.topic: mine}),
			kgo.FetchMaxPartitionBytes(512 << 10),
		})...)
		if err != nil {
			g.env.fail(fmt.Errorf("creating the reader of %s: %w", g.topic, err))
			return false
		}
		defer cl.Close()
		back.cls[c] = cl
	}
	consumed := func(n int) { g.env.metrics.consumed(g.topic, n) }
	// A goroutine decodes and picks each round's records while the next
	// round is fetched: two rounds at most are held.
	rounds := make(chan []*kgo.Record)
	picked := make(chan bool, 1)
	go func() {
		ok := true
		for all := range rounds {
			if !ok {
				continue
			}
			recs, decoded := back.latest(all)
			ok = len(recs) == 0 || hand(&globalFetched{records: recs, decoded: decoded, backward: true})
		}
		picked <- ok
	}()
	fetched := true
	for first := true; fetched && len(back.lo) > 0; first = false {
		var all []*kgo.Record
		if all, fetched = back.fetch(ctx, first, onErr, consumed); fetched {
			rounds <- all
			back.plan()
		}
	}
	close(rounds)
	if !<-picked || !fetched {
		return false
	}
	recs, decoded := back.rest()
	return hand(&globalFetched{records: recs, decoded: decoded, backward: true, through: g.ends})
}

// minChunk is the fewest records decodeAll gives a goroutine of its own.
const minChunk = 256

// decodeAll decodes recs, in contiguous chunks of at least minChunk
// records decoded concurrently, one per decoder.
func decodeAll(decs []*decoder, recs []*kgo.Record) []step.Decoded {
	decoded := make([]step.Decoded, len(recs))
	n := min(len(decs), max(1, len(recs)/minChunk))
	var wg sync.WaitGroup
	for w := range n {
		lo, hi := w*len(recs)/n, (w+1)*len(recs)/n
		decode := func() {
			for i := lo; i < hi; i++ {
				d := &decoded[i]
				d.OK, d.Err = decs[w].decode(recs[i], true, &d.Change)
			}
		}
		if w == n-1 {
			decode()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			decode()
		}()
	}
	wg.Wait()
	return decoded
}

// offsetsOf returns kgo start offsets for p.
func offsetsOf(p positions) map[int32]kgo.Offset {
	out := make(map[int32]kgo.Offset, len(p))
	for part, next := range p {
		out[part] = kgo.NewOffset().At(next)
	}
	return out
}

// apply applies one poll's records, commits and notifies.
func (g *globalActor) apply(m *globalFetched) {
	if g.drainDone != nil || g.env.failed.Load() {
		close(m.done)
		return
	}
	b := g.env.store.NewGlobalBatch()
	defer b.Close()
	var written time.Time // the newest record's Kafka timestamp
	for _, r := range m.records {
		if r.Timestamp.After(written) {
			written = r.Timestamp
		}
		if !m.backward {
			g.applied[r.Partition] = r.Offset + 1
		}
	}
	res, err := g.step.Apply(b, m.decoded, false)
	if err != nil {
		g.env.fail(err)
		return
	}
	var bad []*deadLetter
	for _, d := range res.Bad {
		bad = append(bad, &deadLetter{record: m.records[d.Index], kind: d.Kind, detail: d.Detail})
	}
	if m.through != nil {
		g.applied = m.through.clone()
	}
	// With no dead letter in flight the offsets go with the rows.
	if len(bad) == 0 && g.track.pending() == 0 {
		if err := g.persistTo(b, g.applied); err != nil {
			return
		}
	}
	if err := g.commit(b); err != nil {
		g.env.fail(fmt.Errorf("committing %s state: %w", g.table, err))
		return
	}
	ids := res.Changed
	var seq int64
	if len(bad) > 0 || g.track.pending() > 0 {
		seq = g.track.add(&[numOutputs]int{}, 0, len(bad), g.applied.clone())
	}
	for _, d := range bad {
		d.replyTo, d.seq = g.self, seq
		g.env.root.Send(g.env.dlq, d)
	}
	if len(g.subs) > 0 {
		msg := &dimensionsChanged{table: g.table, ids: ids, through: g.applied.clone(), from: g.self, written: written}
		for _, s := range g.subs {
			s.outstanding++
			g.env.root.Send(s.pid, msg)
		}
	}
	g.reached()
	g.checkBoot()
	g.held = m.done
	g.release()
}

// commit stages b: the bootstrap writes each row many times (a vehicle at
// every price or stock change), and staging writes the last value once,
// when the stage fills up or the bootstrap ends; once bootstrapped, the
// next checkpoint writes it (Config.CheckpointInterval). A crash loses the
// staged rows and offsets together; the records are then read again,
// which re-notifies the partitions. Without checkpoints, a bootstrapped
// table commits every batch.
func (g *globalActor) commit(b *state.GlobalBatch) error {
	if g.booted && g.env.cfg.CheckpointInterval <= 0 {
		return b.Commit()
	}
	return b.Stage()
}

// reached collects the units whose dead letters are written and stores
// how far they go.
func (g *globalActor) reached() {
	var acked positions
	if g.track.pop(func(p positions) { acked = p }) == 0 {
		return
	}
	if acked != nil && !maps.Equal(acked, g.persisted) {
		b := g.env.store.NewGlobalBatch()
		defer b.Close()
		if err := g.persistTo(b, acked); err != nil {
			return
		}
		if err := g.commit(b); err != nil {
			g.env.fail(fmt.Errorf("storing %s offsets: %w", g.table, err))
			return
		}
	}
	g.checkDrained()
	g.release()
}

// persistTo writes into b the acknowledged offsets not yet stored.
func (g *globalActor) persistTo(b *state.GlobalBatch, acked positions) error {
	for part, next := range acked {
		if g.persisted[part] == next {
			continue
		}
		if err := b.SetOffset(g.topic, part, next); err != nil {
			g.env.fail(fmt.Errorf("storing %s offsets: %w", g.table, err))
			return err
		}
	}
	g.persisted = acked.clone()
	g.env.metrics.globalAck(g.table, g.persisted)
	return nil
}

// mirrorBytes returns the size of rows as the sinks measure them.
func mirrorBytes(rows []topology.Mirror) int64 {
	var n int64
	for i := range rows {
		n += int64(sinks.MirrorSize(&rows[i]))
	}
	return n
}

// release lets the reader poll again when every subscriber keeps up.
func (g *globalActor) release() {
	if g.held == nil {
		return
	}
	for _, s := range g.subs {
		if s.outstanding >= maxOutstandingRefreshes {
			return
		}
	}
	close(g.held)
	g.held = nil
}

func (g *globalActor) checkBoot() {
	if g.booted {
		return
	}
	for part, end := range g.ends {
		if g.applied[part] < end {
			return
		}
	}
	if err := g.env.store.Flush(); err != nil {
		g.env.fail(fmt.Errorf("storing %s state: %w", g.table, err))
		return
	}
	g.booted = true
	g.log.Info().Interface("applied", g.applied).Msg("global table bootstrapped")
	if g.onBoot != nil {
		g.onBoot()
	}
}

// fresh reports whether the table is read from nothing (a new state
// directory): its bootstrap then reads newest first.
func (g *globalActor) fresh() bool {
	for _, next := range g.applied {
		if next != 0 {
			return false
		}
	}
	return true
}

func (g *globalActor) checkDrained() {
	if g.drainDone != nil && g.track.pending() == 0 {
		close(g.drainDone)
		g.drainDone = nil
	}
}

// storedRow reports whether a customer or vehicle is in the state (read
// from any goroutine; rows of the global tables are never removed, so a
// yes stays true until the actor applies the record).
func storedRow(s *state.Store) func(topology.Table, int64) bool {
	return func(t topology.Table, id int64) bool {
		found, err := s.HasDimension(t, id)
		return err == nil && found
	}
}
