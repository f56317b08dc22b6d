package workload

import (
	"context"
	"time"
)

// The rewrites: update patterns of real applications that docs/design.md ("Rows
// that move") asks consumers to get right, in a small share of the mix.
//
// order_items.order_id and payments.order_id cannot be updated (a trigger
// rejects it), so an application moves an item or a payment to another
// order by deleting it and inserting it again with the same id; orders are
// deleted and re-created under their old ids in another month, order_date
// changes, and customers and vehicles nothing references are deleted and
// inserted again with new attributes. Ids are inserted explicitly; they
// were issued by the tables' sequences, which stay ahead of them.
//
// A move or a re-creation split over two operations leaves the row out of
// the model in between (model.movingItems, movingPayments, deletedOrders):
// nothing else can pick it, and both operations touch the row's entity (the
// order's for a re-creation), so the executor commits them in plan order.
// A run that stops between the two halves leaves the row deleted.

// monthIndex numbers the months (UTC): year*12 + month - 1.
func monthIndex(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }

// otherDate returns an order_date in a month two to four months before the
// run's reference time, avoiding known (a monthIndex; 0 when the order was
// dated now() by this run, which puts it in the reference month or later,
// so any of these months differs). Two months back, rather than one, leaves
// room for a run that crosses the end of a month and for clock skew between
// this machine and PostgreSQL.
func (p *planner) otherDate(known int) (time.Time, int) {
	m := monthIndex(p.now) - 2 - p.r.IntN(3)
	if m == known {
		m--
	}
	t := time.Date(m/12, time.Month(m%12+1), 1+p.r.IntN(28), p.r.IntN(24), p.r.IntN(60), p.r.IntN(60), 0, time.UTC)
	return t, m
}

// pickLive returns a live order chosen uniformly, or nil.
func (p *planner) pickLive() *order {
	n := p.m.liveOrders()
	if n == 0 {
		return nil
	}
	i := p.r.IntN(n)
	for s := range p.m.orders {
		set := &p.m.orders[s]
		if i < set.len() {
			return set.items[i]
		}
		i -= set.len()
	}
	panic("workload: pickLive: unreachable")
}

// moveItem moves a line of a pending order to another pending order (the
// customer splits or merges carts) by deleting it and inserting it again
// with the same id. Half of the moves do both in one transaction. The
// others are split: this operation deletes the item, and a later move_item
// (chosen half of the time while items are in transit) re-inserts it under
// another order, so consumers see the delete and the insert in different
// transactions, usually on different partitions (partitioned by order_id),
// with other changes in between. A used vehicle stays reserved throughout.
func (p *planner) moveItem() *op {
	if len(p.m.movingItems) > 0 && p.r.IntN(2) == 0 {
		if o := p.finishItemMove(); o != nil {
			return o
		}
	}
	src := p.pickOrder(pending, func(o *order) bool { return len(o.items) > 1 })
	if src == nil {
		return nil
	}
	i := p.r.IntN(len(src.items))
	it := src.items[i]
	var dst *order
	if p.r.IntN(2) == 0 {
		if dst = p.itemTarget(src, it); dst == nil {
			return nil
		}
	}
	src.items = append(src.items[:i], src.items[i+1:]...)
	o := &op{}
	o.touch(tOrders, src.id)
	o.touch(tOrderItems, it.id)
	o.touch(tVehicles, it.v.id)
	o.exec(tOrderItems, cDelete, sqlDeleteItem, it.id)
	if dst == nil {
		// it.v.items keeps counting the item: its vehicle must still exist
		// when the item comes back.
		if it.v.reservedBy == src {
			it.v.reservedBy = inTransit
		}
		p.m.movingItems = append(p.m.movingItems, movingItem{it: it, from: src})
		return o
	}
	p.reinsertItem(o, it, src, dst)
	return o
}

// finishItemMove re-inserts an item in transit under another pending order,
// or returns nil when no order can take it now.
func (p *planner) finishItemMove() *op {
	i := p.r.IntN(len(p.m.movingItems))
	mv := p.m.movingItems[i]
	dst := p.itemTarget(mv.from, mv.it)
	if dst == nil {
		return nil
	}
	last := len(p.m.movingItems) - 1
	p.m.movingItems[i] = p.m.movingItems[last]
	p.m.movingItems = p.m.movingItems[:last]
	o := &op{}
	p.reinsertItem(o, mv.it, mv.from, dst)
	return o
}

