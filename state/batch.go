package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Batch groups the writes of one partition — rows, the index entries they
// imply, fact versions and consumed offsets — into one atomic commit. Its
// reads see its own writes (it implements topology.PartitionStore). Not
// safe for concurrent use. Commit or Close it; it cannot be reused.
type Batch struct {
	view
	oc batchOrders
	// dbView reads committed state (see committed).
	dbView view
	b      *pebble.Batch
	wkey   []byte // scratch for written keys
	wval   []byte // scratch for written values
	done   bool
}

var _ topology.PartitionStore = (*Batch)(nil)

func (b *Batch) pb() *pebble.Batch { return b.b }

// finish marks the batch used: later reads and writes fail.
func (b *Batch) finish() {
	b.done = true
	b.r = doneReader{}
}

func (b *Batch) set(key, val []byte) error {
	if b.done {
		return ErrBatchDone
	}
	return b.pb().Set(key, val, nil)
}

func (b *Batch) del(key []byte) error {
	if b.done {
		return ErrBatchDone
	}
	return b.pb().Delete(key, nil)
}

// PutOrder implements topology.PartitionStore; it keeps the customer →
// orders index (live orders only).
func (b *Batch) PutOrder(s topology.Stored[topology.Order]) error {
	id := s.Row.ID
	if b.done {
		_, _, err := b.view.Order(id)
		return err
	}
	e, err := b.orderOf(id)
	if err != nil {
		return err
	}
	// The index holds live orders: an entry goes when the order is
	// deleted or moves to another customer, and is written only when it
	// is new (an update of a live order leaves it as it is).
	old := &e.order
	indexed := e.orderFound && !old.Deleted
	if indexed && (s.Deleted || old.Row.CustomerID != s.Row.CustomerID) {
		b.wkey = partKey(b.wkey[:0], b.part, kindCustOrders, old.Row.CustomerID, id)
		b.indexChanged(indexOp{kind: kindCustOrders, id: old.Row.CustomerID, order: id})
		if err := b.del(b.wkey); err != nil {
			return fmt.Errorf("writing order %d: %w", id, err)
		}
		indexed = false
	}
	if !s.Deleted && !indexed {
		b.wkey = partKey(b.wkey[:0], b.part, kindCustOrders, s.Row.CustomerID, id)
		b.indexChanged(indexOp{kind: kindCustOrders, add: true, id: s.Row.CustomerID, order: id})
		if err := b.set(b.wkey, nil); err != nil {
			return fmt.Errorf("writing order %d: %w", id, err)
		}
	}
	b.wkey = partKey(b.wkey[:0], b.part, kindOrder, id)
	b.wval = appendOrder(b.wval[:0], &s)
	if err := b.set(b.wkey, b.wval); err != nil {
		return fmt.Errorf("writing order %d: %w", id, err)
	}
	e.order, e.orderFound, e.changed = s, true, true
	return nil
}

// PutItem implements topology.PartitionStore; it keeps the vehicle →
// items index (live items only): an item that switched vehicle leaves the
// old vehicle's entries.
func (b *Batch) PutItem(s topology.Stored[topology.OrderItem]) error {
	id, orderID := s.Row.ID, s.Row.OrderID
	if b.done {
		_, _, err := b.view.Item(orderID, id)
		return err
	}
	e, err := b.itemsOf(orderID)
	if err != nil {
		return err
	}
	// As for orders: the entry of a live item goes when it is deleted or
	// switches vehicle and is written only when new.
	i, found := findItem(e.items, id)
	indexed := found && !e.items[i].Deleted
	if indexed && (s.Deleted || e.items[i].Row.VehicleID != s.Row.VehicleID) {
		oldVehicle := e.items[i].Row.VehicleID
		b.wkey = partKey(b.wkey[:0], b.part, kindVehItems, oldVehicle, orderID, id)
		b.indexChanged(indexOp{kind: kindVehItems, id: oldVehicle, order: orderID, item: id})
		if err := b.del(b.wkey); err != nil {
			return fmt.Errorf("writing order item %d: %w", id, err)
		}
		indexed = false
	}
	if !s.Deleted && !indexed {
		b.wkey = partKey(b.wkey[:0], b.part, kindVehItems, s.Row.VehicleID, orderID, id)
		b.indexChanged(indexOp{kind: kindVehItems, add: true, id: s.Row.VehicleID, order: orderID, item: id})
		if err := b.set(b.wkey, nil); err != nil {
			return fmt.Errorf("writing order item %d: %w", id, err)
		}
	}
	b.wkey = childKey(b.wkey[:0], b.part, orderID, kindItem, id)
	b.wval = appendItem(b.wval[:0], &s)
	if err := b.set(b.wkey, b.wval); err != nil {
		return fmt.Errorf("writing order item %d: %w", id, err)
	}
	if found {
		e.items[i] = s
	} else {
		e.items = slices.Insert(e.items, i, s)
	}
	e.changed = true
	return nil
}

