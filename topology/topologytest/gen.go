package topologytest

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Topic returns the Kafka topic of table t under the default prefix.
func Topic(t topology.Table) string { return "ecommerce.public." + t.String() }

// Record is one Kafka record of a generated history: its topic and the
// change it carries (Change.Pos is its partition and offset).
type Record struct {
	Topic  string
	Change topology.Change
}

// Queue names one topic partition.
type Queue struct {
	Topic     string
	Partition int32
}

// Queue returns the topic partition r was read from.
func (r *Record) Queue() Queue { return Queue{r.Topic, r.Change.Pos.Partition} }

// Config shapes a generated history. The zero value gives a small one
// with every update pattern below at a modest rate.
//
// The rates below are of the update patterns of real applications that
// docs/design.md ("Rows that move") names, on top of the plain inserts, updates and
// deletes: each is the chance that a transaction of Transactions starts
// that pattern (a negative rate turns it off).
type Config struct {
	Transactions     int   // source transactions after the snapshot; default 60
	Snapshot         int   // rows of each table present before streaming, emitted as op r; default 0
	Partitions       int32 // partitions of the order-stream topics; default 3
	GlobalPartitions int32 // partitions of the customers and vehicles topics; default 2

	// Moves is the rate of an order item or payment moved to another
	// order: a delete under the old order and an insert of the same id
	// under the new one, often in another partition; the insert follows
	// in the same transaction or, as often, up to 15 transactions later.
	// Default 0.05.
	Moves float64
	// Recreates is the rate of an order deleted (the cascade deletes its
	// items and payments) and re-created under the same id with an
	// order_date in another month and new items, some of which reuse the
	// old item ids; mostly a few transactions later, sometimes in the same
	// one. Default 0.03.
	Recreates float64
	// Redates is the rate of an order whose order_date is updated to
	// another month. Default 0.03.
	Redates float64
	// Reinserts is the rate of a customer or vehicle deleted, referenced
	// or not (the join is a left join), and inserted again under the same
	// id, in the same transaction or up to 10 later, at the latest at the
	// end of the history. Default 0.03.
	Reinserts float64
	// BigOrders is the rate of a big order: an order and BigOrderItems
	// items inserted in one transaction, then every item updated, in
	// random order, each in a transaction of its own; these come on top of
	// Transactions, about 15 after each of the following ones. Default
	// 0.01.
	BigOrders float64
	// BigOrderItems is the range [min, max] of the items of a big order;
	// default [20, 60], small enough for the property tests. Tests of
	// large orders can ask for [200, 500].
	BigOrderItems [2]int
}

func (c Config) withDefaults() Config {
	if c.Transactions == 0 {
		c.Transactions = 60
	}
	if c.Partitions == 0 {
		c.Partitions = 3
	}
	if c.GlobalPartitions == 0 {
		c.GlobalPartitions = 2
	}
	for _, r := range []struct {
		rate *float64
		def  float64
	}{{&c.Moves, 0.05}, {&c.Recreates, 0.03}, {&c.Redates, 0.03}, {&c.Reinserts, 0.03}, {&c.BigOrders, 0.01}} {
		if *r.rate == 0 {
			*r.rate = r.def
		}
	}
	if c.BigOrderItems == [2]int{} {
		c.BigOrderItems = [2]int{20, 60}
	}
	c.BigOrderItems[0] = max(1, c.BigOrderItems[0])
	c.BigOrderItems[1] = max(c.BigOrderItems[0], c.BigOrderItems[1])
	return c
}

// History is a generated run of the source database: the records of
// every topic partition in offset order, and the final tables.
//
// The history is one serial run of committed transactions. Change.LSN
// grows strictly in commit order across all topics, as PostgreSQL's do
// (the snapshot reads share one LSN, below the streamed changes'), and so
// do Change.TxID and Change.SourceTsMs, not strictly. Final holds each
// row's last change in that order: for an item moved to another order and
// back, or an id reused, its last insert or update whatever partition it
// travelled in.
type History struct {
	Config Config
	Queues map[Queue][]Record
	Final  *Tables
}

// Records returns the number of records in h.
func (h *History) Records() int {
	n := 0
	for _, q := range h.Queues {
		n += len(q)
	}
	return n
}

// queueOrder returns the queues of h in a fixed order.
func (h *History) queueOrder() []Queue {
	qs := make([]Queue, 0, len(h.Queues))
	for q := range h.Queues {
		qs = append(qs, q)
	}
	slices.SortFunc(qs, func(a, b Queue) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition) - int(b.Partition)
	})
	return qs
}