// itemTarget picks a pending order other than from that can take it (a
// line of from), or nil.
func (p *planner) itemTarget(from *order, it *item) *order {
	return p.pickOrder(pending, func(o *order) bool {
		return o != from && len(o.items) < 3 && !o.hasVehicle(it.v) && movedUnitPrice(it, from, o) <= room(o, nil)
	})
}

// movedUnitPrice is it's unit price once moved from from to dst: converted
// at the list price when the orders' currencies differ.
func movedUnitPrice(it *item, from, dst *order) int64 {
	if countries[dst.country].currency != countries[from.country].currency {
		return price(it.v.price, dst.country)
	}
	return it.unitPrice
}

// reinsertItem inserts it, deleted from from, into dst with its id. The
// line keeps its quantity and prices, converted at the list price when the
// orders' currencies differ; the quantity drops only if the line would
// take dst's total past maxMoney.
func (p *planner) reinsertItem(o *op, it *item, from, dst *order) {
	if unit := movedUnitPrice(it, from, dst); unit != it.unitPrice {
		it.unitPrice = unit
		it.discount = min(it.discount, it.qty*it.unitPrice)
	}
	if q := fitQty(room(dst, nil), it.unitPrice, it.qty); q != it.qty {
		it.qty = q
		it.discount = min(it.discount, it.qty*it.unitPrice)
	}
	if it.v.reservedBy == from || it.v.reservedBy == inTransit {
		it.v.reservedBy = dst
	}
	dst.items = append(dst.items, it)
	o.touch(tOrders, dst.id)
	o.touch(tOrderItems, it.id)
	o.touch(tVehicles, it.v.id)
	o.exec(tOrderItems, cInsert, sqlInsertItem, it.id, dst.id, it.v.id, it.qty, money(it.unitPrice), money(it.discount))
}

// movePayment moves a pending payment booked against the wrong confirmed
// order to another confirmed order, by delete and insert with the same id;
// like moveItem, in one transaction or in two.
func (p *planner) movePayment() *op {
	if len(p.m.movingPayments) > 0 && p.r.IntN(2) == 0 {
		if o := p.finishPaymentMove(); o != nil {
			return o
		}
	}
	if p.m.pendingPayments.len() == 0 {
		return nil
	}
	pay := p.m.pendingPayments.pick(p.r)
	src := pay.o
	if src.status != confirmed {
		return nil
	}
	var dst *order
	if p.r.IntN(2) == 0 {
		if dst = p.paymentTarget(src); dst == nil {
			return nil
		}
	}
	for i, q := range src.payments {
		if q == pay {
			src.payments = append(src.payments[:i], src.payments[i+1:]...)
			break
		}
	}
	p.m.pendingPayments.remove(pay)
	p.m.refresh(src)
	o := &op{}
	o.touch(tOrders, src.id)
	o.touch(tPayments, pay.id)
	o.exec(tPayments, cDelete, sqlDeletePayment, pay.id)
	if dst == nil {
		p.m.movingPayments = append(p.m.movingPayments, movingPayment{pay: pay, from: src})
		return o
	}
	p.reinsertPayment(o, pay, dst)
	return o
}

// finishPaymentMove re-inserts a payment in transit under another
// confirmed order, or returns nil when none can take it now.
func (p *planner) finishPaymentMove() *op {
	i := p.r.IntN(len(p.m.movingPayments))
	mv := p.m.movingPayments[i]
	dst := p.paymentTarget(mv.from)
	if dst == nil {
		return nil
	}
	last := len(p.m.movingPayments) - 1
	p.m.movingPayments[i] = p.m.movingPayments[last]
	p.m.movingPayments = p.m.movingPayments[:last]
	o := &op{}
	p.reinsertPayment(o, mv.pay, dst)
	return o
}

func (p *planner) paymentTarget(from *order) *order {
	return p.pickOrder(confirmed, func(o *order) bool { return o != from && len(o.payments) < maxPayments })
}

// reinsertPayment inserts pay into dst with its id and amount, pending (the
// method may differ: it is entered again).
func (p *planner) reinsertPayment(o *op, pay *payment, dst *order) {
	pay.o = dst
	dst.payments = append(dst.payments, pay)
	p.m.setPayStatus(pay, payPending)
	method := payMethods[pickWeighted(p.r, []int{20, 35, 35, 10})]
	o.touch(tOrders, dst.id)
	o.touch(tPayments, pay.id)
	o.exec(tPayments, cInsert, sqlInsertPayment, pay.id, dst.id, money(pay.amount), method)
}