// PutPayment implements topology.PartitionStore.
func (b *Batch) PutPayment(s topology.Stored[topology.Payment]) error {
	b.wkey = childKey(b.wkey[:0], b.part, s.Row.OrderID, kindPayment, s.Row.ID)
	b.wval = appendPayment(b.wval[:0], &s)
	if err := b.set(b.wkey, b.wval); err != nil {
		return fmt.Errorf("writing payment %d: %w", s.Row.ID, err)
	}
	// The batch's entry replaces the cached one at commit; without loaded
	// payments it loads them, this one included, from the batch when
	// needed.
	e, err := b.entry(s.Row.OrderID)
	if err != nil {
		return err
	}
	if e.paymentsLoaded {
		if i, found := findPayment(e.payments, s.Row.ID); found {
			e.payments[i] = s
		} else {
			e.payments = slices.Insert(e.payments, i, s)
		}
		e.changed = true
	}
	return nil
}

// SetFactVersion implements topology.PartitionStore. The state keeps no
// version per fact: the partition has one fact-version clock, the highest
// version it emitted, written once per batch. Since every version the
// join rules choose exceeds what LastFactVersion returned — the clock —,
// each is higher than every earlier version of the partition, hence of its
// own fact key: strictly increasing per key, with one key written per
// batch instead of one per fact.
func (b *Batch) SetFactVersion(_ int64, version uint64) error {
	if _, _, err := b.LastFactVersion(0); err != nil { // the committed clock
		return err
	}
	if version > b.oc.clock {
		b.oc.clock, b.oc.clockSet = version, true
	}
	return nil
}

// SetOffset records in the batch that the partition's state reflects the
// records of (topic, partition) before next: the order-stream topics'
// own partition, and the global topics' partitions whose refreshes the
// partition has applied.
func (b *Batch) SetOffset(topic string, partition int32, next int64) error {
	if err := checkOffset(topic, next); err != nil {
		return err
	}
	b.wkey = offsetKey(b.wkey[:0], b.part, topic, partition)
	b.wval = binary.AppendUvarint(b.wval[:0], uint64(next))
	return b.set(b.wkey, b.wval)
}

// Empty reports whether the batch holds no writes (true once used).
func (b *Batch) Empty() bool { return b.done || b.pb().Empty() && !b.oc.clockSet }

// Commit applies the batch atomically (synced unless Options.NoSync),
// after the partition's staged batches, and releases it.
func (b *Batch) Commit() error {
	return b.commit(false)
}

// Stage keeps the batch in the partition's stage (see stage.go) and
// releases it: readers see it at once, Pebble at the next flush, and a
// crash before then loses it. Only for batches whose rows stay in the
// node until the partition is flushed (Partition.Flush). A partition not
// held whole in memory cannot stage: the batch is then committed.
func (b *Batch) Stage() error {
	return b.commit(true)
}

func (b *Batch) commit(stage bool) error {
	if b.done {
		return ErrBatchDone
	}
	if b.oc.clockSet {
		b.wkey = partKey(b.wkey[:0], b.part, kindFactClock)
		b.wval = binary.AppendUvarint(b.wval[:0], b.oc.clock)
		if err := b.set(b.wkey, b.wval); err != nil {
			return errors.Join(fmt.Errorf("writing the fact-version clock: %w", err), b.Close())
		}
	}
	b.finish()
	if f := b.s.failed.Load(); f != nil {
		b.oc = batchOrders{}
		return errors.Join(*f, b.pb().Close())
	}
	var staged bool
	var err error
	if stage {
		staged, err = b.oc.pc.stage(b.oc.gen, b.part, b.pb(), b.oc.orders, b.oc.clock, b.oc.ops)
	} else {
		err = b.oc.pc.flush(false)
	}
	if staged || err != nil {
		b.oc = batchOrders{}
		if errors.Is(err, ErrFailed) {
			return err
		}
		return errors.Join(err, b.pb().Close())
	}
	err = b.s.commit(b.pb())
	// The cache holds committed values only: install the batch's views,
	// clock and index changes once visible, or forget what it touched if
	// the commit failed (it may have reached the memtable or not).
	if err == nil {
		err = b.oc.pc.install(b.oc.gen, b.oc.orders, b.oc.clock, b.oc.ops)
	} else {
		b.oc.pc.invalidate(b.oc.orders)
	}
	b.oc = batchOrders{}
	return joinClose(err, b.pb())
}

// Close discards the batch if it was not committed. Idempotent.
func (b *Batch) Close() error {
	if b.done {
		return nil
	}
	b.finish()
	b.oc = batchOrders{}
	return b.pb().Close()
}

// GlobalBatch groups writes of the global tables and the global topics'
// offsets. Its reads see its own writes (it implements
// topology.GlobalStore). Commit writes them to Pebble atomically; Stage
// keeps them in memory, coalesced with other staged batches, until a
// flush (see Store.Flush). Either way the dimension cache then holds the
// rows it wrote and every reader sees them. Not safe for concurrent use.
// Commit, Stage or Close it; it cannot be reused.
type GlobalBatch struct {
	view
	offsets map[string]int64 // offset key → next
	wval    []byte
	done    bool
}

var _ topology.GlobalStore = (*GlobalBatch)(nil)

