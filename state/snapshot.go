package state

import (
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// The mirror rows of the global tables are written by one node, the
// mirror writer (see package actors), from the state: all of them when it
// starts from nothing (Mirrors), and those of the rows that records
// changed after that (MirrorsOf).

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

// Mirrors appends to dst the mirror rows of global table t, deleted rows
// included, for the rows with ids above after, in id order, at most
// limit of them, and returns them with the last id it appended. The
// global stage is written first: the rows are read from Pebble.
func (s *Store) Mirrors(t topology.Table, after int64, limit int, dst []topology.Mirror) ([]topology.Mirror, int64, error) {
	kind, err := dimensionKind(t)
	if err != nil {
		return dst, after, err
	}
	if err := s.flushGlobal(false); err != nil {
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
		// The row is decoded from the iterator; a vehicle's features text
		// has a key of its own.
		val, err := it.ValueAndErr()
		var m topology.Mirror
		switch {
		case err != nil:
		case kind == kindCustomer:
			var c topology.Stored[topology.Customer]
			c, err = decodeCustomer(val)
			m = topology.Mirror{Row: topology.CustomerRow(c.Row), Version: c.LSN, Deleted: c.Deleted}
		default:
			var v topology.Stored[topology.Vehicle]
			if v, err = decodeVehicle(val); err == nil {
				err = s.view.withFeatures(id, &v)
			}
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

// MirrorsOf appends to dst the mirror rows of the given rows of global
// table t, deleted rows included, in the order of ids; ids not stored are
// skipped. Rows are read like Customer and Vehicle (the dimension cache,
// the stage, then Pebble).
func (s *Store) MirrorsOf(t topology.Table, ids []int64, dst []topology.Mirror) ([]topology.Mirror, error) {
	for _, id := range ids {
		switch t {
		case topology.TableCustomers:
			c, ok, err := s.view.Customer(id)
			if err != nil {
				return dst, err
			}
			if ok {
				dst = append(dst, topology.Mirror{Row: topology.CustomerRow(c.Row), Version: c.LSN, Deleted: c.Deleted})
			}
		case topology.TableVehicles:
			v, ok, err := s.view.Vehicle(id)
			if err != nil {
				return dst, err
			}
			if ok {
				dst = append(dst, topology.Mirror{Row: topology.VehicleRow(v.Row), Version: v.LSN, Deleted: v.Deleted})
			}
		default:
			return dst, fmt.Errorf("%s: %w", t, topology.ErrWrongScope)
		}
	}
	return dst, nil
}
