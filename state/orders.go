package state

import (
	"cmp"
	"slices"
	"sync"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// The order-view cache keeps, per partition, the decoded rows that the
// facts of an order share — the order, its items, its payments — and the
// last fact version of items, so that the join rules, which read the same
// order several times per change and the same recent orders change after
// change, mostly read memory instead of Pebble.
//
// Only batches use it, and only with committed values: a Batch works on
// private copies of the entries it touches (its overlay), which it loads
// from the cache or, on a miss, through its indexed batch; every write of
// the batch goes through the overlay and Pebble alike. After a successful
// commit the overlay replaces the cache's entries; after a failed one the
// touched entries are dropped (the batch may or may not have reached
// Pebble). A generation counter, bumped by every install and drop, guards
// against two batches of one partition open at once (not the convention,
// but not forbidden): a batch whose partition changed generation since it
// started drops what it touched instead of installing it. DropPartition
// clears the partition's cache. Reads of Partition handles (committed
// state) do not use the cache.

// orderEntry is the view of one order. Each part is loaded on demand;
// items and payments are sorted by id and include tombstones. Entries in
// a partCache are immutable; batches clone them.
type orderEntry struct {
	order          topology.Stored[topology.Order]
	orderFound     bool
	orderLoaded    bool
	itemsLoaded    bool
	paymentsLoaded bool
	items          []topology.Stored[topology.OrderItem]
	payments       []topology.Stored[topology.Payment]
}

func (e *orderEntry) clone() *orderEntry {
	c := *e
	c.items = slices.Clone(e.items)
	c.payments = slices.Clone(e.payments)
	return &c
}

// factEntry is the last fact version of an item, or its absence.
type factEntry struct {
	version uint64
	found   bool
}

// partCache holds the committed order views and fact versions of one
// partition, bounded by count in two generations: a lookup that finds an
// entry in the older generation moves it to the current one, and when the
// current one is full it becomes the older one (and the older one is
// dropped). Safe for concurrent use.
type partCache struct {
	mu        sync.Mutex
	limit     int // orders per generation; facts get factsPerOrder times as many
	gen       uint64
	orders    map[int64]*orderEntry
	oldOrders map[int64]*orderEntry
	facts     map[int64]factEntry
	oldFacts  map[int64]factEntry
	// customers and vehicles filter the index scans of refreshes (see
	// presence), once built from the committed indexes.
	customers, vehicles presence
	presenceBuilt       bool
	// Counters: lookups of orders and fact versions that found an entry
	// or not; index scans the presence filters skipped.
	orderHits, orderMisses, factHits, factMisses, scansSkipped uint64
}

// factsPerOrder sizes the fact-version generations: orders have two items
// on average.
const factsPerOrder = 2

func newPartCache(limit int) *partCache {
	if limit <= 0 {
		return nil
	}
	return &partCache{
		limit:  limit,
		orders: map[int64]*orderEntry{}, oldOrders: map[int64]*orderEntry{},
		facts: map[int64]factEntry{}, oldFacts: map[int64]factEntry{},
		customers: newPresence(), vehicles: newPresence(),
	}
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

// order returns the cached entry of the order (not to be modified), or
// nil.
func (c *partCache) order(id int64) *orderEntry {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.orders[id]; e != nil {
		c.orderHits++
		return e
	}
	e := c.oldOrders[id]
	if e != nil {
		c.orderHits++
		delete(c.oldOrders, id)
		c.putOrder(id, e)
	} else {
		c.orderMisses++
	}
	return e
}

// fact returns the cached fact version of the item.
func (c *partCache) fact(id int64) (factEntry, bool) {
	if c == nil {
		return factEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.facts[id]; ok {
		c.factHits++
		return f, true
	}
	f, ok := c.oldFacts[id]
	if ok {
		c.factHits++
		delete(c.oldFacts, id)
		c.putFact(id, f)
	} else {
		c.factMisses++
	}
	return f, ok
}

func (c *partCache) putOrder(id int64, e *orderEntry) {
	delete(c.oldOrders, id)
	c.orders[id] = e
	if len(c.orders) >= c.limit {
		c.oldOrders, c.orders = c.orders, make(map[int64]*orderEntry, len(c.orders))
	}
}

func (c *partCache) putFact(id int64, f factEntry) {
	delete(c.oldFacts, id)
	c.facts[id] = f
	if len(c.facts) >= factsPerOrder*c.limit {
		c.oldFacts, c.facts = c.facts, make(map[int64]factEntry, len(c.facts))
	}
}

// install puts the entries of a committed batch that started at
// generation gen, or drops them if another batch or a drop came between.
func (c *partCache) install(gen uint64, orders map[int64]*orderEntry, facts map[int64]factEntry) {
	if c == nil || len(orders)+len(facts) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		c.forget(orders, facts)
		return
	}
	c.gen++
	for id, e := range orders {
		c.putOrder(id, e)
	}
	for id, f := range facts {
		c.putFact(id, f)
	}
}

// invalidate drops the entries a failed batch touched.
func (c *partCache) invalidate(orders map[int64]*orderEntry, facts map[int64]factEntry) {
	if c == nil || len(orders)+len(facts) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget(orders, facts)
}

func (c *partCache) forget(orders map[int64]*orderEntry, facts map[int64]factEntry) {
	c.gen++
	for id := range orders {
		delete(c.orders, id)
		delete(c.oldOrders, id)
	}
	for id := range facts {
		delete(c.facts, id)
		delete(c.oldFacts, id)
	}
}

// drop empties the cache (the partition's state was deleted).
func (c *partCache) drop() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.orders)
	clear(c.oldOrders)
	clear(c.facts)
	clear(c.oldFacts)
}

