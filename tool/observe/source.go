package observe

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/state"
)

// NodeView is what the status of a node is computed from; *actors.Node
// implements it.
type NodeView interface {
	Stats() actors.Stats
	Ready() bool
	Stalled(d time.Duration) []int32
	StateMetrics() (state.Metrics, bool)
	StateUsage() (state.Usage, bool, error)
}

// Readiness are the thresholds of /readyz.
type Readiness struct {
	// MaxLag is the lag (order stream and global tables) above which the
	// node is not ready.
	MaxLag int64
	// MaxStall is how long a partition may have work without progress;
	// 0: never checked.
	MaxStall time.Duration
	// MaxUnreachable is how long ClickHouse or Kafka may fail their probes
	// before the node is not ready; 0: never checked.
	MaxUnreachable time.Duration
}

// Figures are the running node and what counts its work.
type Figures struct {
	Node    NodeView
	Facts   *FactCounter
	Mirrors map[string]*MirrorCounter
	Lag     *LagWatcher
	// Probes (may be nil) check ClickHouse and Kafka.
	Probes *Prober
}

// Source feeds /status, /readyz and /metrics: from start-up a reason why
// the node is not ready yet, and once the node runs its figures. Safe for
// concurrent use.
type Source struct {
	id    string
	ready Readiness
	now   func() time.Time

	mu     sync.Mutex
	f      Figures
	reason string
}

// NewSource returns the source of node id's status.
func NewSource(id string, r Readiness) *Source {
	return &Source{id: id, ready: r, now: time.Now}
}

// Attach sets the running node's figures and clears the reason.
func (s *Source) Attach(f Figures) {
	s.mu.Lock()
	s.f, s.reason = f, ""
	s.mu.Unlock()
}

// SetReason says why the node is not ready before it runs (for example
// ClickHouse unreachable at start).
func (s *Source) SetReason(r string) {
	s.mu.Lock()
	s.reason = r
	s.mu.Unlock()
}

// Status returns the node's status document.
func (s *Source) Status() Status {
	st, _ := s.status()
	return st
}

// status returns the document and the figures it was computed from
// (Node nil before the node runs).
func (s *Source) status() (Status, figuresSnapshot) {
	s.mu.Lock()
	f, reason := s.f, s.reason
	s.mu.Unlock()
	st := Status{Node: s.id, Reason: reason}
	if f.Node == nil {
		if st.Reason == "" {
			st.Reason = "starting"
		}
		return st, figuresSnapshot{}
	}
	ns := f.Node.Stats()
	st.SinkBacklog = ns.InflightRows + ns.BufferedRows
	st.DLQ = ns.DeadLetters
	st.Consumed = ns.Consumed
	st.Bootstrapped = f.Node.Ready()
	st.FactsWritten = f.Facts.written.Load()
	st.Freshness = f.Facts.freshness.summary()
	st.RowsWritten = map[string]int64{"sales_facts": st.FactsWritten}
	for t, c := range f.Mirrors {
		st.RowsWritten[t] = c.written.Load()
	}
	_, measuredAt, lastCommit, lagErr := f.Lag.snapshot()
	measured := !measuredAt.IsZero()
	lags := f.Lag.partitionLags()
	for t, parts := range f.Lag.globalLags(ns.GlobalDone) {
		lags[t] = parts
	}
	st.LagByTopic = map[string]int64{}
	for t, parts := range lags {
		var sum int64
		for _, l := range parts {
			sum += l
		}
		st.LagByTopic[t] = sum
		st.Lag += sum
	}
	st.LastCommit = lastCommit
	st.State = NodeState(f.Node)
	if s.ready.MaxStall > 0 {
		st.Stalled = f.Node.Stalled(s.ready.MaxStall)
	}
	unreachable := f.Probes.Unreachable(s.ready.MaxUnreachable)
	switch {
	case unreachable != "":
		st.Reason = unreachable
	case !st.Bootstrapped:
		st.Reason = "bootstrapping the global tables or joining the group"
	case !measured && lagErr != nil:
		st.Reason = "measuring consumer lag: " + lagErr.Error()
	case !measured:
		st.Reason = "measuring consumer lag"
	// A failed measurement keeps the last lag for as long as Kafka may be
	// unreachable: a short outage does not make the node not ready.
	case lagErr != nil && s.ready.MaxUnreachable > 0 && s.now().Sub(measuredAt) >= s.ready.MaxUnreachable:
		st.Reason = fmt.Sprintf("consumer lag not measured for %s (ready_max_unreachable %s): %v",
			s.now().Sub(measuredAt).Round(time.Second), s.ready.MaxUnreachable, lagErr)
	case st.Lag > s.ready.MaxLag:
		st.Reason = fmt.Sprintf("consumer lag %d above %d", st.Lag, s.ready.MaxLag)
	case len(st.Stalled) > 0:
		st.Reason = fmt.Sprintf("partitions %v have had work and made no progress for over %v (is ClickHouse taking rows?)", st.Stalled, s.ready.MaxStall)
	default:
		st.Ready = true
	}
	// A global table bootstrapped from nothing sends its mirror rows once
	// bootstrapped; between two chunks nothing may be in flight. A lag
	// kept from before a failed measurement is not known to be 0.
	st.Idle = st.Ready && lagErr == nil && st.Lag == 0 && st.SinkBacklog == 0 && ns.Snapshots == 0
	return st, figuresSnapshot{node: f.Node, stats: ns, lags: lags, measured: measured}
}

// figuresSnapshot is what status read, for Snapshot.
type figuresSnapshot struct {
	node     NodeView
	stats    actors.Stats
	lags     map[string]map[int32]int64
	measured bool
}

// Snapshot returns what /metrics reports; it is NewMetrics' snapshot
// function for a node.
func (s *Source) Snapshot() Snapshot {
	st, f := s.status()
	m := Snapshot{Ready: st.Ready}
	if f.node == nil {
		return m
	}
	m.Running = true
	m.Stats = f.stats
	m.RowsWritten = st.RowsWritten
	m.LagTotal, m.LagMeasured, m.Lag = st.Lag, f.measured, f.lags
	m.State, m.StateOpen = f.node.StateMetrics()
	return m
}

// LogSummaries logs one line per interval with the node's figures until
// ctx ends.
func LogSummaries(ctx context.Context, log zerolog.Logger, every time.Duration, status func() Status) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := status()
		var consumed, written, dlq int64
		for _, v := range st.Consumed {
			consumed += v
		}
		for _, v := range st.RowsWritten {
			written += v
		}
		for _, v := range st.DLQ {
			dlq += v
		}
		log.Info().Bool("ready", st.Ready).Bool("idle", st.Idle).Int64("consumed", consumed).Int64("rows_written", written).
			Int64("facts_written", st.FactsWritten).Int64("lag", st.Lag).Int64("sink_backlog", st.SinkBacklog).
			Int64("dead_letters", dlq).Float64("freshness_p99_ms", st.Freshness.P99).Msg("summary")
	}
}
