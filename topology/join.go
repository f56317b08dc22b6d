package topology

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Output collects the rows that applying changes emits, in emission
// order, and the facts still to build. Reuse one Output (Reset between
// uses) to reuse its buffers. Not safe for concurrent use.
//
// Facts are not built by the change that makes them due: Apply,
// Refresh and EmitState mark the orders (or, for a vehicle, the items)
// whose facts are due, and EmitPending builds each marked fact once,
// from the state as it is then. A batch of changes thus materializes a
// fact once however many of its order's rows changed: an order of n
// items inserted in one batch costs n facts, not n²/2.
type Output struct {
	Mirrors []Mirror
	Facts   []Fact

	pending map[int64]*pendingOrder
	order   []int64 // the pending orders, in the order they were marked

	// Scratch buffers for the index reads of the join.
	items    []Stored[OrderItem]
	payments []Stored[Payment]
	orders   []int64
	refs     []ItemRef
}

// pendingOrder says which facts of one order are due.
type pendingOrder struct {
	whole bool    // the facts of every live item
	all   bool    // and the tombstones of every deleted one
	gone  []int64 // items deleted: their tombstones
	items []int64 // live items (a vehicle refresh names them)
	// resumed: a bounded EmitPending stopped in this order after item
	// after; the rest is due.
	resumed bool
	after   int64
}

// Pending reports whether facts are marked and not yet built.
func (o *Output) Pending() bool { return len(o.order) > 0 }

// Reset empties o, keeping its buffers unless they grew past what a
// usual batch needs (a spike, such as a huge order, must not pin its
// memory). Facts still pending are dropped.
func (o *Output) Reset() {
	o.Mirrors = shrink(o.Mirrors)
	o.Facts = shrink(o.Facts)
	o.items = shrink(o.items)
	o.payments = shrink(o.payments)
	o.orders = shrink(o.orders)
	o.refs = shrink(o.refs)
	clear(o.pending)
	if len(o.order) > keepCap {
		o.pending = nil
	}
	o.order = shrink(o.order)
}

// keepCap is the capacity of an Output's buffers that Reset keeps.
const keepCap = 4096

// shrink empties b, dropping its memory when its capacity exceeds keepCap.
func shrink[T any](b []T) []T {
	if cap(b) > keepCap {
		return nil
	}
	clear(b)
	return b[:0]
}

// mark returns the pending entry of an order, adding it if needed.
func (o *Output) mark(orderID int64) *pendingOrder {
	if o.pending == nil {
		o.pending = map[int64]*pendingOrder{}
	}
	p := o.pending[orderID]
	if p == nil {
		p = &pendingOrder{}
		o.pending[orderID] = p
		o.order = append(o.order, orderID)
	}
	return p
}

// ErrWrongScope is returned by Apply for a global table's change and by
// ApplyGlobal for an order-stream table's change.
var ErrWrongScope = errors.New("change applied in the wrong scope")