// orderStats adds up the counters of every partition's cache.
func (s *Store) orderStats() (st CacheStats) {
	s.partsMu.Lock()
	defer s.partsMu.Unlock()
	for _, c := range s.partCaches {
		c.mu.Lock()
		st.OrderHits += c.orderHits
		st.OrderMisses += c.orderMisses
		st.FactHits += c.factHits
		st.FactMisses += c.factMisses
		st.ScansSkipped += c.scansSkipped
		st.OrderEntries += len(c.orders) + len(c.oldOrders)
		c.mu.Unlock()
	}
	return st
}

// partCache returns the cache of partition p (nil when disabled).
func (s *Store) partCache(p int32) *partCache {
	if s.orderCacheLimit <= 0 {
		return nil
	}
	s.partsMu.Lock()
	defer s.partsMu.Unlock()
	c := s.partCaches[p]
	if c == nil {
		c = newPartCache(s.orderCacheLimit)
		s.partCaches[p] = c
	}
	return c
}

// batchOrders is a Batch's overlay: the order views and fact versions it
// read or wrote, as the batch sees them.
type batchOrders struct {
	pc     *partCache
	gen    uint64
	orders map[int64]*orderEntry
	facts  map[int64]factEntry
}

// entry returns the batch's entry of the order, creating it from the
// cache (cloned) or empty.
func (b *Batch) entry(orderID int64) *orderEntry {
	if e := b.oc.orders[orderID]; e != nil {
		return e
	}
	var e *orderEntry
	if c := b.oc.pc.order(orderID); c != nil {
		e = c.clone()
	} else {
		e = &orderEntry{}
	}
	if b.oc.orders == nil {
		b.oc.orders = map[int64]*orderEntry{}
	}
	b.oc.orders[orderID] = e
	return e
}

// orderOf returns the entry of the order with its order row loaded.
func (b *Batch) orderOf(id int64) (*orderEntry, error) {
	e := b.entry(id)
	if !e.orderLoaded {
		s, found, err := b.view.Order(id)
		if err != nil {
			return nil, err
		}
		e.order, e.orderFound, e.orderLoaded = s, found, true
	}
	return e, nil
}

