package topology

import (
	"errors"
	"fmt"
)

// Output collects the rows that applying changes emits, in emission
// order. Reuse one Output (Reset between uses) to reuse its buffers. Not
// safe for concurrent use.
type Output struct {
	Mirrors []Mirror
	Facts   []Fact

	// Scratch buffers for the index reads of the join.
	items    []Stored[OrderItem]
	payments []Stored[Payment]
	orders   []int64
	refs     []ItemRef
}

// Reset empties o, keeping its buffers.
func (o *Output) Reset() {
	o.Mirrors = o.Mirrors[:0]
	o.Facts = o.Facts[:0]
}

// ErrWrongScope is returned by Apply for a global table's change and by
// ApplyGlobal for an order-stream table's change.
var ErrWrongScope = errors.New("change applied in the wrong scope")

// Apply applies ch, a change of orders, order_items or payments, to the
// partition's state s and appends what it emits to out: the mirror row
// and every sales_facts row whose content the change may affect, each
// fact versioned with NextVersion(last version of its key, now).
//
// now is the emission clock in Unix nanoseconds (the caller reads the wall
// clock; this package does no I/O).
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
		if err := s.PutOrder(next); err != nil {
			return err
		}
		if out == nil {
			return nil
		}
		out.Mirrors = append(out.Mirrors, Mirror{Row: OrderRow(next.Row), Version: next.LSN, Deleted: next.Deleted})
		// An order new to this state also emits the tombstones of the
		// items deleted while it was unknown (see "Lost state" in doc.go).
		return emitOrder(s, id, nil, !found, now, out)
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
		// among the order's live items, so its tombstone is emitted apart.
		var gone *Stored[OrderItem]
		if next.Deleted {
			gone = &next
		}
		return emitOrder(s, orderID, gone, false, now, out)
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
		return emitOrder(s, orderID, nil, false, now, out)
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

// Refresh re-emits into out the facts of partition s that join the
// customer or vehicle (table) with the given id: the items of the
// customer's orders, or the items that reference the vehicle. Call it
// after ApplyGlobal applied a change of that row. With out nil it does
// nothing.
func Refresh(s PartitionStore, table Table, id int64, now uint64, out *Output) error {
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
		for i := 0; i < len(out.orders); i++ {
			if err := emitOrder(s, out.orders[i], nil, false, now, out); err != nil {
				return err
			}
		}
		return nil
	case TableVehicles:
		refs, err := s.ItemsOfVehicle(id, out.refs[:0])
		if err != nil {
			return err
		}
		out.refs = refs
		// refs are sorted by order: one view per order.
		for i := 0; i < len(out.refs); {
			j := i + 1
			for j < len(out.refs) && out.refs[j].OrderID == out.refs[i].OrderID {
				j++
			}
			if err := emitItems(s, out.refs[i].OrderID, out.refs[i:j], now, out); err != nil {
				return err
			}
			i = j
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
func nextStored[T any](ch *Change, old Stored[T], found bool, sp spec[T]) (Stored[T], bool) {
	if found && ch.Pos.Before(old.Pos) {
		return old, false
	}
	n := Stored[T]{LSN: ch.LSN, SourceTsMs: ch.SourceTsMs, Pos: ch.Pos}
	if ch.LSN == 0 && found {
		// An incremental-snapshot read has no LSN; it carries the row as of
		// the stored change or later, so it keeps that change's version.
		n.LSN = old.LSN
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
	var v orderView
	o, found, err := s.Order(orderID)
	if err != nil {
		return v, false, err
	}
	if !found {
		return v, false, nil
	}
	v.order = o
	v.ts = o.SourceTsMs
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

// emitOrder emits the facts of every live item of the order (of every
// item, deleted ones as tombstones, with all), and the tombstone fact of
// gone (a deleted item of the order) if not nil.
func emitOrder(s PartitionStore, orderID int64, gone *Stored[OrderItem], all bool, now uint64, out *Output) error {
	v, ok, err := view(s, orderID, out)
	if err != nil || !ok {
		return err
	}
	for i := range out.items {
		if out.items[i].Deleted && !all {
			continue
		}
		if err := emitItem(s, &v, &out.items[i], now, out); err != nil {
			return err
		}
	}
	if gone != nil {
		return emitItem(s, &v, gone, now, out)
	}
	return nil
}

// emitItems emits the facts of the live items of the order named by refs.
func emitItems(s PartitionStore, orderID int64, refs []ItemRef, now uint64, out *Output) error {
	v, ok, err := view(s, orderID, out)
	if err != nil || !ok {
		return err
	}
	// Both out.items and refs are sorted by item id.
	i := 0
	for _, r := range refs {
		for i < len(out.items) && out.items[i].Row.ID < r.ItemID {
			i++
		}
		if i < len(out.items) && out.items[i].Row.ID == r.ItemID && !out.items[i].Deleted {
			if err := emitItem(s, &v, &out.items[i], now, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// emitItem joins one item to its vehicle, versions the fact and appends it.
func emitItem(s PartitionStore, v *orderView, it *Stored[OrderItem], now uint64, out *Output) error {
	id := it.Row.ID
	veh, found, err := s.Vehicle(it.Row.VehicleID)
	if err != nil {
		return err
	}
	f := v.fact(it, &veh, found)
	last, _, err := s.LastFactVersion(id)
	if err != nil {
		return err
	}
	f.Version = NextVersion(last, now)
	if err := s.SetFactVersion(id, f.Version); err != nil {
		return err
	}
	out.Facts = append(out.Facts, f)
	return nil
}

// EmitState appends to out everything of an order that s holds, as the
// rows a change of each would emit: the mirror rows of the order, its
// items and its payments (tombstones as deleted rows), and the fact of
// every item (of a deleted one, its tombstone), versioned like Apply's.
// An order that s lacks emits its items' and payments' mirror rows and no
// fact, as Apply does.
//
// A partition that applied records without emitting (Apply with a nil
// Output) because none of their rows had reached the sinks calls it once
// per order the records touched: the sinks then hold what emitting every
// record would have left there (the last version of every row and fact),
// at one row per row instead of one per record.
func EmitState(s PartitionStore, orderID int64, now uint64, out *Output) error {
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
	return emitOrder(s, orderID, nil, true, now, out)
}