// Interleave returns every record of h, from each queue the records at or
// after from[queue] (0 when absent), in a random order that keeps each
// queue's order. Each queue gets a random weight, so some topics run far
// ahead of others (dimensions arriving long after the facts that need
// them, and the reverse).
func (h *History) Interleave(rng *rand.Rand, from map[Queue]int64) []Record {
	qs := h.queueOrder()
	pos := make([]int64, len(qs))
	weights := make([]float64, len(qs))
	total := 0
	for i, q := range qs {
		pos[i] = from[q]
		weights[i] = 0.05 + rng.Float64()*rng.Float64()
		total += max(0, len(h.Queues[q])-int(pos[i]))
	}
	out := make([]Record, 0, total)
	for len(out) < total {
		sum := 0.0
		for i, q := range qs {
			if pos[i] < int64(len(h.Queues[q])) {
				sum += weights[i]
			}
		}
		x := rng.Float64() * sum
		for i, q := range qs {
			if pos[i] >= int64(len(h.Queues[q])) {
				continue
			}
			x -= weights[i]
			if x <= 0 || i == len(qs)-1 {
				out = append(out, h.Queues[q][pos[i]])
				pos[i]++
				break
			}
		}
	}
	return out
}

// Generate returns a random history: transactions of inserts, updates and
// deletes over the five tables that keep the schema's foreign keys (plain
// deletes of customers and vehicles only when unreferenced; deleting an
// order deletes its items and payments in the same transaction, as ON
// DELETE CASCADE does, the item and payment deletes after the order's),
// items switching vehicles, vehicles updated with unchanged TOASTed
// features, and an optional initial snapshot; and the patterns of Config:
// items and payments moved to other orders, orders re-created under their
// old ids in another month, order dates moved to another month, customers
// and vehicles deleted and inserted again under the same id (then orders
// and items may reference a missing row for a while), and big orders
// updated item by item.
func Generate(rng *rand.Rand, cfg Config) *History {
	g := &generator{
		rng:      rng,
		cfg:      cfg.withDefaults(),
		h:        &History{Queues: map[Queue][]Record{}, Final: NewTables()},
		lsn:      1000,
		tsMs:     1_704_067_200_000, // 2024-01-01T00:00:00Z
		nextID:   map[topology.Table]int64{},
		detached: map[int64]bool{},
	}
	g.h.Config = g.cfg
	g.snapshot()
	for range g.cfg.Transactions {
		g.transaction()
		for len(g.bigUpdates) > 0 && g.rng.IntN(16) != 0 {
			g.updateBigItem()
		}
	}
	for len(g.bigUpdates) > 0 {
		g.updateBigItem()
	}
	// Most of the changes still due happen at the end; the others never
	// do (a move that ends as a delete, an order that stays deleted).
	for _, p := range g.pending {
		if p.must || g.rng.IntN(4) != 0 {
			g.begin()
			p.do()
		}
	}
	return g.h
}

type generator struct {
	rng    *rand.Rand
	cfg    Config
	h      *History
	lsn    uint64
	txID   uint64
	tsMs   int64
	nextID map[topology.Table]int64
	// reading marks the snapshot: changes are op r with one LSN.
	reading bool
	// tx counts the transactions of cfg.Transactions begun so far.
	tx int
	// pending holds the changes due in later transactions, in the order
	// they were planned.
	pending []pending
	// detached holds the ids of the items deleted by a move whose insert
	// is pending: they may not be reused meanwhile.
	detached map[int64]bool
	// bigUpdates holds the items of big orders still to be updated one
	// by one.
	bigUpdates []int64
}

// pending is a change an application makes some transactions after
// another: the insert of a move, a re-insert, a re-creation.
type pending struct {
	due int // the transaction (g.tx) from which it may run
	// must marks a change that happens before the history ends: the
	// re-insert of a customer or vehicle that rows may reference. (The
	// join's updated_at counts the source.ts_ms of a referenced row's
	// tombstone, which Tables.Facts does not model.)
	must bool
	// do emits the change in the current transaction, or returns false
	// when it cannot yet (no order to move an item to, say).
	do func() bool
}

func (g *generator) t() *Tables { return g.h.Final }

func (g *generator) id(t topology.Table) int64 {
	g.nextID[t]++
	return g.nextID[t]
}

func (g *generator) now() topology.Timestamp { return topology.Timestamp(g.tsMs * 1000) }