// Apply applies ch, a change of orders, order_items or payments, to the
// partition's state s, appends its mirror row to out and marks the facts
// whose content the change may affect (EmitPending builds them): for an
// order or a payment, the facts of all the order's items; for an item,
// its own fact (a tombstone fact if it was deleted) and its siblings'
// (order_total changed).
//
// now is the emission clock in Unix nanoseconds (the caller reads the wall
// clock; this package does no I/O); Apply itself builds no fact.
//
// A change older than the stored row (an earlier position in the same
// topic partition, as after a redelivery) changes nothing and emits
// nothing. A change at the stored position is applied again and emits
// again: that is how a replayed suffix re-sends rows that may not have
// reached the sinks.
//
// With out nil, Apply only updates the stored rows and indexes (no fact
// versions, nothing emitted): that rebuilds state from Kafka without
// re-emitting what ClickHouse already holds.
//
// Errors of s are returned as they are (the store names what it was
// reading or writing); the change is then only partly applied to s, whose
// batch the caller must discard.
func Apply(s PartitionStore, ch *Change, now uint64, out *Output) error {
	if err := ch.Validate(); err != nil {
		return err
	}
	img := ch.Image()
	switch ch.Table {
	case TableOrders:
		id := img.Order.ID
		old, found, err := s.Order(id)
		if err != nil {
			return err
		}
		next, ok := nextStored(ch, old, found, orderSpec)
		if !ok {
			return nil
		}
		if found {
			next.PastMonths = pastMonths(old.PastMonths, int32(old.Row.OrderDate.Month()), int32(next.Row.OrderDate.Month()))
		}
		if err := s.PutOrder(next); err != nil {
			return err
		}
		if out == nil {
			return nil
		}
		out.Mirrors = append(out.Mirrors, Mirror{Row: OrderRow(next.Row), Version: next.LSN, Deleted: next.Deleted})
		// An order new to this state also emits the tombstones of the
		// items deleted while it was unknown, and an order that moved to
		// another month those of its deleted items under it: a state that
		// saw the changes in another interleaving may have emitted them
		// live there (see "Lost state" in doc.go).
		p := out.mark(id)
		p.whole = true
		p.all = p.all || !found || old.Row.OrderDate.Month() != next.Row.OrderDate.Month()
		return nil
	case TableOrderItems:
		orderID, id := img.Item.OrderID, img.Item.ID
		old, found, err := s.Item(orderID, id)
		if err != nil {
			return err
		}
		next, ok := nextStored(ch, old, found, itemSpec)
		if !ok {
			return nil
		}
		if err := s.PutItem(next); err != nil {
			return err
		}
		if out == nil {
			return nil
		}
		out.Mirrors = append(out.Mirrors, Mirror{Row: ItemRow(next.Row), Version: next.LSN, Deleted: next.Deleted})
		// Siblings change too (order_total); a deleted item is no longer
		// among the order's live items, so its tombstone is due apart.
		p := out.mark(orderID)
		p.whole = true
		if next.Deleted {
			p.gone = append(p.gone, id)
		}
		return nil
	case TablePayments:
		orderID, id := img.Payment.OrderID, img.Payment.ID
		old, found, err := s.Payment(orderID, id)
		if err != nil {
			return err
		}
		next, ok := nextStored(ch, old, found, paymentSpec)
		if !ok {
			return nil
		}
		if err := s.PutPayment(next); err != nil {
			return err
		}
		if out == nil {
			return nil
		}
		out.Mirrors = append(out.Mirrors, Mirror{Row: PaymentRow(next.Row), Version: next.LSN, Deleted: next.Deleted})
		out.mark(orderID).whole = true
		return nil
	default:
		return fmt.Errorf("applying %s change to a partition: %w", ch.Table, ErrWrongScope)
	}
}

// ApplyGlobal applies ch, a change of customers or vehicles, to the
// global tables s, appends its mirror row to out (unless out is nil), and
// reports whether it was applied. The caller then calls Refresh on every
// partition it owns, so that their facts pick the change up, once the
// write is visible to them (committed). A change older than the stored row
// is not applied and needs no refresh.
func ApplyGlobal(s GlobalStore, ch *Change, out *Output) (applied bool, err error) {
	if err := ch.Validate(); err != nil {
		return false, err
	}
	img := ch.Image()
	switch ch.Table {
	case TableCustomers:
		id := img.Customer.ID
		old, found, err := s.Customer(id)
		if err != nil {
			return false, err
		}
		next, ok := nextStored(ch, old, found, customerSpec)
		if !ok {
			return false, nil
		}
		if err := s.PutCustomer(next); err != nil {
			return false, err
		}
		if out != nil {
			out.Mirrors = append(out.Mirrors, Mirror{Row: CustomerRow(next.Row), Version: next.LSN, Deleted: next.Deleted})
		}
		return true, nil
	case TableVehicles:
		id := img.Vehicle.ID
		old, found, err := s.Vehicle(id)
		if err != nil {
			return false, err
		}
		next, ok := nextStored(ch, old, found, vehicleSpec)
		if !ok {
			return false, nil
		}
		if err := s.PutVehicle(next); err != nil {
			return false, err
		}
		if out != nil {
			out.Mirrors = append(out.Mirrors, Mirror{Row: VehicleRow(next.Row), Version: next.LSN, Deleted: next.Deleted})
		}
		return true, nil
	default:
		return false, fmt.Errorf("applying %s change to the global tables: %w", ch.Table, ErrWrongScope)
	}
}

