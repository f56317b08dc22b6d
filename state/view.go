package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// view reads the global tables and, when part ≥ 0, one partition, through
// r: the DB (committed state) or an indexed batch (its writes included).
// Every value returned is decoded into fresh Go values: nothing aliases
// Pebble's memory.
type view struct {
	s    *Store
	r    pebble.Reader
	part int32
	// pending holds the encoded global rows written by this view's batch:
	// reads of them bypass the cache, which holds committed values only.
	pending map[cacheKey]string
	// owned marks the view of a batch, used by one goroutine: it builds
	// keys in key. Shared views (the DB's) allocate per call.
	owned bool
	key   []byte
}

// buf returns an empty buffer to build a key in.
func (v *view) buf() []byte {
	if v.owned {
		return v.key[:0]
	}
	return make([]byte, 0, 40)
}

// keep returns k, remembering it as scratch for owned views.
func (v *view) keep(k []byte) []byte {
	if v.owned {
		v.key = k
	}
	return k
}

// get reads one key; found is false when it is absent.
func (v *view) get(key []byte, fn func(val []byte) error) (found bool, err error) {
	val, closer, err := v.r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer closer.Close()
	return true, fn(val)
}

// scan calls fn for every key with the given prefix, in key order. A
// prefix within a group (an order's rows, a customer's orders; see split)
// is sought with SeekPrefixGE, which skips the tables whose bloom filters
// lack it: a cold scan then reads the data of one level, not of every
// level whose key range covers the prefix.
func (v *view) scan(prefix []byte, fn func(key, val []byte) error) error {
	it, err := v.r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	var valid bool
	if inGroup(prefix) {
		valid = it.SeekPrefixGE(prefix)
	} else {
		valid = it.First()
	}
	for ; valid; valid = it.Next() {
		val, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), val)
		}
		if err != nil {
			return errors.Join(err, it.Close())
		}
	}
	return it.Close()
}

// getRow reads and decodes one stored row.
func getRow[T any](v *view, key []byte, decode func([]byte) (topology.Stored[T], error)) (s topology.Stored[T], found bool, err error) {
	found, err = v.get(key, func(val []byte) error {
		s, err = decode(val)
		return err
	})
	return s, found, err
}

// dimension reads a customer or vehicle row (see dimValue).
func dimension[T any](v *view, kind byte, id int64, read func(dec) (topology.Stored[T], error)) (topology.Stored[T], bool, error) {
	val, found, err := v.dimValue(kind, id)
	if err != nil || !found {
		var zero topology.Stored[T]
		return zero, false, err
	}
	s, err := read(aliasDec(val))
	return s, err == nil, err
}

// dimValue reads an encoded value of the global tables: the view's own
// pending writes first (a GlobalBatch's), then the cache, then the staged
// writes (see stage), then Pebble.
func (v *view) dimValue(kind byte, id int64) (string, bool, error) {
	k := cacheKey{kind, id}
	if val, ok := v.pending[k]; ok {
		return val, true, nil
	}
	val, result, epoch := v.s.cache.get(k)
	switch result {
	case cacheHit:
		return val, true, nil
	case cacheAbsent:
		return "", false, nil
	}
	if val, ok := v.s.stage.get(k); ok {
		v.s.cache.add(k, val, epoch)
		return val, true, nil
	}
	key := v.keep(globalKey(v.buf(), kind, id))
	found, err := v.get(key, func(b []byte) error {
		val = string(b)
		return nil
	})
	if err != nil || !found {
		return "", false, err
	}
	v.s.cache.add(k, val, epoch)
	return val, true, nil
}

// features returns the stored text of a vehicle's features, if any.
func (v *view) features(id int64) (string, bool, error) {
	val, found, err := v.dimValue(kindFeatures, id)
	if err != nil || !found {
		return "", false, err
	}
	text, err := readFeatures(aliasDec(val))
	return text, err == nil, err
}