// recreateOrder deletes an order (the cascade deletes its items and
// payments) to re-create it later under the same id, or, half of the time
// while deleted ones wait, re-creates one: pending, for the same customer,
// dated in another month than before, with new lines whose ids are new or
// sometimes those of the deleted lines.
func (p *planner) recreateOrder(ctx context.Context) (*op, error) {
	if len(p.m.deletedOrders) > 0 && (p.m.liveOrders() == 0 || p.r.IntN(2) == 0) {
		return p.recreate(ctx)
	}
	ord := p.pickLive()
	if ord == nil {
		return nil, nil
	}
	d := deletedOrder{id: ord.id, cust: ord.cust, month: ord.month}
	for _, it := range ord.items {
		d.itemIDs = append(d.itemIDs, it.id)
	}
	o := &op{}
	p.dropOrder(o, ord)
	p.m.deletedOrders = append(p.m.deletedOrders, d)
	return o, nil
}

func (p *planner) recreate(ctx context.Context) (*op, error) {
	if p.m.available.len() == 0 {
		return nil, nil // a pending order needs a line
	}
	i := p.r.IntN(len(p.m.deletedOrders))
	d := p.m.deletedOrders[i]
	last := len(p.m.deletedOrders) - 1
	p.m.deletedOrders[i] = p.m.deletedOrders[last]
	p.m.deletedOrders = p.m.deletedOrders[:last]

	c := d.cust
	date, month := p.otherDate(d.month)
	ord := &order{id: d.id, cust: c, status: pending, country: c.country, month: month}
	ch := channels[pickWeighted(p.r, []int{50, 30, 20})]
	o := &op{}
	o.touch(tOrders, ord.id)
	o.touch(tCustomers, c.id)
	c.orders++
	o.exec(tOrders, cInsert, sqlInsertOrderAt, ord.id, c.id, ch, countries[c.country].currency, date)
	reuse := d.itemIDs
	for range 1 + pickWeighted(p.r, []int{60, 30, 10}) {
		v := p.pickAvailable(ord)
		if v == nil {
			break
		}
		var id int64
		if len(reuse) > 0 && p.r.IntN(2) == 0 {
			id, reuse = reuse[0], reuse[1:]
		} else {
			var err error
			if id, err = p.ids.nextID(ctx, tOrderItems); err != nil {
				return nil, err
			}
		}
		p.insertItem(o, ord, v, id)
	}
	p.m.addOrder(ord)
	return o, nil
}

// changeOrderDate moves an order's order_date into another month (a
// back-dated contract, a corrected entry).
func (p *planner) changeOrderDate() *op {
	ord := p.pickLive()
	if ord == nil {
		return nil
	}
	date, month := p.otherDate(ord.month)
	ord.month = month
	o := &op{}
	o.touch(tOrders, ord.id)
	o.exec(tOrders, cUpdate, sqlOrderDate, ord.id, date)
	return o
}

// reinsertCustomer deletes a customer no order references and inserts it
// again with the same id and new attributes (a CRM re-import), in one
// transaction.
func (p *planner) reinsertCustomer() *op {
	var c *customer
	for range 8 {
		if x := p.m.customers[p.r.IntN(len(p.m.customers))]; x.orders == 0 {
			c = x
			break
		}
	}
	if c == nil {
		return nil
	}
	row := newCustomer(p.r, c.id, p.now)
	*c = *customerFromRow(&row)
	o := &op{}
	o.touch(tCustomers, c.id)
	o.exec(tCustomers, cDelete, sqlDeleteCustomer, c.id)
	o.exec(tCustomers, cInsert, sqlInsertCustomer, customerArgs(&row)[:10]...)
	return o
}

// reinsertVehicle deletes a vehicle no item references and inserts it
// again with the same id and new attributes (a listing replaced), keeping
// its stock status, in one transaction.
func (p *planner) reinsertVehicle() *op {
	var v *vehicle
	for range 8 {
		if x := p.m.vehicles[p.r.IntN(len(p.m.vehicles))]; x.items == 0 && x.reservedBy == nil {
			v = x
			break
		}
	}
	if v == nil {
		return nil
	}
	row := newVehicle(p.r, v.id, p.now)
	row.stock = v.stock
	nv := vehicleFromRow(&row)
	v.price, v.cond, v.features = nv.price, nv.cond, nv.features
	if nv.large {
		p.m.large.add(v)
	} else {
		p.m.large.remove(v)
	}
	v.large = nv.large
	o := &op{}
	o.touch(tVehicles, v.id)
	o.exec(tVehicles, cDelete, sqlDeleteVehicle, v.id)
	o.exec(tVehicles, cInsert, sqlInsertVehicle, vehicleArgs(&row)[:15]...)
	return o
}