// Refresh marks in out the facts of partition s that join the customer
// or vehicle (table) with the given id: the items of the customer's
// orders, or the items that reference the vehicle (EmitPending builds
// them). Call it after ApplyGlobal applied a change of that row. With out
// nil it does nothing.
func Refresh(s Rows, table Table, id int64, out *Output) error {
	if out == nil {
		return nil
	}
	switch table {
	case TableCustomers:
		ids, err := s.OrdersOfCustomer(id, out.orders[:0])
		if err != nil {
			return err
		}
		out.orders = ids
		for _, o := range out.orders {
			out.mark(o).whole = true
		}
		return nil
	case TableVehicles:
		refs, err := s.ItemsOfVehicle(id, out.refs[:0])
		if err != nil {
			return err
		}
		out.refs = refs
		for _, r := range out.refs {
			if p := out.mark(r.OrderID); !p.whole {
				p.items = append(p.items, r.ItemID)
			}
		}
		return nil
	default:
		return fmt.Errorf("refreshing facts for %s: %w", table, ErrWrongScope)
	}
}

// spec binds the generic row logic to one table.
type spec[T any] struct {
	field func(*Row) *T
	merge func(dst, src *T, cols ColumnSet)
}

var (
	customerSpec = spec[Customer]{func(r *Row) *Customer { return &r.Customer }, mergeCustomer}
	vehicleSpec  = spec[Vehicle]{func(r *Row) *Vehicle { return &r.Vehicle }, mergeVehicle}
	orderSpec    = spec[Order]{func(r *Row) *Order { return &r.Order }, mergeOrder}
	itemSpec     = spec[OrderItem]{func(r *Row) *OrderItem { return &r.Item }, mergeItem}
	paymentSpec  = spec[Payment]{func(r *Row) *Payment { return &r.Payment }, mergePayment}
)

// nextStored returns the stored row after ch, or false if ch is older than
// the stored row and must be ignored.
//
// The row's mirror version (Stored.LSN) is source.lsn, raised to one above
// the stored row's version when it is not above it (a redelivery of the
// stored change keeps its version): the changes of one row then get
// strictly increasing versions in their Kafka order, even at the snapshot
// boundary, where a transaction that began before the
// snapshot's consistent point carries LSNs below the snapshot read's
// (see "Mirror versions" in doc.go).
func nextStored[T any](ch *Change, old Stored[T], found bool, sp spec[T]) (Stored[T], bool) {
	if found && ch.Pos.Before(old.Pos) {
		return old, false
	}
	n := Stored[T]{LSN: ch.LSN, SourceTsMs: ch.SourceTsMs, Pos: ch.Pos}
	switch {
	case !found:
	case ch.Pos == old.Pos:
		// The stored change itself, redelivered: the same version.
		n.LSN = old.LSN
	case n.LSN <= old.LSN:
		n.LSN = old.LSN + 1
	}
	if ch.Op == OpDelete {
		// The stored row is the last full image; the before image is
		// complete only with REPLICA IDENTITY FULL, and a tombstone must
		// keep the real values (an order's order_date places its facts).
		n.Deleted = true
		if found {
			n.Row = old.Row
		} else {
			n.Row = *sp.field(&ch.Before.V)
		}
		return n, true
	}
	n.Row = *sp.field(&ch.After.V)
	if ch.Unchanged != 0 {
		switch {
		case found:
			sp.merge(&n.Row, &old.Row, ch.Unchanged)
		case ch.Before.Valid:
			sp.merge(&n.Row, sp.field(&ch.Before.V), ch.Unchanged)
		}
	}
	return n, true
}