// withFeatures fills in the features text of vehicle id: the row says
// whether features is NULL; the text has a key of its own
// (appendVehicle).
func (v *view) withFeatures(id int64, s *topology.Stored[topology.Vehicle]) error {
	if !s.Row.Features.Valid {
		return nil
	}
	text, found, err := v.features(id)
	if err == nil && !found {
		err = fmt.Errorf("%w: features not NULL but not stored", ErrCorrupt)
	}
	s.Row.Features.V = text
	return err
}

// Customer implements topology.GlobalRows.
func (v *view) Customer(id int64) (topology.Stored[topology.Customer], bool, error) {
	s, ok, err := dimension(v, kindCustomer, id, readCustomer)
	if err != nil {
		return s, false, fmt.Errorf("reading customer %d: %w", id, err)
	}
	return s, ok, nil
}

// Vehicle implements topology.GlobalRows.
func (v *view) Vehicle(id int64) (topology.Stored[topology.Vehicle], bool, error) {
	s, ok, err := dimension(v, kindVehicle, id, readVehicle)
	if err == nil && ok && v.part < 0 {
		// A partition's reads, which serve the facts, leave the features
		// text out (see topology.Rows).
		err = v.withFeatures(id, &s)
	}
	if err != nil {
		return s, false, fmt.Errorf("reading vehicle %d: %w", id, err)
	}
	return s, ok, nil
}

// Order implements topology.Rows.
func (v *view) Order(id int64) (topology.Stored[topology.Order], bool, error) {
	key := v.keep(partKey(v.buf(), v.part, kindOrder, id))
	s, ok, err := getRow(v, key, decodeOrder)
	if err != nil {
		return s, false, fmt.Errorf("reading order %d: %w", id, err)
	}
	return s, ok, nil
}

// Item implements topology.Rows.
func (v *view) Item(orderID, itemID int64) (topology.Stored[topology.OrderItem], bool, error) {
	key := v.keep(childKey(v.buf(), v.part, orderID, kindItem, itemID))
	s, ok, err := getRow(v, key, decodeItem)
	if err != nil {
		return s, false, fmt.Errorf("reading order item %d: %w", itemID, err)
	}
	return s, ok, nil
}

// Payment implements topology.Rows.
func (v *view) Payment(orderID, paymentID int64) (topology.Stored[topology.Payment], bool, error) {
	key := v.keep(childKey(v.buf(), v.part, orderID, kindPayment, paymentID))
	s, ok, err := getRow(v, key, decodePayment)
	if err != nil {
		return s, false, fmt.Errorf("reading payment %d: %w", paymentID, err)
	}
	return s, ok, nil
}

// orderEntry reads an order's row, items and payments: one prefix scan,
// since they are clustered under the order's key. The entry is marked
// changed: it came from Pebble, not from the partition cache.
func (v *view) orderEntry(id int64) (*orderEntry, error) {
	e := &orderEntry{orderLoaded: true, itemsLoaded: true, paymentsLoaded: true, changed: true}
	prefix := v.keep(partKey(v.buf(), v.part, kindOrder, id))
	n := len(prefix) - 8
	if err := v.scan(prefix, func(key, val []byte) error { return e.add(key[n:], val) }); err != nil {
		return nil, fmt.Errorf("reading order %d: %w", id, err)
	}
	return e, nil
}

// ItemsOfOrder implements topology.Rows: the items are clustered under
// their order, so this is one prefix scan.
func (v *view) ItemsOfOrder(orderID int64, dst []topology.Stored[topology.OrderItem]) ([]topology.Stored[topology.OrderItem], error) {
	key := v.keep(append(partKey(v.buf(), v.part, kindOrder, orderID), kindItem))
	err := v.scan(key, func(_, val []byte) error {
		s, err := decodeItem(val)
		dst = append(dst, s)
		return err
	})
	if err != nil {
		return dst, fmt.Errorf("reading items of order %d: %w", orderID, err)
	}
	return dst, nil
}

