package state

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// The partition cache keeps, per partition, the rows that the facts of
// an order share — the order, its items, its payments —, the last fact
// version of items and the partition's indexes (customer → orders,
// vehicle → items) in memory, so that the join rules, which read the same
// order several times per change, and refreshes, which reach old orders
// all over the partition, read memory instead of Pebble.
//
// Order views are encoded (the state codec, see appendEntry) and held in
// arenas (arena.go), bounded in bytes by two generations. On first use a
// partition loads its range; when every order fits, the cache is
// complete: an order it lacks does not exist, and batches read nothing
// from Pebble. The indexes are held whole (ids only) once loaded, until
// they outgrow their share of the bound; index reads then go to Pebble.
//
// Only batches use it, and only with committed values: a Batch works on
// private decoded copies of the entries it touches (its overlay), which it
// loads from the cache or, on a miss, through its indexed batch; every
// write of the batch goes through the overlay and Pebble alike. After a
// successful commit the overlay replaces the cache's entries and the
// batch's index changes are applied; after a failed one the touched
// entries are dropped (the batch may or may not have reached Pebble), the
// cache is no longer complete, and the indexes are reloaded on next use. A
// generation counter, bumped by every install and drop, guards against
// two batches of one partition open at once (not the convention, but not
// forbidden): a batch whose partition changed generation since it started
// drops what it touched instead of installing it. DropPartition empties
// the cache (an empty partition is complete). Reads of Partition handles
// (committed state) do not use the cache.

// orderEntry is the view of one order. Each part is loaded on demand;
// items and payments are sorted by id and include tombstones. A Batch
// owns the entries of its overlay.
type orderEntry struct {
	order          topology.Stored[topology.Order]
	orderFound     bool
	orderLoaded    bool
	itemsLoaded    bool
	paymentsLoaded bool
	items          []topology.Stored[topology.OrderItem]
	payments       []topology.Stored[topology.Payment]
	// changed marks an entry of a batch's overlay that differs from the
	// cached one (written, or read from Pebble): only those are installed.
	changed bool
}

// add decodes a row of the order's keys into e: rest is what follows the
// kind byte of the key. The keys come in key order: the order's row, then
// its items, then its payments.
func (e *orderEntry) add(rest, val []byte) error {
	switch childKind(rest) {
	case 0:
		o, err := decodeOrder(val)
		e.order, e.orderFound = o, true
		return err
	case kindItem:
		it, err := decodeItem(val)
		e.items = append(e.items, it)
		return err
	case kindPayment:
		p, err := decodePayment(val)
		e.payments = append(e.payments, p)
		return err
	}
	return fmt.Errorf("%w: order key %x", ErrCorrupt, rest)
}

// Entry flags of the encoding.
const (
	entryOrderLoaded = 1 << iota
	entryOrderFound
	entryItemsLoaded
	entryPaymentsLoaded
)

// appendEntry encodes e: a flags byte, the order (if loaded and found),
// then, if loaded, a uvarint count of items and of payments, each row
// length-prefixed.
func appendEntry(b []byte, e *orderEntry) []byte {
	var flags byte
	if e.orderLoaded {
		flags |= entryOrderLoaded
	}
	if e.orderFound {
		flags |= entryOrderFound
	}
	if e.itemsLoaded {
		flags |= entryItemsLoaded
	}
	if e.paymentsLoaded {
		flags |= entryPaymentsLoaded
	}
	b = append(b, flags)
	if e.orderLoaded && e.orderFound {
		b = appendPrefixed(b, func(b []byte) []byte { return appendOrder(b, &e.order) })
	}
	if e.itemsLoaded {
		b = binary.AppendUvarint(b, uint64(len(e.items)))
		for i := range e.items {
			b = appendPrefixed(b, func(b []byte) []byte { return appendItem(b, &e.items[i]) })
		}
	}
	if e.paymentsLoaded {
		b = binary.AppendUvarint(b, uint64(len(e.payments)))
		for i := range e.payments {
			b = appendPrefixed(b, func(b []byte) []byte { return appendPayment(b, &e.payments[i]) })
		}
	}
	return b
}