// emit appends a change of the row described by before and after (nil for
// absent) to its topic partition, and records the row in the final
// tables.
func (g *generator) emit(op topology.Op, before, after *topology.Row, unchanged topology.ColumnSet) {
	if !g.reading {
		g.lsn++
	}
	ch := topology.Change{Op: op, LSN: g.lsn, TxID: g.txID, SourceTsMs: g.tsMs, Unchanged: unchanged}
	img := after
	if before != nil {
		ch.Before = topology.Some(*before)
		img = before
	}
	if after != nil {
		ch.After = topology.Some(*after)
		img = after
	}
	ch.Table = img.Table
	var part int32
	if img.Table.Global() {
		part = int32(img.ID() % int64(g.cfg.GlobalPartitions))
	} else {
		part = topology.OrderPartition(img.OrderID(), g.cfg.Partitions)
	}
	q := Queue{Topic(img.Table), part}
	ch.Pos = topology.Position{Partition: part, Offset: int64(len(g.h.Queues[q]))}
	if after != nil && unchanged != 0 {
		// The placeholder: the decoder leaves the value empty and marks
		// the column.
		r := ch.After.V
		for n := 0; n < 64; n++ {
			if unchanged.Has(n) {
				ClearColumn(&r, n)
			}
		}
		ch.After.V = r
	}
	g.h.Queues[q] = append(g.h.Queues[q], Record{Topic: q.Topic, Change: ch})
	g.record(op, img, after)
}

// record keeps the final tables in step with an emitted change.
func (g *generator) record(op topology.Op, img, after *topology.Row) {
	t := g.t()
	id := img.ID()
	del := op == topology.OpDelete
	switch img.Table {
	case topology.TableCustomers:
		if del {
			delete(t.Customers, id)
		} else {
			t.Customers[id] = topology.Stored[topology.Customer]{Row: after.Customer, LSN: g.lsn, SourceTsMs: g.tsMs}
		}
	case topology.TableVehicles:
		if del {
			delete(t.Vehicles, id)
		} else {
			t.Vehicles[id] = topology.Stored[topology.Vehicle]{Row: after.Vehicle, LSN: g.lsn, SourceTsMs: g.tsMs}
		}
	case topology.TableOrders:
		if del {
			delete(t.Orders, id)
		} else {
			t.Orders[id] = topology.Stored[topology.Order]{Row: after.Order, LSN: g.lsn, SourceTsMs: g.tsMs}
		}
	case topology.TableOrderItems:
		if del {
			delete(t.Items, id)
			t.Gone[img.Item.OrderID] = max(t.Gone[img.Item.OrderID], g.tsMs)
		} else {
			t.Items[id] = topology.Stored[topology.OrderItem]{Row: after.Item, LSN: g.lsn, SourceTsMs: g.tsMs}
		}
	case topology.TablePayments:
		if del {
			delete(t.Payments, id)
			t.Gone[img.Payment.OrderID] = max(t.Gone[img.Payment.OrderID], g.tsMs)
		} else {
			t.Payments[id] = topology.Stored[topology.Payment]{Row: after.Payment, LSN: g.lsn, SourceTsMs: g.tsMs}
		}
	}
}

func (g *generator) insert(r topology.Row) {
	op := topology.OpCreate
	if g.reading {
		op = topology.OpRead
	}
	g.emit(op, nil, &r, 0)
}

func (g *generator) update(before, after topology.Row, unchanged topology.ColumnSet) {
	b := &before
	if g.rng.IntN(5) == 0 {
		b = nil // as with REPLICA IDENTITY DEFAULT: no old image
	}
	g.emit(topology.OpUpdate, b, &after, unchanged)
}

func (g *generator) delete(before topology.Row) { g.emit(topology.OpDelete, &before, nil, 0) }

// snapshot creates cfg.Snapshot rows per table and emits them as snapshot
// reads sharing one LSN.
func (g *generator) snapshot() {
	if g.cfg.Snapshot == 0 {
		return
	}
	g.reading = true
	g.lsn++
	g.txID++
	for range g.cfg.Snapshot {
		g.insert(topology.CustomerRow(g.newCustomer(g.id(topology.TableCustomers))))
	}
	for range g.cfg.Snapshot {
		g.insert(topology.VehicleRow(g.newVehicle(g.id(topology.TableVehicles))))
	}
	for range g.cfg.Snapshot {
		g.insert(topology.OrderRow(g.newOrder()))
	}
	for range g.cfg.Snapshot {
		if it, ok := g.newItem(0); ok {
			g.insert(topology.ItemRow(it))
		}
	}
	for range g.cfg.Snapshot {
		if p, ok := g.newPayment(0); ok {
			g.insert(topology.PaymentRow(p))
		}
	}
	g.reading = false
}