// PaymentsOfOrder implements topology.Rows (one prefix scan).
func (v *view) PaymentsOfOrder(orderID int64, dst []topology.Stored[topology.Payment]) ([]topology.Stored[topology.Payment], error) {
	key := v.keep(append(partKey(v.buf(), v.part, kindOrder, orderID), kindPayment))
	err := v.scan(key, func(_, val []byte) error {
		s, err := decodePayment(val)
		dst = append(dst, s)
		return err
	})
	if err != nil {
		return dst, fmt.Errorf("reading payments of order %d: %w", orderID, err)
	}
	return dst, nil
}

// OrdersOfCustomer implements topology.Rows.
func (v *view) OrdersOfCustomer(customerID int64, dst []int64) ([]int64, error) {
	key := v.keep(partKey(v.buf(), v.part, kindCustOrders, customerID))
	n := len(key)
	err := v.scan(key, func(key, _ []byte) error {
		if len(key) != n+8 {
			return fmt.Errorf("%w: index key %x", ErrCorrupt, key)
		}
		dst = append(dst, readID(key[n:]))
		return nil
	})
	if err != nil {
		return dst, fmt.Errorf("reading orders of customer %d: %w", customerID, err)
	}
	return dst, nil
}

// ItemsOfVehicle implements topology.Rows.
func (v *view) ItemsOfVehicle(vehicleID int64, dst []topology.ItemRef) ([]topology.ItemRef, error) {
	key := v.keep(partKey(v.buf(), v.part, kindVehItems, vehicleID))
	n := len(key)
	err := v.scan(key, func(key, _ []byte) error {
		if len(key) != n+16 {
			return fmt.Errorf("%w: index key %x", ErrCorrupt, key)
		}
		dst = append(dst, topology.ItemRef{OrderID: readID(key[n:]), ItemID: readID(key[n+8:])})
		return nil
	})
	if err != nil {
		return dst, fmt.Errorf("reading items of vehicle %d: %w", vehicleID, err)
	}
	return dst, nil
}

// LastFactVersion implements topology.Rows: the partition's fact-version
// clock (see Batch.SetFactVersion).
func (v *view) LastFactVersion(int64) (uint64, bool, error) {
	clock, err := v.factClock()
	return clock, clock > 0, err
}

// factClock reads the partition's fact-version clock (0 if none).
func (v *view) factClock() (clock uint64, err error) {
	key := v.keep(partKey(v.buf(), v.part, kindFactClock))
	_, err = v.get(key, func(val []byte) error {
		clock, err = decodeUvarint(val, "fact-version clock")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reading the fact-version clock: %w", err)
	}
	return clock, nil
}

// offset reads one offset of scope p (-1: global).
func (v *view) offset(p int32, topic string, partition int32) (next int64, found bool, err error) {
	if err := checkTopic(topic); err != nil {
		return 0, false, err
	}
	key := offsetKey(nil, p, topic, partition)
	found, err = v.get(key, func(val []byte) error {
		n, err := decodeUvarint(val, "offset")
		next = int64(n)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("reading offset of %s/%d: %w", topic, partition, err)
	}
	return next, found, nil
}

// offsets lists the offsets of scope p (-1: global).
func (v *view) offsets(p int32) ([]Offset, error) {
	var prefix []byte
	if p < 0 {
		prefix = []byte{rangeGlobal, kindOffset}
	} else {
		prefix = append(partitionPrefix(nil, p), kindOffset)
	}
	var out []Offset
	err := v.scan(prefix, func(key, val []byte) error {
		rest := key[len(prefix):]
		i := bytes.IndexByte(rest, 0)
		if i <= 0 || len(rest) != i+5 {
			return fmt.Errorf("%w: offset key %x", ErrCorrupt, key)
		}
		n, err := decodeUvarint(val, "offset")
		if err != nil {
			return err
		}
		out = append(out, Offset{Topic: string(rest[:i]), Partition: int32(binary.BigEndian.Uint32(rest[i+1:])), Next: int64(n)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing offsets: %w", err)
	}
	return out, nil
}
