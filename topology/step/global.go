package step

import (
	"errors"
	"slices"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Decoded is a record decoded ahead of the step (the global tables'
// readers decode on several cores while the step applies the previous
// poll): OK when it carries a change, Err a *BadRecord when it cannot be
// decoded.
type Decoded struct {
	Change topology.Change
	OK     bool
	Err    error
}

// GlobalResult is what one global step call produced; its slices belong
// to the caller.
type GlobalResult struct {
	Mirrors []topology.Mirror
	// Bad lists the records that go to the dead-letter topic.
	Bad []Bad
	// Changed lists, ascending and without repeats, the ids of the rows
	// the batch changed: the partitions refresh the facts that join them
	// (Partition.Refresh).
	Changed []int64
}

// Global is the processing step of one global table (customers or
// vehicles). Not safe for concurrent use: one per global-table actor.
type Global struct {
	out topology.Output
}

// Apply applies a batch of decoded records of a global table to s and
// emits their mirror rows (none with emit false: a bootstrap whose rows
// are sent from the state afterwards). A store error fails the whole
// batch: the caller discards s. Offsets are the caller's: a global
// table's stored offsets are the acknowledged ones, not the applied ones.
func (g *Global) Apply(s topology.GlobalStore, recs []Decoded, emit bool) (GlobalResult, error) {
	var res GlobalResult
	for i := range recs {
		d := &recs[i]
		err := d.Err
		if err == nil && d.OK {
			var applied bool
			applied, err = topology.ApplyGlobal(s, &d.Change, &g.out)
			switch {
			case errors.Is(err, topology.ErrInvalidChange):
				err = &BadRecord{Kind: KindInvalidChange, Detail: err.Error()}
			case err != nil:
				g.out.Reset()
				return GlobalResult{}, applyError(d.Change.Table.String(), d.Change.Pos.Partition, d.Change.Pos.Offset, err)
			case applied:
				res.Changed = append(res.Changed, d.Change.ID())
			}
		}
		var bad *BadRecord
		if errors.As(err, &bad) {
			res.Bad = append(res.Bad, Bad{Index: i, BadRecord: *bad})
		}
	}
	if emit {
		res.Mirrors = g.out.Mirrors
		g.out.Mirrors = nil
	}
	g.out.Reset()
	slices.Sort(res.Changed)
	res.Changed = slices.Compact(res.Changed)
	return res, nil
}