// appendPrefixed appends what add appends, preceded by its length as one
// byte or, for 128 bytes and more, a uvarint moved into place.
func appendPrefixed(b []byte, add func([]byte) []byte) []byte {
	at := len(b)
	b = add(append(b, 0))
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	var pre [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(pre[:], uint64(n))
	b = append(b, pre[:k-1]...)
	copy(b[at+k:], b[at+1:at+1+n])
	copy(b[at:], pre[:k])
	return b
}

// decodeEntry decodes an entry encoded by appendEntry; its strings share
// s.
func decodeEntry(s string) (*orderEntry, error) {
	d := aliasDec(s)
	if len(d.b) < 1 {
		return nil, fmt.Errorf("decoding order view: %w: empty", ErrCorrupt)
	}
	flags := d.b[0]
	d.b = d.b[1:]
	e := &orderEntry{
		orderLoaded:    flags&entryOrderLoaded != 0,
		orderFound:     flags&entryOrderFound != 0,
		itemsLoaded:    flags&entryItemsLoaded != 0,
		paymentsLoaded: flags&entryPaymentsLoaded != 0,
	}
	var err error
	if e.orderLoaded && e.orderFound {
		if e.order, err = readOrder(d.sub()); err != nil {
			return nil, err
		}
	}
	if e.itemsLoaded {
		if e.items, err = readRows(&d, readItem); err != nil {
			return nil, err
		}
	}
	if e.paymentsLoaded {
		if e.payments, err = readRows(&d, readPayment); err != nil {
			return nil, err
		}
	}
	if err := d.done("order view"); err != nil {
		return nil, err
	}
	return e, nil
}

// sub returns a decoder of the next length-prefixed row of an order view.
func (d *dec) sub() dec {
	n := d.uint()
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail("order view")
		return dec{err: d.err}
	}
	r := dec{b: d.b[:n], alias: d.alias}
	d.b = d.b[n:]
	return r
}

