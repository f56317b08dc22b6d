package actorstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// ErrTransient is the error a Sink returns from FailNext by default;
// tests classify it as retryable.
var ErrTransient = errors.New("actorstest: transient sink failure")

// Sink stands in for ClickHouse: the writers it returns insert into one
// topologytest.Sink (ReplacingMergeTree semantics as SELECT … FINAL sees
// them). Writes can be stalled (they block until Unstall or their
// context ends) and made to fail. Safe for concurrent use.
type Sink struct {
	mu    sync.Mutex
	s     *topologytest.Sink
	stall chan struct{} // closed on Unstall; nil when not stalled
	// factStall stalls sales_facts writes only (StallFacts).
	factStall chan struct{}
	failures  []error
	factFail  []error
	writes    int
	rows      int
	waiting   int // writes blocked in a stall
	// waitingFacts counts the sales_facts writes among them.
	waitingFacts int
	// history holds, per fact key, every insert of it (see FactHistory).
	history map[topology.ItemRef][]string
	// mirrorRows counts the mirror rows inserted, by table.
	mirrorRows map[topology.Table]int
}

// NewSink returns an empty Sink.
func NewSink() *Sink { return &Sink{s: topologytest.NewSink()} }

// FactWriter writes sales_facts rows into a Sink.
type FactWriter struct{ s *Sink }

// MirrorWriter writes the rows of one mirror table into a Sink.
type MirrorWriter struct {
	s     *Sink
	table topology.Table
}

// Facts returns a writer of sales_facts.
func (s *Sink) Facts() *FactWriter { return &FactWriter{s} }

// Mirror returns a writer of the mirror table of t.
func (s *Sink) Mirror(t topology.Table) *MirrorWriter { return &MirrorWriter{s, t} }

// Write inserts rows, unless the sink fails or stalls.
func (w *FactWriter) Write(ctx context.Context, rows []topology.Fact) error {
	if err := w.s.factFailure(); err != nil {
		return err
	}
	return w.s.write(ctx, len(rows), true, func(s *topologytest.Sink) {
		for _, f := range rows {
			s.InsertFact(f)
			w.s.record(f)
		}
	})
}

// Write inserts rows, unless the sink fails or stalls.
func (w *MirrorWriter) Write(ctx context.Context, rows []topology.Mirror) error {
	for _, m := range rows {
		if m.Row.Table != w.table {
			return errors.New("actorstest: mirror row of " + m.Row.Table.String() + " written to " + w.table.String())
		}
	}
	return w.s.write(ctx, len(rows), false, func(s *topologytest.Sink) {
		for _, m := range rows {
			s.InsertMirror(m)
		}
		if w.s.mirrorRows == nil {
			w.s.mirrorRows = map[topology.Table]int{}
		}
		w.s.mirrorRows[w.table] += len(rows)
	})
}

func (s *Sink) write(ctx context.Context, n int, facts bool, insert func(*topologytest.Sink)) error {
	s.mu.Lock()
	for s.stall != nil || (facts && s.factStall != nil) {
		stall := s.stall
		if stall == nil {
			stall = s.factStall
		}
		s.waiting++
		if facts {
			s.waitingFacts++
		}
		s.mu.Unlock()
		select {
		case <-stall:
		case <-ctx.Done():
		}
		s.mu.Lock()
		s.waiting--
		if facts {
			s.waitingFacts--
		}
		if ctx.Err() != nil {
			s.mu.Unlock()
			return ctx.Err()
		}
	}
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		err := s.failures[0]
		s.failures = s.failures[1:]
		return err
	}
	s.writes++
	s.rows += n
	insert(s.s)
	return nil
}

// Stall makes writes block until Unstall.
func (s *Sink) Stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall == nil {
		s.stall = make(chan struct{})
	}
}

// StallFacts makes sales_facts writes block until Unstall; mirror rows
// go through.
func (s *Sink) StallFacts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.factStall == nil {
		s.factStall = make(chan struct{})
	}
}

// Unstall releases the blocked writes and lets new ones through.
func (s *Sink) Unstall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
	if s.factStall != nil {
		close(s.factStall)
		s.factStall = nil
	}
}

// Stalled returns the number of writes blocked by Stall or StallFacts.
func (s *Sink) Stalled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// StalledFacts returns the number of sales_facts writes blocked by Stall
// or StallFacts.
func (s *Sink) StalledFacts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitingFacts
}

// FailNext makes the next n writes fail with err (ErrTransient if nil)
// without inserting anything.
func (s *Sink) FailNext(n int, err error) {
	if err == nil {
		err = ErrTransient
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, err)
	}
}

// FailNextFacts makes the next n writes of sales_facts fail with err
// (ErrTransient if nil).
func (s *Sink) FailNextFacts(n int, err error) {
	if err == nil {
		err = ErrTransient
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.factFail = append(s.factFail, err)
	}
}

func (s *Sink) factFailure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.factFail) == 0 {
		return nil
	}
	err := s.factFail[0]
	s.factFail = s.factFail[1:]
	return err
}

// Stats returns the number of successful writes and the rows they held.
func (s *Sink) Stats() (writes, rows int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes, s.rows
}

// record adds an insert of f to the history of its key. The caller holds
// mu.
func (s *Sink) record(f topology.Fact) {
	if s.history == nil {
		s.history = map[topology.ItemRef][]string{}
	}
	ref := topology.ItemRef{OrderID: f.OrderID, ItemID: f.OrderItemID}
	s.history[ref] = append(s.history[ref], fmt.Sprintf("write %d: _version=%d _deleted=%v order_date=%s order_status=%s vehicle=%d make=%q customer=%d",
		s.writes, f.Version, f.Deleted, f.OrderDate.Time().Format("2006-01-02"), f.OrderStatus, f.VehicleID, f.Make, f.CustomerID))
}

// MirrorRows returns the number of rows inserted into the mirror table
// of t.
func (s *Sink) MirrorRows(t topology.Table) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mirrorRows[t]
}

// FactHistory returns every insert of the fact of item itemID of order
// orderID, in insertion order: its write's number, version, deleted flag
// and a few columns. Tests print it when the sink differs from the join.
func (s *Sink) FactHistory(orderID, itemID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history[topology.ItemRef{OrderID: orderID, ItemID: itemID}])
}

// Diff compares the sink with the expected tables (topologytest.Diff):
// "" when they agree.
func (s *Sink) Diff(want *topologytest.Tables) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return topologytest.Diff(want, s.s)
}

// Regressions lists facts inserted with a version not above an earlier
// one of the same key (topologytest.Sink.Regressions).
func (s *Sink) Regressions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.s.Regressions()...)
}

// MirrorVersions returns the FINAL _version of every mirror row the sink
// holds (deleted ones included), by table and id.
func (s *Sink) MirrorVersions() map[topology.Table]map[int64]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[topology.Table]map[int64]uint64{}
	for _, m := range s.s.Mirrors() {
		if out[m.Row.Table] == nil {
			out[m.Row.Table] = map[int64]uint64{}
		}
		out[m.Row.Table][m.Row.ID()] = m.Version
	}
	return out
}