var (
	firstNames = []string{"Ana", "Luis", "Marta", "Jorge", "Lucía", "Pablo"}
	lastNames  = []string{"García", "López", "Martín", "Sánchez", "Pérez"}
	cities     = []string{"Madrid", "Sevilla", "Bilbao", "Valencia", "Lisboa"}
	regions    = []string{"Madrid", "Andalucía", "Euskadi", "Valencia"}
	segments   = []string{"retail", "business", "fleet"}
	makes      = []string{"Seat", "Toyota", "Renault", "Tesla", "BMW"}
	models     = []string{"Ibiza", "Corolla", "Clio", "Model 3", "X1"}
	bodies     = []string{"hatchback", "sedan", "suv"}
	fuels      = []string{"petrol", "diesel", "hybrid", "electric"}
	conditions = []string{"new", "used", "certified"}
	stock      = []string{"available", "reserved", "sold"}
	orderSt    = []string{"pending", "confirmed", "paid", "delivered", "cancelled"}
	channels   = []string{"web", "mobile", "dealer"}
	methods    = []string{"credit_card", "bank_transfer", "financing", "cash"}
	paySt      = []string{"pending", "approved", "approved", "rejected", "refunded"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func (g *generator) maybe(s string) topology.Opt[string] {
	if g.rng.IntN(4) == 0 {
		return topology.Opt[string]{}
	}
	return topology.Some(s)
}

func (g *generator) money(lo, hi int64) topology.Decimal {
	return topology.NewDecimal(lo+g.rng.Int64N(hi-lo+1), 2)
}

// newCustomer returns a new customer with the given id.
func (g *generator) newCustomer(id int64) topology.Customer {
	c := topology.Customer{
		ID:        id,
		Email:     fmt.Sprintf("c%d@example.com", id),
		FirstName: pick(g.rng, firstNames),
		LastName:  pick(g.rng, lastNames),
		Phone:     g.maybe(fmt.Sprintf("+34 600 %06d", id)),
		City:      pick(g.rng, cities),
		Region:    g.maybe(pick(g.rng, regions)),
		Country:   "ES",
		Segment:   pick(g.rng, segments),
		CreatedAt: g.now(),
		UpdatedAt: g.now(),
	}
	if g.rng.IntN(2) == 0 {
		c.BirthDate = topology.Some(topology.Date(3000 + g.rng.IntN(10000)))
	}
	return c
}

func (g *generator) features() topology.Opt[string] {
	if g.rng.IntN(5) == 0 {
		return topology.Opt[string]{}
	}
	return topology.Some(fmt.Sprintf(`{"seats":%d,"extras":["gps","camera"],"rev":%d}`, 2+g.rng.IntN(6), g.rng.IntN(1000)))
}

// newVehicle returns a new vehicle with the given id.
func (g *generator) newVehicle(id int64) topology.Vehicle {
	v := topology.Vehicle{
		ID:           id,
		VIN:          fmt.Sprintf("VIN%014d", id),
		Make:         pick(g.rng, makes),
		Model:        pick(g.rng, models),
		ModelYear:    int16(2015 + g.rng.IntN(11)),
		BodyType:     pick(g.rng, bodies),
		FuelType:     pick(g.rng, fuels),
		Transmission: "manual",
		Color:        g.maybe("red"),
		MileageKm:    int32(g.rng.IntN(200000)),
		Condition:    pick(g.rng, conditions),
		ListPrice:    g.money(1_000_000, 8_000_000),
		StockStatus:  pick(g.rng, stock),
		Features:     g.features(),
		CreatedAt:    g.now(),
		UpdatedAt:    g.now(),
	}
	if g.rng.IntN(2) == 0 {
		v.CostPrice = topology.Some(g.money(800_000, 6_000_000))
	}
	return v
}

// newOrder returns a new order of an existing customer, or of a customer
// id not created yet when none exists (only the snapshot does that, and it
// creates customers first).
func (g *generator) newOrder() topology.Order {
	return topology.Order{
		ID:         g.id(topology.TableOrders),
		CustomerID: g.pickID(sortedKeys(g.t().Customers)),
		Status:     "pending",
		Channel:    pick(g.rng, channels),
		Currency:   "EUR",
		// Orders span a few months, so facts fall in several ClickHouse
		// partitions.
		OrderDate: g.now() + topology.Timestamp(g.rng.Int64N(90))*86400e6,
		UpdatedAt: g.now(),
	}
}

// newItem returns a new item of the given order (0: a random one) and an
// existing vehicle, or false when there is no order or vehicle.
func (g *generator) newItem(orderID int64) (topology.OrderItem, bool) {
	vs := sortedKeys(g.t().Vehicles)
	if orderID == 0 {
		orderID = g.pickID(sortedKeys(g.t().Orders))
	}
	if orderID == 0 || len(vs) == 0 {
		return topology.OrderItem{}, false
	}
	it := topology.OrderItem{
		ID:        g.id(topology.TableOrderItems),
		OrderID:   orderID,
		VehicleID: g.pickID(vs),
		Quantity:  int32(1 + g.rng.IntN(3)),
		UnitPrice: g.money(1_000_000, 5_000_000),
		Discount:  topology.NewDecimal(0, 2),
	}
	if g.rng.IntN(3) == 0 {
		it.Discount = g.money(1, 100_000)
	}
	return it, true
}

// newPayment returns a new payment of the given order (0: a random one).
func (g *generator) newPayment(orderID int64) (topology.Payment, bool) {
	if orderID == 0 {
		orderID = g.pickID(sortedKeys(g.t().Orders))
	}
	if orderID == 0 {
		return topology.Payment{}, false
	}
	var total int64
	for _, id := range sortedKeys(g.t().Items) {
		if it := g.t().Items[id].Row; it.OrderID == orderID {
			total += int64(it.Quantity)*it.UnitPrice.Unscaled - it.Discount.Unscaled
		}
	}
	amount := g.money(100_000, 3_000_000)
	if total > 0 && g.rng.IntN(2) == 0 {
		amount = topology.NewDecimal(total, 2) // pays the order in full
	}
	p := topology.Payment{
		ID:        g.id(topology.TablePayments),
		OrderID:   orderID,
		Amount:    amount,
		Method:    pick(g.rng, methods),
		Status:    pick(g.rng, paySt),
		CreatedAt: g.now(),
	}
	if p.Status == "approved" {
		p.PaidAt = topology.Some(g.now())
	}
	return p, true
}

func (g *generator) pickID(ids []int64) int64 {
	if len(ids) == 0 {
		return 0
	}
	return ids[g.rng.IntN(len(ids))]
}

// begin starts a source transaction.
func (g *generator) begin() {
	g.txID++
	g.tsMs += 1 + g.rng.Int64N(5000)
}

// transaction emits one source transaction of cfg.Transactions: the
// changes due, then a pattern of Config or a plain change.
func (g *generator) transaction() {
	g.begin()
	g.tx++
	g.runDue()
	if g.pattern() {
		return
	}
	t := g.t()
	for {
		switch g.rng.IntN(15) {
		case 0: // new customer
			g.insert(topology.CustomerRow(g.newCustomer(g.id(topology.TableCustomers))))
			return
		case 1: // update customer
			if id := g.pickID(sortedKeys(t.Customers)); id != 0 {
				before := t.Customers[id].Row
				after := before
				after.City = pick(g.rng, cities)
				after.Region = g.maybe(pick(g.rng, regions))
				after.LastName = pick(g.rng, lastNames)
				after.UpdatedAt = g.now()
				g.update(topology.CustomerRow(before), topology.CustomerRow(after), 0)
				return
			}
		case 2: // delete an unreferenced customer
			used := map[int64]bool{}
			for _, o := range t.Orders {
				used[o.Row.CustomerID] = true
			}
			free := slices.DeleteFunc(sortedKeys(t.Customers), func(id int64) bool { return used[id] })
			if id := g.pickID(free); id != 0 {
				g.delete(topology.CustomerRow(t.Customers[id].Row))
				return
			}
		case 3: // new vehicle
			g.insert(topology.VehicleRow(g.newVehicle(g.id(topology.TableVehicles))))
			return
		case 4, 5: // update vehicle, often leaving the TOASTed features alone
			if id := g.pickID(sortedKeys(t.Vehicles)); id != 0 {
				before := t.Vehicles[id].Row
				after := before
				after.ListPrice = g.money(1_000_000, 8_000_000)
				after.StockStatus = pick(g.rng, stock)
				after.Make = pick(g.rng, makes)
				after.UpdatedAt = g.now()
				var unchanged topology.ColumnSet
				switch g.rng.IntN(3) {
				case 0:
					after.Features = g.features()
				default:
					if after.Features.Valid {
						unchanged = topology.ColumnSet(0).With(14)
					}
				}
				g.update(topology.VehicleRow(before), topology.VehicleRow(after), unchanged)
				return
			}
		case 6: // delete an unreferenced vehicle
			used := map[int64]bool{}
			for _, it := range t.Items {
				used[it.Row.VehicleID] = true
			}
			free := slices.DeleteFunc(sortedKeys(t.Vehicles), func(id int64) bool { return used[id] })
			if id := g.pickID(free); id != 0 {
				g.delete(topology.VehicleRow(t.Vehicles[id].Row))
				return
			}
		case 7, 8: // new order with items and maybe a payment, in one transaction
			if len(t.Customers) == 0 {
				continue
			}
			o := g.newOrder()
			g.insert(topology.OrderRow(o))
			for range g.rng.IntN(4) {
				if it, ok := g.newItem(o.ID); ok {
					g.insert(topology.ItemRow(it))
				}
			}
			if g.rng.IntN(2) == 0 {
				if p, ok := g.newPayment(o.ID); ok {
					g.insert(topology.PaymentRow(p))
				}
			}
			return
		case 9: // update order: status, sometimes its customer
			if id := g.pickID(sortedKeys(t.Orders)); id != 0 {
				before := t.Orders[id].Row
				after := before
				after.Status = pick(g.rng, orderSt)
				if g.rng.IntN(4) == 0 {
					after.CustomerID = g.pickID(sortedKeys(t.Customers))
				}
				after.UpdatedAt = g.now()
				g.update(topology.OrderRow(before), topology.OrderRow(after), 0)
				return
			}
		case 10: // delete order; the cascade deletes its items and payments
			if id := g.pickID(sortedKeys(t.Orders)); id != 0 {
				g.deleteOrder(id)
				return
			}
		case 11: // new item in an existing order
			if it, ok := g.newItem(0); ok {
				g.insert(topology.ItemRow(it))
				return
			}
		case 12: // update item: quantity and discount, or switch vehicle
			if id := g.pickID(sortedKeys(t.Items)); id != 0 {
				before := t.Items[id].Row
				after := before
				if g.rng.IntN(2) == 0 {
					after.VehicleID = g.pickID(sortedKeys(t.Vehicles))
				} else {
					after.Quantity = int32(1 + g.rng.IntN(3))
					after.Discount = g.money(0, 200_000)
				}
				g.update(topology.ItemRow(before), topology.ItemRow(after), 0)
				return
			}
		case 13: // delete item
			if id := g.pickID(sortedKeys(t.Items)); id != 0 {
				g.delete(topology.ItemRow(t.Items[id].Row))
				return
			}
		case 14: // payments: new, status change or delete
			switch g.rng.IntN(3) {
			case 0:
				if p, ok := g.newPayment(0); ok {
					g.insert(topology.PaymentRow(p))
					return
				}
			case 1:
				if id := g.pickID(sortedKeys(t.Payments)); id != 0 {
					before := t.Payments[id].Row
					after := before
					after.Status = pick(g.rng, paySt)
					if after.Status == "approved" {
						after.PaidAt = topology.Some(g.now())
					}
					g.update(topology.PaymentRow(before), topology.PaymentRow(after), 0)
					return
				}
			case 2:
				if id := g.pickID(sortedKeys(t.Payments)); id != 0 {
					g.delete(topology.PaymentRow(t.Payments[id].Row))
					return
				}
			}
		}
	}
}

// deleteOrder deletes order id and, as the cascade does after it, its
// items and payments, and returns the ids of the items.
func (g *generator) deleteOrder(id int64) []int64 {
	t := g.t()
	g.delete(topology.OrderRow(t.Orders[id].Row))
	var items []int64
	for _, iid := range sortedKeys(t.Items) {
		if it := t.Items[iid].Row; it.OrderID == id {
			g.delete(topology.ItemRow(it))
			items = append(items, iid)
		}
	}
	for _, pid := range sortedKeys(t.Payments) {
		if p := t.Payments[pid].Row; p.OrderID == id {
			g.delete(topology.PaymentRow(p))
		}
	}
	return items
}

// later runs do in the current transaction when delay is 0 and do can
// run now, else plans it for the transaction delay later (at least the
// next). must is pending.must.
func (g *generator) later(delay int, must bool, do func() bool) {
	if delay == 0 && do() {
		return
	}
	g.pending = append(g.pending, pending{due: g.tx + max(1, delay), must: must, do: do})
}

// runDue runs the pending changes that are due and can run, in the order
// they were planned.
func (g *generator) runDue() {
	kept := g.pending[:0]
	for _, p := range g.pending {
		if p.due > g.tx || !p.do() {
			kept = append(kept, p)
		}
	}
	clear(g.pending[len(kept):])
	g.pending = kept
}

// pattern emits one of the patterns of Config, chosen by its rate, and
// reports whether it did.
func (g *generator) pattern() bool {
	x := g.rng.Float64()
	for _, p := range []struct {
		rate float64
		do   func() bool
	}{
		{g.cfg.Moves, g.move},
		{g.cfg.Recreates, g.recreate},
		{g.cfg.Redates, g.redate},
		{g.cfg.Reinserts, g.reinsert},
		{g.cfg.BigOrders, g.bigOrder},
	} {
		if x < p.rate {
			return p.do()
		}
		x -= max(0, p.rate)
	}
	return false
}

// month returns ts's year and month as YYYYMM, as toYYYYMM does.
func month(ts topology.Timestamp) int {
	t := ts.Time()
	return t.Year()*100 + int(t.Month())
}

// otherMonth returns an order_date 20 to 120 days before or after d, in
// another month.
func (g *generator) otherMonth(d topology.Timestamp) topology.Timestamp {
	for {
		days := 20 + g.rng.Int64N(101)
		if g.rng.IntN(2) == 0 {
			days = -days
		}
		if n := d + topology.Timestamp(days)*86400e6; month(n) != month(d) {
			return n
		}
	}
}

// moveTarget returns the order to move an item or payment of order from
// to: another order, two times in three in another partition when there
// is one; order from itself when it is the only one; 0 when there is no
// order.
func (g *generator) moveTarget(from int64) int64 {
	var all, away []int64
	for _, id := range sortedKeys(g.t().Orders) {
		if id == from {
			continue
		}
		all = append(all, id)
		if topology.OrderPartition(id, g.cfg.Partitions) != topology.OrderPartition(from, g.cfg.Partitions) {
			away = append(away, id)
		}
	}
	switch {
	case len(away) > 0 && g.rng.IntN(3) != 0:
		return g.pickID(away)
	case len(all) > 0:
		return g.pickID(all)
	}
	if _, ok := g.t().Orders[from]; ok {
		return from
	}
	return 0
}

// moveDelay returns in how many transactions the insert of a move, a
// re-insert or a re-creation follows its delete: 0 (the same
// transaction) one time in zeroIn, else 1 to most.
func (g *generator) moveDelay(zeroIn, most int) int {
	if g.rng.IntN(zeroIn) == 0 {
		return 0
	}
	return 1 + g.rng.IntN(most)
}

// move moves an item or a payment to another order: its delete now, its
// insert under the same id now or later.
func (g *generator) move() bool {
	t := g.t()
	if g.rng.IntN(3) == 0 {
		id := g.pickID(sortedKeys(t.Payments))
		if id == 0 {
			return false
		}
		p := t.Payments[id].Row
		g.delete(topology.PaymentRow(p))
		g.later(g.moveDelay(2, 15), false, func() bool {
			to := g.moveTarget(p.OrderID)
			if to == 0 {
				return false
			}
			p.OrderID = to
			g.insert(topology.PaymentRow(p))
			return true
		})
		return true
	}
	id := g.pickID(sortedKeys(t.Items))
	if id == 0 {
		return false
	}
	it := t.Items[id].Row
	g.delete(topology.ItemRow(it))
	g.detached[id] = true
	g.later(g.moveDelay(2, 15), false, func() bool {
		to := g.moveTarget(it.OrderID)
		if to == 0 {
			return false
		}
		it.OrderID = to
		if _, ok := g.t().Vehicles[it.VehicleID]; !ok {
			// Deleted meanwhile: the application picks another.
			if v := g.pickID(sortedKeys(g.t().Vehicles)); v != 0 {
				it.VehicleID = v
			}
		}
		if g.rng.IntN(3) == 0 {
			it.Quantity = int32(1 + g.rng.IntN(3))
		}
		g.insert(topology.ItemRow(it))
		delete(g.detached, id)
		return true
	})
	return true
}

// recreate deletes an order with the cascade and plans its re-creation
// under the same id, in another month, with new items that sometimes
// reuse the old item ids.
func (g *generator) recreate() bool {
	t := g.t()
	id := g.pickID(sortedKeys(t.Orders))
	if id == 0 {
		return false
	}
	old := t.Orders[id].Row
	items := g.deleteOrder(id)
	g.later(g.moveDelay(5, 20), false, func() bool {
		o := old
		if _, ok := t.Customers[o.CustomerID]; !ok {
			o.CustomerID = g.pickID(sortedKeys(t.Customers))
		}
		if o.CustomerID == 0 {
			return false
		}
		o.Status = "pending"
		o.Channel = pick(g.rng, channels)
		o.OrderDate = g.otherMonth(old.OrderDate)
		o.UpdatedAt = g.now()
		g.insert(topology.OrderRow(o))
		for range 1 + g.rng.IntN(4) {
			it, ok := g.newItem(id)
			if !ok {
				break
			}
			if len(items) > 0 && g.rng.IntN(2) == 0 {
				reuse := items[0]
				items = items[1:]
				if _, live := t.Items[reuse]; !live && !g.detached[reuse] {
					it.ID = reuse
				}
			}
			g.insert(topology.ItemRow(it))
		}
		if g.rng.IntN(2) == 0 {
			if p, ok := g.newPayment(id); ok {
				g.insert(topology.PaymentRow(p))
			}
		}
		return true
	})
	return true
}

// redate updates an order's order_date to another month.
func (g *generator) redate() bool {
	t := g.t()
	id := g.pickID(sortedKeys(t.Orders))
	if id == 0 {
		return false
	}
	before := t.Orders[id].Row
	after := before
	after.OrderDate = g.otherMonth(before.OrderDate)
	if g.rng.IntN(2) == 0 {
		after.Status = pick(g.rng, orderSt)
	}
	after.UpdatedAt = g.now()
	g.update(topology.OrderRow(before), topology.OrderRow(after), 0)
	return true
}

// reinsert deletes a customer or a vehicle, referenced or not, and plans
// its insert under the same id with new attributes.
func (g *generator) reinsert() bool {
	t := g.t()
	if g.rng.IntN(2) == 0 {
		id := g.pickID(sortedKeys(t.Customers))
		if id == 0 {
			return false
		}
		g.delete(topology.CustomerRow(t.Customers[id].Row))
		g.later(g.moveDelay(3, 10), true, func() bool {
			g.insert(topology.CustomerRow(g.newCustomer(id)))
			return true
		})
		return true
	}
	id := g.pickID(sortedKeys(t.Vehicles))
	if id == 0 {
		return false
	}
	g.delete(topology.VehicleRow(t.Vehicles[id].Row))
	g.later(g.moveDelay(3, 10), true, func() bool {
		g.insert(topology.VehicleRow(g.newVehicle(id)))
		return true
	})
	return true
}

// bigOrder inserts an order with cfg.BigOrderItems items in one
// transaction, and plans the update of each item, in random order.
func (g *generator) bigOrder() bool {
	t := g.t()
	if len(t.Customers) == 0 || len(t.Vehicles) == 0 {
		return false
	}
	o := g.newOrder()
	g.insert(topology.OrderRow(o))
	lo, hi := g.cfg.BigOrderItems[0], g.cfg.BigOrderItems[1]
	ids := make([]int64, 0, hi)
	for range lo + g.rng.IntN(hi-lo+1) {
		it, _ := g.newItem(o.ID)
		g.insert(topology.ItemRow(it))
		ids = append(ids, it.ID)
	}
	if g.rng.IntN(2) == 0 {
		if p, ok := g.newPayment(o.ID); ok {
			g.insert(topology.PaymentRow(p))
		}
	}
	g.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	g.bigUpdates = append(g.bigUpdates, ids...)
	return true
}

// updateBigItem updates the next item of g.bigUpdates in a transaction
// of its own (not one of cfg.Transactions), unless it is gone.
func (g *generator) updateBigItem() {
	id := g.bigUpdates[0]
	g.bigUpdates = g.bigUpdates[1:]
	s, ok := g.t().Items[id]
	if !ok {
		return
	}
	g.begin()
	before := s.Row
	after := before
	after.Quantity = int32(1 + g.rng.IntN(5))
	after.Discount = g.money(0, 200_000)
	if g.rng.IntN(4) == 0 {
		after.UnitPrice = g.money(1_000_000, 5_000_000)
	}
	g.update(topology.ItemRow(before), topology.ItemRow(after), 0)
}

// RandomConfig returns a random Config of modest size: a few dozen to a
// hundred-odd transactions, sometimes a snapshot, 1–4 order partitions
// and 1–3 global partitions, with the update patterns at their default
// rates.
func RandomConfig(rng *rand.Rand) Config {
	return Config{
		Transactions:     20 + rng.IntN(100),
		Snapshot:         rng.IntN(3) * rng.IntN(4),
		Partitions:       1 + rng.Int32N(4),
		GlobalPartitions: 1 + rng.Int32N(3),
	}
}

// WithRedeliveries returns a copy of h in which each queue sometimes
// rewinds and repeats a stretch of its records, as Kafka redelivers them
// after a consumer restarts from an older committed offset. Records keep
// their positions, so the repeats carry the offsets of the originals.
func (h *History) WithRedeliveries(rng *rand.Rand) *History {
	c := &History{Config: h.Config, Queues: map[Queue][]Record{}, Final: h.Final}
	for _, q := range h.queueOrder() {
		recs := h.Queues[q]
		var out []Record
		i, rewinds := 0, 0
		for i < len(recs) {
			j := min(len(recs), i+1+rng.IntN(len(recs)))
			out = append(out, recs[i:j]...)
			if j < len(recs) && rewinds < 3 && rng.IntN(2) == 0 {
				rewinds++
				i = j - 1 - rng.IntN(j)
				continue
			}
			i = j
		}
		if rng.IntN(3) == 0 {
			// A final redelivery of a suffix.
			out = append(out, recs[rng.IntN(len(recs)):]...)
		}
		c.Queues[q] = out
	}
	return c
}
