package state

import (
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// A global table bootstrapped from nothing need not send the sinks every
// version of every row: the last one of each is what the mirror keeps.
// The global actor then sends its mirror rows from the state once the
// bootstrap ends (Mirrors), and marks the table meanwhile (MarkSnapshot):
// the stored offsets may run ahead of rows the sinks never got, and a
// node that finds the mark at start sends them all again.

// snapshotKey returns the key of the mark of a global table's pending
// snapshot.
func snapshotKey(kind byte) []byte { return []byte{rangeGlobal, kindSnapshot, kind} }

// dimensionKind returns the key kind of a global table's rows.
func dimensionKind(t topology.Table) (byte, error) {
	switch t {
	case topology.TableCustomers:
		return kindCustomer, nil
	case topology.TableVehicles:
		return kindVehicle, nil
	}
	return 0, fmt.Errorf("%s: %w", t, topology.ErrWrongScope)
}

// MarkSnapshot records, durably, that the mirror rows of global table t
// are to be sent from the state (see Mirrors); ClearSnapshot removes the
// mark once the sinks have them all.
func (s *Store) MarkSnapshot(t topology.Table) error {
	return s.setSnapshot(t, true)
}

// ClearSnapshot removes the mark of MarkSnapshot.
func (s *Store) ClearSnapshot(t topology.Table) error {
	return s.setSnapshot(t, false)
}

func (s *Store) setSnapshot(t topology.Table, on bool) error {
	kind, err := dimensionKind(t)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	if on {
		err = b.Set(snapshotKey(kind), nil, nil)
	} else {
		err = b.Delete(snapshotKey(kind), nil)
	}
	if err == nil {
		err = s.commit(b)
	}
	if err = joinClose(err, b); err != nil {
		return fmt.Errorf("marking the snapshot of %s: %w", t, err)
	}
	return nil
}

// SnapshotPending reports whether global table t is marked by
// MarkSnapshot.
func (s *Store) SnapshotPending(t topology.Table) (bool, error) {
	kind, err := dimensionKind(t)
	if err != nil {
		return false, err
	}
	_, closer, err := s.db.Get(snapshotKey(kind))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading the snapshot mark of %s: %w", t, err)
	}
	return true, closer.Close()
}

// Mirrors appends to dst the mirror rows of global table t, deleted rows
// included, for the rows with ids above after, in id order, at most
// limit of them, and returns them with the last id it appended. The
// global stage is written first: the rows are read from Pebble.
func (s *Store) Mirrors(t topology.Table, after int64, limit int, dst []topology.Mirror) ([]topology.Mirror, int64, error) {
	kind, err := dimensionKind(t)
	if err != nil {
		return dst, after, err
	}
	if err := s.flushGlobal(); err != nil {
		return dst, after, err
	}
	if after == math.MaxInt64 {
		return dst, after, nil
	}
	prefix := []byte{rangeGlobal, kind}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: globalKey(nil, kind, after+1), UpperBound: prefixEnd(prefix)})
	if err != nil {
		return dst, after, err
	}
	last := after
	for valid := it.First(); valid && limit > 0; valid = it.Next() {
		key := it.Key()
		if len(key) != len(prefix)+8 {
			return dst, after, errors.Join(fmt.Errorf("%w: key %x", ErrCorrupt, key), it.Close())
		}
		id := readID(key[len(prefix):])
		var m topology.Mirror
		switch kind {
		case kindCustomer:
			var c topology.Stored[topology.Customer]
			c, _, err = s.Customer(id)
			m = topology.Mirror{Row: topology.CustomerRow(c.Row), Version: c.LSN, Deleted: c.Deleted}
		default:
			var v topology.Stored[topology.Vehicle]
			v, _, err = s.Vehicle(id)
			m = topology.Mirror{Row: topology.VehicleRow(v.Row), Version: v.LSN, Deleted: v.Deleted}
		}
		if err != nil {
			return dst, after, errors.Join(err, it.Close())
		}
		dst = append(dst, m)
		last = id
		limit--
	}
	if err := it.Close(); err != nil {
		return dst, after, err
	}
	return dst, last, nil
}