// itemsOf returns the entry of the order with its items loaded.
func (b *Batch) itemsOf(orderID int64) (*orderEntry, error) {
	e := b.entry(orderID)
	if !e.itemsLoaded {
		items, err := b.view.ItemsOfOrder(orderID, nil)
		if err != nil {
			return nil, err
		}
		e.items, e.itemsLoaded = items, true
	}
	return e, nil
}

// paymentsOf returns the entry of the order with its payments loaded.
func (b *Batch) paymentsOf(orderID int64) (*orderEntry, error) {
	e := b.entry(orderID)
	if !e.paymentsLoaded {
		payments, err := b.view.PaymentsOfOrder(orderID, nil)
		if err != nil {
			return nil, err
		}
		e.payments, e.paymentsLoaded = payments, true
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

// LastFactVersion implements topology.Rows through the batch's fact
// versions and the cache.
func (b *Batch) LastFactVersion(itemID int64) (uint64, bool, error) {
	if b.done {
		return b.view.LastFactVersion(itemID)
	}
	f, ok := b.oc.facts[itemID]
	if !ok {
		if f, ok = b.oc.pc.fact(itemID); !ok {
			v, found, err := b.view.LastFactVersion(itemID)
			if err != nil {
				return 0, false, err
			}
			f = factEntry{version: v, found: found}
		}
		b.setFact(itemID, f)
	}
	return f.version, f.found, nil
}

func (b *Batch) setFact(itemID int64, f factEntry) {
	if b.oc.facts == nil {
		b.oc.facts = map[int64]factEntry{}
	}
	b.oc.facts[itemID] = f
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

// committed returns a view of the batch's partition over the committed
// state, for the reads that the batch's writes cannot change: the global
// tables (a Batch writes none) and, until the batch writes an index
// entry, the indexes. Reading the DB rather than the indexed batch spares
// merging in the batch's writes. A used batch keeps failing.
func (b *Batch) committed(index bool) *view {
	if b.done || (index && b.indexWritten) {
		return &b.view
	}
	b.dbView.s, b.dbView.r, b.dbView.part, b.dbView.owned = b.s, b.s.db, b.part, true
	return &b.dbView
}

// Customer implements topology.GlobalRows (committed state, through the
// dimension cache).
func (b *Batch) Customer(id int64) (topology.Stored[topology.Customer], bool, error) {
	return b.committed(false).Customer(id)
}

// Vehicle implements topology.GlobalRows (committed state, through the
// dimension cache).
func (b *Batch) Vehicle(id int64) (topology.Stored[topology.Vehicle], bool, error) {
	return b.committed(false).Vehicle(id)
}

// mayIndex reports whether the index of kind may hold entries for id: the
// batch wrote index entries, or the partition's presence filter says so.
func (b *Batch) mayIndex(kind byte, id int64) (bool, error) {
	if b.done || b.indexWritten || b.oc.pc == nil {
		return true, nil
	}
	return b.oc.pc.mayIndex(b.s, b.part, kind, id)
}

// OrdersOfCustomer implements topology.Rows.
func (b *Batch) OrdersOfCustomer(customerID int64, dst []int64) ([]int64, error) {
	if ok, err := b.mayIndex(kindCustOrders, customerID); err != nil || !ok {
		return dst, err
	}
	return b.committed(true).OrdersOfCustomer(customerID, dst)
}

// ItemsOfVehicle implements topology.Rows.
func (b *Batch) ItemsOfVehicle(vehicleID int64, dst []topology.ItemRef) ([]topology.ItemRef, error) {
	if ok, err := b.mayIndex(kindVehItems, vehicleID); err != nil || !ok {
		return dst, err
	}
	return b.committed(true).ItemsOfVehicle(vehicleID, dst)
}
