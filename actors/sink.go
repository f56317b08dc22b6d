package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Writer writes batches of rows into one output table. A sink actor calls
// Write from one goroutine at a time. Rows are whole-row images with a
// version (ReplacingMergeTree), so writing the same rows again is
// harmless; on error nothing can be assumed about which rows were stored.
// *sinks.FactWriter and *sinks.MirrorWriter implement it.
type Writer[R any] interface {
	Write(ctx context.Context, rows []R) error
}

// sinkActor feeds one output table. It collects the rows sources send it
// in a sinks.Batcher keyed by their identity in the table (K: the sorting
// key, and for facts the partition too), which keeps the highest version
// of each key as ReplacingMergeTree(_version) would — rows of one key may
// come from different sources, in any order. It writes one batch at a
// time in a goroutine it owns, and, once a batch is written, acknowledges
// to each source the highest seq of that source the batch held (rows the
// batch left out for a newer one included). Batches are written in the
// order they were cut, so that acknowledgement covers every earlier row
// of the source too.
//
// A write that fails with a retryable error (Deps.Retryable) is retried
// with exponential backoff and jitter, as long as it takes: meanwhile
// acknowledgements stop, the sources run out of credit and pause
// fetching. Any other error stops the node.
type sinkActor[K comparable, R any] struct {
	env     *env
	out     output
	w       Writer[R]
	key     func(*R) K
	size    func(*R) int
	version func(*R) uint64
	log     zerolog.Logger

	self       *actor.PID
	b          *sinks.Batcher[K, R]
	sources    map[int32]*sourceRef
	writing    *sinks.Batch[R]
	attempt    int
	timer      *time.Timer
	armed      time.Time // when the pending timer fires; zero when none is pending
	flushAsked bool      // a flush waits for the write in flight
	ctx        context.Context
	cancel     context.CancelFunc
}

func newFactSink(e *env, w Writer[topology.Fact]) *sinkActor[sinks.FactKey, topology.Fact] {
	return &sinkActor[sinks.FactKey, topology.Fact]{
		env: e, out: outFacts, w: w,
		key: sinks.FactKeyOf, size: sinks.FactSize, version: sinks.FactVersion,
	}
}

func newMirrorSink(e *env, t topology.Table, w Writer[topology.Mirror]) *sinkActor[int64, topology.Mirror] {
	return &sinkActor[int64, topology.Mirror]{
		env: e, out: mirrorOutput(t), w: w,
		key: sinks.MirrorKeyOf, size: sinks.MirrorSize, version: sinks.MirrorVersion,
	}
}

// Receive implements actor.Actor.
func (s *sinkActor[K, R]) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		s.self = c.Self()
		s.log = s.env.log.With().Str("component", "sink").Str("table", s.out.String()).Logger()
		s.b = sinks.NewBatcher[K](s.env.cfg.SinkBatch, s.size, s.version)
		s.sources = map[int32]*sourceRef{}
		s.ctx, s.cancel = context.WithCancel(context.Background())
	case *writeRows[R]:
		s.sources[m.source] = &sourceRef{pid: m.replyTo, last: m.seq}
		tok := sinks.Token{Source: m.source, Seq: m.seq}
		add := s.b.Add
		if m.late {
			add = s.b.AddLate
		}
		for i := range m.rows {
			add(s.key(&m.rows[i]), m.rows[i], tok)
		}
		s.env.metrics.sinkRows.Add(int64(len(m.rows)))
		s.env.metrics.rowsEmitted.Add(int64(len(m.rows)))
		s.maybeWrite()
	case *flushDue:
		if !m.at.Equal(s.armed) {
			return // a timer re-armed since
		}
		s.armed = time.Time{}
		s.maybeWrite()
	case *flush:
		s.flushAsked = true
		s.maybeWrite()
	case *batchWritten:
		s.written(m.err)
	case *retryBatch:
		if s.writing != nil {
			s.start(s.writing)
		}
	case *actor.Stopping:
		s.cancel()
		if s.timer != nil {
			s.timer.Stop()
		}
	}
}

// maybeWrite cuts and writes the open batch when no write is in flight
// and the batch is due (or a flush was asked), else arms the timer for
// its deadline.
func (s *sinkActor[K, R]) maybeWrite() {
	if s.writing != nil {
		return
	}
	flush := s.flushAsked
	s.flushAsked = false
	if s.b.Due() || (flush && s.b.Len() > 0) {
		s.start(s.b.Take())
		return
	}
	if d, ok := s.b.Deadline(); ok && (s.armed.IsZero() || d.Before(s.armed)) {
		s.arm(d)
	}
}

func (s *sinkActor[K, R]) arm(at time.Time) {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.armed = at
	root, self := s.env.root, s.self
	s.timer = time.AfterFunc(time.Until(at), func() { root.Send(self, &flushDue{at: at}) })
}

// start writes batch in a goroutine owned by the actor, which reports
// back with batchWritten.
func (s *sinkActor[K, R]) start(batch *sinks.Batch[R]) {
	s.writing = batch
	ctx, w, root, self := s.ctx, s.w, s.env.root, s.self
	s.env.goroutines.Add(1)
	go func() {
		defer s.env.goroutines.Done()
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: writer panicked: %v", errPanicked, r)
			}
			root.Send(self, &batchWritten{err: err})
		}()
		err = w.Write(ctx, batch.Rows)
	}()
}

func (s *sinkActor[K, R]) written(err error) {
	batch := s.writing
	if batch == nil {
		return
	}
	if err != nil {
		if s.ctx.Err() != nil {
			return // stopping
		}
		if errors.Is(err, errPanicked) || !s.env.retryable(err) {
			s.env.fail(fmt.Errorf("writing %d rows to %s: %w: %w", len(batch.Rows), s.out, ErrSinkFailed, err))
			return
		}
		s.attempt++
		wait := backoff(s.env.cfg.SinkRetryMin, s.env.cfg.SinkRetryMax, s.attempt)
		s.log.Warn().Err(err).Int("attempt", s.attempt).Dur("backoff", wait).Int("rows", len(batch.Rows)).Msg("write failed, retrying")
		root, self := s.env.root, s.self
		time.AfterFunc(wait, func() { root.Send(self, &retryBatch{}) })
		return
	}
	if s.attempt > 0 {
		s.log.Info().Int("attempts", s.attempt+1).Msg("write succeeded after retries")
	}
	s.attempt = 0
	s.writing = nil
	s.env.metrics.sinkRows.Add(-int64(batch.Added))
	s.env.metrics.rowsWritten.Add(int64(len(batch.Rows)))
	s.log.Debug().Int("rows", len(batch.Rows)).Int("added", batch.Added).Msg("batch written")
	for _, tok := range batch.Tokens {
		ref := s.sources[tok.Source]
		if ref == nil {
			continue
		}
		s.env.root.Send(ref.pid, &rowsWritten{out: s.out, seq: tok.Seq})
		if ref.last <= tok.Seq {
			delete(s.sources, tok.Source) // nothing newer pending
		}
	}
	s.b.Recycle(batch)
	s.maybeWrite()
}

// errPanicked marks a write whose Writer panicked: never retried.
var errPanicked = errors.New("panic")

// sourceRef is where a source's acknowledgements go, and the last seq
// it sent.
type sourceRef struct {
	pid  *actor.PID
	last int64
}

// backoff returns the wait before attempt n (1-based): min·2^(n-1)
// capped at max, with ±25% jitter.
func backoff(minWait, maxWait time.Duration, n int) time.Duration {
	d := minWait
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	jitter := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
	return max(d+jitter, time.Millisecond)
}