// NewGlobalBatch starts a write batch on the global tables.
func (s *Store) NewGlobalBatch() *GlobalBatch {
	return &GlobalBatch{view: view{s: s, r: s.db, part: -1, owned: true, pending: map[cacheKey]string{}}}
}

// finish marks the batch used: later reads and writes fail.
func (g *GlobalBatch) finish() {
	g.done = true
	g.r = doneReader{}
	g.pending = nil
}

func (g *GlobalBatch) put(kind byte, id int64) error {
	if g.done {
		return ErrBatchDone
	}
	g.pending[cacheKey{kind, id}] = string(g.wval)
	return nil
}

// PutCustomer implements topology.GlobalStore.
func (g *GlobalBatch) PutCustomer(s topology.Stored[topology.Customer]) error {
	g.wval = appendCustomer(g.wval[:0], &s)
	if err := g.put(kindCustomer, s.Row.ID); err != nil {
		return fmt.Errorf("writing customer %d: %w", s.Row.ID, err)
	}
	return nil
}

// PutVehicle implements topology.GlobalStore. The features text is
// written only when it differs from the stored one: most changes of a
// vehicle (price, stock) leave a document of kilobytes as it was. A
// features text that became NULL stays stored, unread, until the next
// non-NULL one replaces it.
func (g *GlobalBatch) PutVehicle(s topology.Stored[topology.Vehicle]) error {
	id := s.Row.ID
	if f := s.Row.Features; f.Valid {
		old, found, err := g.features(id)
		if err != nil {
			return fmt.Errorf("writing vehicle %d: %w", id, err)
		}
		if !found || old != f.V {
			g.wval = appendFeatures(g.wval[:0], f.V)
			if err := g.put(kindFeatures, id); err != nil {
				return fmt.Errorf("writing vehicle %d: %w", id, err)
			}
		}
	}
	g.wval = appendVehicle(g.wval[:0], &s)
	if err := g.put(kindVehicle, id); err != nil {
		return fmt.Errorf("writing vehicle %d: %w", id, err)
	}
	return nil
}

// SetOffset records in the batch that the global tables reflect the
// records of (topic, partition) before next.
func (g *GlobalBatch) SetOffset(topic string, partition int32, next int64) error {
	if g.done {
		return ErrBatchDone
	}
	if err := checkOffset(topic, next); err != nil {
		return err
	}
	if g.offsets == nil {
		g.offsets = map[string]int64{}
	}
	g.offsets[string(offsetKey(nil, -1, topic, partition))] = next
	return nil
}

// Empty reports whether the batch holds no writes (true once used).
func (g *GlobalBatch) Empty() bool { return g.done || len(g.pending) == 0 && len(g.offsets) == 0 }

// Commit writes the batch, with every staged write of the global tables,
// to Pebble atomically (synced unless Options.NoSync), and releases it.
func (g *GlobalBatch) Commit() error {
	if err := g.Stage(); err != nil {
		return err
	}
	return g.s.flushGlobal(false)
}

// Stage hands the batch's writes to the store's stage and releases the
// batch: every reader sees its rows at once, Pebble gets them at the next
// flush — the next Commit, Store.Flush or Close, or this call when the
// stage outgrew Options.StageBytes. A crash loses the writes staged since
// the last flush, offsets included, so the records they reflect are read
// again: use it where re-applying them is harmless and nothing durable
// elsewhere depends on them (the global tables' bootstrap).
func (g *GlobalBatch) Stage() error {
	if g.done {
		return ErrBatchDone
	}
	rows, offsets := g.pending, g.offsets
	g.finish()
	if f := g.s.failed.Load(); f != nil {
		return *f
	}
	// Staged before cached: a reader that misses the cache then finds
	// the row staged (see view.dimValue).
	full := g.s.stage.add(rows, offsets)
	g.s.cache.install(rows)
	if full {
		return g.s.flushGlobal(true)
	}
	return nil
}

// Close discards the batch if it was not committed or staged. Idempotent.
func (g *GlobalBatch) Close() error {
	if !g.done {
		g.finish()
	}
	return nil
}

func checkOffset(topic string, next int64) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	if next < 0 {
		return fmt.Errorf("negative offset %d for %s", next, topic)
	}
	return nil
}

// joinClose closes a committed pebble batch, keeping the commit's error
// first.
func joinClose(err error, b *pebble.Batch) error {
	if errors.Is(err, ErrFailed) {
		// Pebble's commit pipeline may still hold the batch.
		return err
	}
	if cerr := b.Close(); err == nil && cerr != nil {
		return fmt.Errorf("releasing state batch: %w", cerr)
	}
	return err
}

// doneReader stands for the reader of a used batch.
type doneReader struct{}

func (doneReader) Get([]byte) ([]byte, io.Closer, error)                 { return nil, nil, ErrBatchDone }
func (doneReader) NewIter(*pebble.IterOptions) (*pebble.Iterator, error) { return nil, ErrBatchDone }
func (doneReader) NewIterWithContext(context.Context, *pebble.IterOptions) (*pebble.Iterator, error) {
	return nil, ErrBatchDone
}
func (doneReader) Close() error { return nil }