// readRows reads a uvarint count and that many length-prefixed rows.
func readRows[T any](d *dec, read func(dec) (topology.Stored[T], error)) ([]topology.Stored[T], error) {
	n := min(d.uint(), uint64(len(d.b)))
	rows := make([]topology.Stored[T], 0, n+1)
	for range n {
		r, err := read(d.sub())
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// partCache holds the committed order views, fact-version clock and
// indexes of one partition. Views are bounded in bytes by two
// generations: a lookup that finds an entry in the older generation moves
// it to the current one, and when the current one is full it becomes the
// older one (and the older one is dropped). Safe for concurrent use.
type partCache struct {
	mu         sync.Mutex
	limit      int64 // bytes of order views per generation
	indexLimit int   // index entries held at most
	chunk      int   // arena chunk size
	gen        uint64
	orders     *table
	oldOrders  *table
	// clock is the partition's fact-version clock (see Batch.SetFactVersion).
	clock uint64
	// loaded is set once the partition's range was read on first use;
	// complete while every order view of the partition is held.
	loaded, complete bool
	// The indexes, held whole while indexed, sorted id lists;
	// indexEntries counts their ids. indexOff is set when they outgrew
	// indexLimit: index reads then go to Pebble.
	indexed, indexOff bool
	indexEntries      int
	custOrders        map[int64][]int64
	vehItems          map[int64][]topology.ItemRef
	// Counters: order lookups that memory answered or not, index reads
	// served from memory.
	orderHits, orderMisses, indexHits uint64
	// The stage (see stage): the writes of committed batches not yet in
	// Pebble, by key, while the partition is held whole.
	s           *Store
	part        int32
	stageLimit  int64 // bytes; ≤ 0: no staging
	staged      map[string]stagedWrite
	stagedBytes int64
}

// stagedWrite is the last write of a key in a partition's stage.
type stagedWrite struct {
	val []byte
	del bool
}

// indexEntryBytes approximates the memory of one index entry (an id in a
// slice, its share of the map slot and of the slice's spare capacity).
const indexEntryBytes = 40

// newPartCache returns the cache of a partition bounded by bytes: three
// quarters for two generations of order views, a quarter for the indexes
// (which take a sixth of the memory of a view per entry).
func newPartCache(bytes int64) *partCache {
	if bytes <= 0 {
		return nil
	}
	c := &partCache{
		limit:      max(1, bytes*3/8),
		indexLimit: int(bytes / 4 / indexEntryBytes),
	}
	c.chunk = int(min(max(c.limit/16, 4<<10), maxChunk))
	c.orders, c.oldOrders = newTable(c.chunk), newTable(c.chunk)
	return c
}

// generation returns the generation a batch starts from.
func (c *partCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// load reads partition part's views and fact-version clock on first use.
// The caller holds mu.
func (c *partCache) load(s *Store, part int32) error {
	if c.loaded {
		return nil
	}
	entries := map[int64]*orderEntry{}
	entryOf := func(id int64) *orderEntry {
		e := entries[id]
		if e == nil {
			e = &orderEntry{orderLoaded: true, itemsLoaded: true, paymentsLoaded: true}
			entries[id] = e
		}
		return e
	}
	err := scanPartition(s, part, kindOrder, func(rest, val []byte) error {
		return entryOf(readID(rest)).add(rest, val)
	})
	var clock uint64
	if err == nil {
		// Pebble's copy: the stage is empty while the cache is not loaded.
		clock, err = (&view{s: s, r: s.db, part: part}).factClock()
	}
	if err != nil {
		return fmt.Errorf("loading the state of partition %d: %w", part, err)
	}
	c.loaded, c.clock = true, clock
	var buf []byte
	for id, e := range entries {
		buf = appendEntry(buf[:0], e)
		if !c.orders.put(id, unsafe.String(unsafe.SliceData(buf), len(buf))) || c.orders.size() > c.limit {
			// Too large to hold whole: keep what fits, fill on demand.
			return nil
		}
	}
	c.complete = true
	return nil
}

// loadIndexes reads partition part's indexes. The caller holds mu.
func (c *partCache) loadIndexes(s *Store, part int32) error {
	if c.indexed || c.indexOff {
		return nil
	}
	custOrders := map[int64][]int64{}
	vehItems := map[int64][]topology.ItemRef{}
	entries := 0
	err := scanPartition(s, part, kindCustOrders, func(rest, _ []byte) error {
		if len(rest) != 16 {
			return fmt.Errorf("%w: index key %x", ErrCorrupt, rest)
		}
		id := readID(rest)
		custOrders[id] = append(custOrders[id], readID(rest[8:]))
		entries++
		return nil
	})
	if err == nil {
		err = scanPartition(s, part, kindVehItems, func(rest, _ []byte) error {
			if len(rest) != 24 {
				return fmt.Errorf("%w: index key %x", ErrCorrupt, rest)
			}
			id := readID(rest)
			vehItems[id] = append(vehItems[id], topology.ItemRef{OrderID: readID(rest[8:]), ItemID: readID(rest[16:])})
			entries++
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("loading the indexes of partition %d: %w", part, err)
	}
	c.custOrders, c.vehItems, c.indexed, c.indexEntries = custOrders, vehItems, true, entries
	return c.checkIndexSize()
}

// checkIndexSize drops the indexes when they outgrow their share of the
// bound: index reads then scan Pebble. The caller holds mu.
func (c *partCache) checkIndexSize() error {
	if c.indexed && c.indexEntries > c.indexLimit {
		// Index reads go to Pebble from now on: it must have everything.
		if err := c.flushStage(false); err != nil {
			return err
		}
		c.indexed, c.custOrders, c.vehItems, c.indexOff = false, nil, nil, true
	}
	return nil
}

// scanPartition calls fn with the rest of every committed key of kind in
// partition part (what follows the kind: at least an id), in key order.
func scanPartition(s *Store, part int32, kind byte, fn func(rest, val []byte) error) error {
	prefix := append(partitionPrefix(nil, part), kind)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		rest := it.Key()[len(prefix):]
		if len(rest) < 8 {
			return errors.Join(fmt.Errorf("%w: key %x", ErrCorrupt, it.Key()), it.Close())
		}
		val, err := it.ValueAndErr()
		if err == nil {
			err = fn(rest, val)
		}
		if err != nil {
			return errors.Join(err, it.Close())
		}
	}
	return it.Close()
}

// order returns a decoded copy of the cached entry of the order for the
// batch to own, or nil when memory does not know it. In a complete cache
// an unknown order is an empty, loaded entry.
func (c *partCache) order(s *Store, part int32, id int64) (*orderEntry, error) {
	if c == nil {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(s, part); err != nil {
		return nil, err
	}
	val, ok := c.orders.get(id)
	if !ok {
		if val, ok = c.oldOrders.get(id); ok {
			if err := c.putOrder(id, val); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case ok:
		c.orderHits++
		return decodeEntry(val)
	case c.complete:
		c.orderHits++
		return &orderEntry{orderLoaded: true, itemsLoaded: true, paymentsLoaded: true}, nil
	}
	c.orderMisses++
	return nil, nil
}

// factClock returns the partition's committed fact-version clock.
func (c *partCache) factClock(s *Store, part int32) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(s, part); err != nil {
		return 0, err
	}
	return c.clock, nil
}

// ordersOfCustomer appends the committed live orders of the customer, and
// false when the indexes are not held (too large).
func (c *partCache) ordersOfCustomer(s *Store, part int32, id int64, dst []int64) ([]int64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadIndexes(s, part); err != nil || !c.indexed {
		return dst, false, err
	}
	c.indexHits++
	return append(dst, c.custOrders[id]...), true, nil
}

// itemsOfVehicle appends the committed live items of the vehicle, and
// false when the indexes are not held (too large).
func (c *partCache) itemsOfVehicle(s *Store, part int32, id int64, dst []topology.ItemRef) ([]topology.ItemRef, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.loadIndexes(s, part); err != nil || !c.indexed {
		return dst, false, err
	}
	c.indexHits++
	return append(dst, c.vehItems[id]...), true, nil
}

// putOrder puts a view into the current generation. A view that leaves
// memory (too large to hold, or in the generation a rotation drops) is
// read from Pebble later, so the stage is written first. The caller holds
// mu.
func (c *partCache) putOrder(id int64, val string) error {
	c.oldOrders.delete(id)
	if !c.orders.put(id, val) {
		if err := c.flushStage(false); err != nil {
			return err
		}
		c.complete = false // too large to hold: read on demand
	}
	if c.orders.maybeCompact(); c.orders.size() > c.limit {
		if c.oldOrders.len() > 0 {
			if err := c.flushStage(false); err != nil {
				return err
			}
			c.complete = false
		}
		c.oldOrders, c.orders = c.orders, newTable(c.chunk)
	}
	return nil
}

// indexOp is one change of an index that a batch wrote.
type indexOp struct {
	kind  byte // kindCustOrders or kindVehItems
	add   bool
	id    int64 // customer or vehicle
	order int64
	item  int64 // kindVehItems
}

func (op indexOp) orderID() int64        { return op.order }
func (op indexOp) ref() topology.ItemRef { return topology.ItemRef{OrderID: op.order, ItemID: op.item} }

// install puts the entries of a committed batch that started at
// generation gen, or drops them if another batch or a drop came between,
// and applies the batch's index changes.
func (c *partCache) install(gen uint64, orders map[int64]*orderEntry, clock uint64, ops []indexOp) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.installLocked(gen, orders, clock, ops)
}

func (c *partCache) installLocked(gen uint64, orders map[int64]*orderEntry, clock uint64, ops []indexOp) error {
	if gen != c.gen {
		// Commits of two batches may have reached Pebble in either order.
		if err := c.flushStage(false); err != nil {
			return err
		}
		c.forget(orders)
		c.indexed, c.custOrders, c.vehItems = false, nil, nil
		c.clock = max(c.clock, clock)
		return nil
	}
	c.gen++
	var buf []byte
	for id, e := range orders {
		if !e.changed {
			continue
		}
		buf = appendEntry(buf[:0], e)
		if err := c.putOrder(id, unsafe.String(unsafe.SliceData(buf), len(buf))); err != nil { // copied into the arena
			return err
		}
	}
	c.clock = max(c.clock, clock)
	if c.indexed {
		for _, op := range ops {
			c.applyIndex(op)
		}
		return c.checkIndexSize()
	}
	return nil
}

// applyIndex applies one index change; adding a present entry or removing
// an absent one changes nothing. The caller holds mu.
func (c *partCache) applyIndex(op indexOp) {
	if op.kind == kindCustOrders {
		c.indexEntries += editIndex(c.custOrders, op.id, op.order, op.add, cmp.Compare[int64])
		return
	}
	c.indexEntries += editIndex(c.vehItems, op.id, op.ref(), op.add, compareRefs)
}

// editIndex adds v to the sorted list index[id] or removes it from it,
// dropping a list left empty, and returns the change of its length.
func editIndex[T any](index map[int64][]T, id int64, v T, add bool, compare func(T, T) int) int {
	list, d := editSorted(index[id], v, add, compare)
	switch {
	case d == 0:
	case len(list) == 0:
		delete(index, id)
	default:
		index[id] = list
	}
	return d
}

// editSorted adds v to the sorted list or removes it from it (adding a
// present value or removing an absent one changes nothing), and returns
// the list and the change of its length.
func editSorted[T any](list []T, v T, add bool, compare func(T, T) int) ([]T, int) {
	i, found := slices.BinarySearchFunc(list, v, compare)
	switch {
	case add && !found:
		return slices.Insert(list, i, v), 1
	case !add && found:
		return slices.Delete(list, i, i+1), -1
	}
	return list, 0
}

// invalidate drops what a failed batch touched; the indexes are reloaded
// on next use.
func (c *partCache) invalidate(orders map[int64]*orderEntry) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget(orders)
	c.loaded = false // the clock is read again
	c.indexed, c.custOrders, c.vehItems = false, nil, nil
}

func (c *partCache) forget(orders map[int64]*orderEntry) {
	c.gen++
	if len(orders) > 0 {
		c.complete = false
	}
	for id := range orders {
		c.orders.delete(id)
		c.oldOrders.delete(id)
	}
}

// drop empties the cache (the partition's state was deleted): it is then
// complete, with empty indexes.
func (c *partCache) drop() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.staged, c.stagedBytes = nil, 0
	c.orders, c.oldOrders = newTable(c.chunk), newTable(c.chunk)
	c.clock = 0
	c.loaded, c.complete = true, true
	c.indexed, c.custOrders, c.vehItems = true, map[int64][]int64{}, map[int64][]topology.ItemRef{}
	c.indexOff, c.indexEntries = false, 0
}

// orderStats adds up the counters of every partition's cache.
func (s *Store) orderStats() (st CacheStats) {
	s.partsMu.Lock()
	defer s.partsMu.Unlock()
	for _, c := range s.partCaches {
		c.mu.Lock()
		st.OrderHits += c.orderHits
		st.OrderMisses += c.orderMisses
		st.IndexHits += c.indexHits
		st.OrderEntries += c.orders.len() + c.oldOrders.len()
		st.OrderBytes += c.orders.size() + c.oldOrders.size()
		c.mu.Unlock()
	}
	return st
}

// partCache returns the cache of partition p (nil when disabled).
func (s *Store) partCache(p int32) *partCache {
	if s.orderCacheBytes <= 0 {
		return nil
	}
	s.partsMu.Lock()
	defer s.partsMu.Unlock()
	c := s.partCaches[p]
	if c == nil {
		c = newPartCache(s.orderCacheBytes)
		c.s, c.part, c.stageLimit = s, p, s.partStageBytes
		s.partCaches[p] = c
	}
	return c
}

// batchOrders is a Batch's overlay: the order views and fact versions it
// read or wrote, as the batch sees them, and the index changes it wrote.
type batchOrders struct {
	pc     *partCache
	gen    uint64
	orders map[int64]*orderEntry
	// clock is the batch's fact-version clock once read; clockSet marks
	// a change to write at commit.
	clock               uint64
	clockRead, clockSet bool
	ops                 []indexOp
	// touched holds the customers and vehicles whose index entries the
	// batch changed: their index reads apply ops to the cached entries.
	touched map[cacheKey]struct{}
}

// entry returns the batch's entry of the order, creating it from the
// cache or empty.
func (b *Batch) entry(orderID int64) (*orderEntry, error) {
	if e := b.oc.orders[orderID]; e != nil {
		return e, nil
	}
	e, err := b.oc.pc.order(b.s, b.part, orderID)
	if err != nil {
		return nil, err
	}
	if e == nil {
		// Not in memory: read the order's row, items and payments at once,
		// since the join rules mostly want all three.
		if e, err = b.view.orderEntry(orderID); err != nil {
			return nil, err
		}
	}
	if b.oc.orders == nil {
		b.oc.orders = map[int64]*orderEntry{}
	}
	b.oc.orders[orderID] = e
	return e, nil
}

// indexChanged records an index change of the batch.
func (b *Batch) indexChanged(op indexOp) {
	b.oc.ops = append(b.oc.ops, op)
	if b.oc.touched == nil {
		b.oc.touched = map[cacheKey]struct{}{}
	}
	b.oc.touched[cacheKey{op.kind, op.id}] = struct{}{}
}

// orderOf returns the entry of the order with its order row loaded.
func (b *Batch) orderOf(id int64) (*orderEntry, error) {
	e, err := b.entry(id)
	if err != nil {
		return nil, err
	}
	if !e.orderLoaded {
		s, found, err := b.view.Order(id)
		if err != nil {
			return nil, err
		}
		e.order, e.orderFound, e.orderLoaded, e.changed = s, found, true, true
	}
	return e, nil
}

// itemsOf returns the entry of the order with its items loaded.
func (b *Batch) itemsOf(orderID int64) (*orderEntry, error) {
	e, err := b.entry(orderID)
	if err != nil {
		return nil, err
	}
	if !e.itemsLoaded {
		items, err := b.view.ItemsOfOrder(orderID, nil)
		if err != nil {
			return nil, err
		}
		e.items, e.itemsLoaded, e.changed = items, true, true
	}
	return e, nil
}

// paymentsOf returns the entry of the order with its payments loaded.
func (b *Batch) paymentsOf(orderID int64) (*orderEntry, error) {
	e, err := b.entry(orderID)
	if err != nil {
		return nil, err
	}
	if !e.paymentsLoaded {
		payments, err := b.view.PaymentsOfOrder(orderID, nil)
		if err != nil {
			return nil, err
		}
		e.payments, e.paymentsLoaded, e.changed = payments, true, true
	}
	return e, nil
}

// Order implements topology.Rows through the batch's order views.
func (b *Batch) Order(id int64) (topology.Stored[topology.Order], bool, error) {
	if b.done {
		return b.view.Order(id)
	}
	e, err := b.orderOf(id)
	if err != nil {
		return topology.Stored[topology.Order]{}, false, err
	}
	return e.order, e.orderFound, nil
}

// Item implements topology.Rows through the batch's order views.
func (b *Batch) Item(orderID, itemID int64) (topology.Stored[topology.OrderItem], bool, error) {
	if b.done {
		return b.view.Item(orderID, itemID)
	}
	e, err := b.itemsOf(orderID)
	if err != nil {
		return topology.Stored[topology.OrderItem]{}, false, err
	}
	if i, ok := findItem(e.items, itemID); ok {
		return e.items[i], true, nil
	}
	return topology.Stored[topology.OrderItem]{}, false, nil
}

// Payment implements topology.Rows through the batch's order views.
func (b *Batch) Payment(orderID, paymentID int64) (topology.Stored[topology.Payment], bool, error) {
	if b.done {
		return b.view.Payment(orderID, paymentID)
	}
	e, err := b.paymentsOf(orderID)
	if err != nil {
		return topology.Stored[topology.Payment]{}, false, err
	}
	if i, ok := findPayment(e.payments, paymentID); ok {
		return e.payments[i], true, nil
	}
	return topology.Stored[topology.Payment]{}, false, nil
}

// ItemsOfOrder implements topology.Rows through the batch's order views.
func (b *Batch) ItemsOfOrder(orderID int64, dst []topology.Stored[topology.OrderItem]) ([]topology.Stored[topology.OrderItem], error) {
	if b.done {
		return b.view.ItemsOfOrder(orderID, dst)
	}
	e, err := b.itemsOf(orderID)
	if err != nil {
		return dst, err
	}
	return append(dst, e.items...), nil
}

// PaymentsOfOrder implements topology.Rows through the batch's order
// views.
func (b *Batch) PaymentsOfOrder(orderID int64, dst []topology.Stored[topology.Payment]) ([]topology.Stored[topology.Payment], error) {
	if b.done {
		return b.view.PaymentsOfOrder(orderID, dst)
	}
	e, err := b.paymentsOf(orderID)
	if err != nil {
		return dst, err
	}
	return append(dst, e.payments...), nil
}

// LastFactVersion implements topology.Rows: the partition's fact-version
// clock, which is at least the last version of every fact the partition
// emitted (see SetFactVersion).
func (b *Batch) LastFactVersion(int64) (uint64, bool, error) {
	if b.done {
		return 0, false, ErrBatchDone
	}
	if !b.oc.clockRead {
		clock, err := b.readClock()
		if err != nil {
			return 0, false, err
		}
		b.oc.clock, b.oc.clockRead = clock, true
	}
	return b.oc.clock, b.oc.clock > 0, nil
}

// readClock reads the committed clock, from the cache or Pebble.
func (b *Batch) readClock() (uint64, error) {
	if b.oc.pc != nil {
		return b.oc.pc.factClock(b.s, b.part)
	}
	return b.view.factClock()
}

func findItem(items []topology.Stored[topology.OrderItem], id int64) (int, bool) {
	return slices.BinarySearchFunc(items, id, func(s topology.Stored[topology.OrderItem], id int64) int {
		return cmp.Compare(s.Row.ID, id)
	})
}

func findPayment(payments []topology.Stored[topology.Payment], id int64) (int, bool) {
	return slices.BinarySearchFunc(payments, id, func(s topology.Stored[topology.Payment], id int64) int {
		return cmp.Compare(s.Row.ID, id)
	})
}

// committed returns a view of the committed state, for the reads that the
// batch's writes cannot change: the global tables (a Batch writes none).
// Reading the DB rather than the indexed batch spares merging in the
// batch's writes. A used batch keeps failing.
func (b *Batch) committed() *view {
	if b.done {
		return &b.view
	}
	b.dbView.s, b.dbView.r, b.dbView.part, b.dbView.owned = b.s, b.s.db, b.part, true
	return &b.dbView
}

// Customer implements topology.GlobalRows (committed state, through the
// dimension cache).
func (b *Batch) Customer(id int64) (topology.Stored[topology.Customer], bool, error) {
	return b.committed().Customer(id)
}

// Vehicle implements topology.GlobalRows (committed state, through the
// dimension cache).
func (b *Batch) Vehicle(id int64) (topology.Stored[topology.Vehicle], bool, error) {
	return b.committed().Vehicle(id)
}

// OrdersOfCustomer implements topology.Rows: from the partition cache
// when it holds the indexes (with the batch's own changes applied), from
// Pebble and the batch otherwise.
func (b *Batch) OrdersOfCustomer(customerID int64, dst []int64) ([]int64, error) {
	if !b.done && b.oc.pc != nil {
		ids, ok, err := b.oc.pc.ordersOfCustomer(b.s, b.part, customerID, dst)
		if err == nil && ok {
			ids = withOps(b, kindCustOrders, customerID, dst, ids, indexOp.orderID, cmp.Compare[int64])
		}
		if err != nil || ok {
			return ids, err
		}
	}
	return b.view.OrdersOfCustomer(customerID, dst)
}

// ItemsOfVehicle implements topology.Rows, as OrdersOfCustomer.
func (b *Batch) ItemsOfVehicle(vehicleID int64, dst []topology.ItemRef) ([]topology.ItemRef, error) {
	if !b.done && b.oc.pc != nil {
		refs, ok, err := b.oc.pc.itemsOfVehicle(b.s, b.part, vehicleID, dst)
		if err == nil && ok {
			refs = withOps(b, kindVehItems, vehicleID, dst, refs, indexOp.ref, compareRefs)
		}
		if err != nil || ok {
			return refs, err
		}
	}
	return b.view.ItemsOfVehicle(vehicleID, dst)
}

// withOps applies the batch's changes of the index entries of (kind, id)
// to list[len(dst):], the committed entries appended to dst (sorted); with
// none left it returns dst, as the cache does.
func withOps[T any](b *Batch, kind byte, id int64, dst, list []T, elem func(indexOp) T, compare func(T, T) int) []T {
	if _, touched := b.oc.touched[cacheKey{kind, id}]; !touched {
		return list
	}
	from := len(dst)
	for _, op := range b.oc.ops {
		if op.kind == kind && op.id == id {
			tail, _ := editSorted(list[from:], elem(op), op.add, compare)
			list = append(list[:from], tail...)
		}
	}
	if len(list) == from {
		return dst
	}
	return list
}

func compareRefs(a, b topology.ItemRef) int {
	return cmp.Or(cmp.Compare(a.OrderID, b.OrderID), cmp.Compare(a.ItemID, b.ItemID))
}