// view reads what the facts of an order share. It returns false when the
// order is unknown: its facts wait for it, because order_date is the
// partition key of sales_facts and a fact without it would land in a
// ClickHouse partition where no later version replaces it. The order's
// stored items, tombstones included, are left in out.items.
func view(s Rows, orderID int64, out *Output) (orderView, bool, error) {
	o, found, err := s.Order(orderID)
	if err != nil || !found {
		return orderView{}, false, err
	}
	v := orderView{order: o, ts: o.SourceTsMs}
	c, found, err := s.Customer(o.Row.CustomerID)
	if err != nil {
		return v, false, err
	}
	if found {
		v.customer, v.customerOK = c, !c.Deleted
		v.ts = max(v.ts, c.SourceTsMs)
	}
	out.items, err = s.ItemsOfOrder(orderID, out.items[:0])
	if err != nil {
		return v, false, err
	}
	for i := range out.items {
		it := &out.items[i]
		if !it.Deleted {
			v.total += LineTotal(&it.Row)
		}
		v.ts = max(v.ts, it.SourceTsMs)
	}
	out.payments, err = s.PaymentsOfOrder(orderID, out.payments[:0])
	if err != nil {
		return v, false, err
	}
	for i := range out.payments {
		p := &out.payments[i]
		if !p.Deleted && p.Row.Status == "approved" {
			v.paid += Cents(p.Row.Amount)
		}
		v.ts = max(v.ts, p.SourceTsMs)
	}
	return v, true, nil
}

// pastMonths returns the past months of an order whose order_date moved
// from month from to month to: past with from added and to removed,
// ascending.
func pastMonths(past []int32, from, to int32) []int32 {
	if from == to {
		return past
	}
	out := make([]int32, 0, len(past)+1)
	for _, m := range past {
		if m != to && m != from {
			out = append(out, m)
		}
	}
	out = append(out, from)
	slices.Sort(out)
	return out
}

// monthStart returns the first instant of month m (toYYYYMM), UTC.
func monthStart(m int32) Timestamp {
	return TimestampOf(time.Date(int(m/100), time.Month(m%100), 1, 0, 0, 0, 0, time.UTC))
}

// EmitPending builds the facts that Apply, Refresh and EmitState marked
// in out since the last call, each once, from the state s as it is now,
// and appends them to out.Facts, versioned with NextVersion(last version
// of the key, now). Facts of orders that s lacks stay unbuilt: they wait
// for their order (see view).
func EmitPending(s PartitionStore, now uint64, out *Output) error {
	_, err := EmitPendingUpTo(s, now, out, 0)
	return err
}

// EmitPendingUpTo is EmitPending bounded: it stops once out.Facts holds
// at least limit facts (limit > 0), after a whole item, and reports
// whether facts remain due; the next call goes on where it stopped. The
// caller must not apply changes to s in between (their facts would be
// built from a state the stopped order did not see whole).
func EmitPendingUpTo(s PartitionStore, now uint64, out *Output, limit int) (more bool, err error) {
	for len(out.order) > 0 {
		id := out.order[0]
		p := out.pending[id]
		done, err := emitPending(s, id, p, now, out, limit)
		if err != nil {
			return true, err
		}
		if !done {
			return true, nil
		}
		delete(out.pending, id)
		out.order = out.order[1:]
		if limit > 0 && len(out.Facts) >= limit && len(out.order) > 0 {
			return true, nil
		}
	}
	out.order = out.order[:0]
	return false, nil
}

