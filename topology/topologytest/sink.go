package topologytest

import (
	"fmt"
	"slices"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Sink is an in-memory stand-in for the ClickHouse tables with
// ReplacingMergeTree semantics, as SELECT ... FINAL sees them: per sorting
// key the row with the highest _version wins, and of equal versions the
// last inserted. Mirror tables are keyed by (table, id); sales_facts by
// (toYYYYMM(order_date), order_id, order_item_id), because ClickHouse
// replaces rows only within a partition: a fact re-emitted with another
// order_date would leave its old version alive. Not safe for concurrent
// use.
type Sink struct {
	mirrors map[mirrorKey]topology.Mirror
	facts   map[factKey]topology.Fact
	// Rows counts the rows inserted.
	Rows int

	lastVersion map[factKey]uint64
	regressions []string
}

type mirrorKey struct {
	table topology.Table
	id    int64
}

type factKey struct {
	month           int
	orderID, itemID int64
}

// NewSink returns an empty Sink.
func NewSink() *Sink {
	return &Sink{
		mirrors:     map[mirrorKey]topology.Mirror{},
		facts:       map[factKey]topology.Fact{},
		lastVersion: map[factKey]uint64{},
	}
}

// Insert inserts the mirror rows and facts of out.
func (s *Sink) Insert(out *topology.Output) { s.InsertRows(out.Mirrors, out.Facts) }

// InsertRows inserts mirror rows and facts.
func (s *Sink) InsertRows(mirrors []topology.Mirror, facts []topology.Fact) {
	for _, m := range mirrors {
		s.InsertMirror(m)
	}
	for _, f := range facts {
		s.InsertFact(f)
	}
}

// InsertMirror inserts one mirror row.
func (s *Sink) InsertMirror(m topology.Mirror) {
	s.Rows++
	k := mirrorKey{m.Row.Table, m.Row.ID()}
	if cur, ok := s.mirrors[k]; ok && cur.Version > m.Version {
		return
	}
	s.mirrors[k] = m
}

// InsertFact inserts one fact. It also checks that fact versions grow
// strictly per fact key in insertion order (see Regressions).
func (s *Sink) InsertFact(f topology.Fact) {
	s.Rows++
	k := factKey{f.OrderDate.Month(), f.OrderID, f.OrderItemID}
	if last, ok := s.lastVersion[k]; ok && f.Version <= last && len(s.regressions) < 10 {
		s.regressions = append(s.regressions, fmt.Sprintf("item %d of order %d in %d: version %d inserted after %d", f.OrderItemID, f.OrderID, k.month, f.Version, last))
	}
	s.lastVersion[k] = max(s.lastVersion[k], f.Version)
	if cur, ok := s.facts[k]; ok && cur.Version > f.Version {
		return
	}
	s.facts[k] = f
}

// Regressions describes the facts inserted with a version not above an
// earlier one of the same key (at most 10); nil if none.
func (s *Sink) Regressions() []string { return s.regressions }

// Mirrors returns the FINAL mirror rows, deleted ones included, sorted by
// table and id.
func (s *Sink) Mirrors() []topology.Mirror {
	out := make([]topology.Mirror, 0, len(s.mirrors))
	for _, m := range s.mirrors {
		out = append(out, m)
	}
	SortMirrors(out)
	return out
}

// Facts returns the FINAL facts, deleted ones included, sorted by
// (order_id, order_item_id, order_date).
func (s *Sink) Facts() []topology.Fact {
	out := make([]topology.Fact, 0, len(s.facts))
	for _, f := range s.facts {
		out = append(out, f)
	}
	SortFacts(out)
	return out
}

// LiveMirrors returns the FINAL mirror rows with _deleted = 0.
func (s *Sink) LiveMirrors() []topology.Mirror {
	return slices.DeleteFunc(s.Mirrors(), func(m topology.Mirror) bool { return m.Deleted })
}

// CurrentFactsAcross is CurrentFacts as a server whose FINAL merges rows
// across partitions sees it (ClickHouse 18.16; current servers unless
// do_not_merge_across_partitions_select_final): of the rows of one
// (order_id, order_item_id) under every month, the one with the highest
// _version, if it is live.
func (s *Sink) CurrentFactsAcross() []topology.Fact {
	top := map[topology.ItemRef]topology.Fact{}
	for _, f := range s.facts {
		k := topology.ItemRef{OrderID: f.OrderID, ItemID: f.OrderItemID}
		if cur, ok := top[k]; !ok || f.Version > cur.Version {
			top[k] = f
		}
	}
	out := make([]topology.Fact, 0, len(top))
	for _, f := range top {
		if !f.Deleted {
			f.Version = 0
			out = append(out, f)
		}
	}
	SortFacts(out)
	return out
}

// CurrentFacts returns sales_facts_current (FINAL rows with _deleted = 0)
// with _version zeroed, for comparing content with Tables.Facts.
func (s *Sink) CurrentFacts() []topology.Fact {
	fs := slices.DeleteFunc(s.Facts(), func(f topology.Fact) bool { return f.Deleted })
	for i := range fs {
		fs[i].Version = 0
	}
	return fs
}

// SortMirrors sorts mirror rows by table and id.
func SortMirrors(ms []topology.Mirror) {
	slices.SortFunc(ms, func(a, b topology.Mirror) int {
		if a.Row.Table != b.Row.Table {
			return int(a.Row.Table) - int(b.Row.Table)
		}
		return cmpInt(a.Row.ID(), b.Row.ID())
	})
}

// SortFacts sorts facts by (order_id, order_item_id, order_date).
func SortFacts(fs []topology.Fact) {
	slices.SortFunc(fs, func(a, b topology.Fact) int {
		if c := cmpInt(a.OrderID, b.OrderID); c != 0 {
			return c
		}
		if c := cmpInt(a.OrderItemID, b.OrderItemID); c != 0 {
			return c
		}
		return cmpInt(int64(a.OrderDate), int64(b.OrderDate))
	})
}