// emitPending emits the facts of one marked order, or those up to the
// limit (done false: p says where it stopped).
func emitPending(s PartitionStore, orderID int64, p *pendingOrder, now uint64, out *Output, limit int) (done bool, err error) {
	v, ok, err := view(s, orderID, out)
	if err != nil || !ok {
		return true, err
	}
	slices.Sort(p.gone)
	slices.Sort(p.items)
	// out.items, p.gone and p.items are sorted by item id.
	g, n := 0, 0
	for i := range out.items {
		it := &out.items[i]
		id := it.Row.ID
		if p.resumed && id <= p.after {
			continue
		}
		for g < len(p.gone) && p.gone[g] < id {
			g++
		}
		for n < len(p.items) && p.items[n] < id {
			n++
		}
		var due bool
		switch {
		case it.Deleted:
			due = p.all || g < len(p.gone) && p.gone[g] == id
		default:
			due = p.whole || n < len(p.items) && p.items[n] == id
		}
		if due {
			if err := emitItem(s, &v, it, now, out); err != nil {
				return false, err
			}
			if limit > 0 && len(out.Facts) >= limit && i+1 < len(out.items) {
				p.resumed, p.after = true, id
				return false, nil
			}
		}
	}
	return true, nil
}

// emitItem joins one item to its vehicle, versions the fact and appends
// it, after a tombstone under each of the order's past months.
func emitItem(s PartitionStore, v *orderView, it *Stored[OrderItem], now uint64, out *Output) error {
	veh, found, err := s.Vehicle(it.Row.VehicleID)
	if err != nil {
		return err
	}
	f := v.fact(it, &veh, found)
	// The rows the item may have under the order's past months are
	// superseded, whoever wrote them (see "Rows that move" in doc.go),
	// with versions below the fact's own: a FINAL that merges across
	// partitions keeps the fact.
	for _, m := range v.order.PastMonths {
		past := f
		past.OrderDate, past.Deleted = monthStart(m), true
		if err := appendFact(s, past, now, out); err != nil {
			return err
		}
	}
	return appendFact(s, f, now, out)
}

// appendFact versions f and appends it.
func appendFact(s PartitionStore, f Fact, now uint64, out *Output) error {
	last, _, err := s.LastFactVersion(f.OrderItemID)
	if err != nil {
		return err
	}
	f.Version = NextVersion(last, now)
	if err := s.SetFactVersion(f.OrderItemID, f.Version); err != nil {
		return err
	}
	out.Facts = append(out.Facts, f)
	return nil
}

// EmitState appends to out the mirror rows of everything of an order that
// s holds — the order, its items and its payments, tombstones as deleted
// rows — and marks the fact of every item (of a deleted one, its
// tombstone) for EmitPending. An order that s lacks emits its items' and
// payments' mirror rows and no fact, as Apply does.
//
// A partition that applied records without emitting (Apply with a nil
// Output) because none of their rows had reached the sinks calls it once
// per order the records touched: the sinks then hold what emitting every
// record would have left there (the last version of every row and fact),
// at one row per row instead of one per record.
func EmitState(s Rows, orderID int64, out *Output) error {
	o, found, err := s.Order(orderID)
	if err != nil {
		return err
	}
	if found {
		out.Mirrors = append(out.Mirrors, Mirror{Row: OrderRow(o.Row), Version: o.LSN, Deleted: o.Deleted})
	}
	out.items, err = s.ItemsOfOrder(orderID, out.items[:0])
	if err != nil {
		return err
	}
	for i := range out.items {
		it := &out.items[i]
		out.Mirrors = append(out.Mirrors, Mirror{Row: ItemRow(it.Row), Version: it.LSN, Deleted: it.Deleted})
	}
	out.payments, err = s.PaymentsOfOrder(orderID, out.payments[:0])
	if err != nil {
		return err
	}
	for i := range out.payments {
		p := &out.payments[i]
		out.Mirrors = append(out.Mirrors, Mirror{Row: PaymentRow(p.Row), Version: p.LSN, Deleted: p.Deleted})
	}
	p := out.mark(orderID)
	p.whole, p.all = true, true
	return nil
}
