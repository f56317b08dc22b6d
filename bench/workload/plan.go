package workload

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// opKind is one business operation of the steady mix; each is one
// transaction.
type opKind uint8

const (
	opNewOrder opKind = iota
	opConfirmOrder
	opAddItem
	opRemoveItem
	opChangeItem
	opSwitchItemVehicle
	opAddPayment
	opApprovePayment
	opRejectPayment
	opRefundPayment
	opDeliverOrder
	opCancelOrder
	opDeleteOrder
	opChangePrice
	opChangeStock
	opChangeFeatures
	opMoveCustomer
	opUpdateCustomer
	opNewCustomer
	opNewVehicle
	opMoveItem
	opMovePayment
	opRecreateOrder
	opChangeOrderDate
	opReinsertCustomer
	opReinsertVehicle
	numOpKinds
)

var opNames = [numOpKinds]string{
	"new_order", "confirm_order", "add_item", "remove_item", "change_item", "switch_item_vehicle",
	"add_payment", "approve_payment", "reject_payment", "refund_payment", "deliver_order",
	"cancel_order", "delete_order", "change_price", "change_stock", "change_features",
	"move_customer", "update_customer", "new_customer", "new_vehicle",
	"move_item", "move_payment", "recreate_order", "change_order_date", "reinsert_customer", "reinsert_vehicle",
}

func (k opKind) String() string { return opNames[k] }

// singleChange marks the kinds that always change exactly one row; near the
// end of a --changes budget only these are planned, so the run stops on the
// exact number asked for.
var singleChange = [numOpKinds]bool{
	opConfirmOrder: true, opChangeItem: true, opRejectPayment: true, opRefundPayment: true,
	opChangePrice: true, opChangeStock: true, opChangeFeatures: true, opMoveCustomer: true,
	opUpdateCustomer: true, opNewCustomer: true, opNewVehicle: true, opChangeOrderDate: true,
}

// maxOpChanges bounds the rows one operation changes: an order has at most
// 3 items and maxPayments payments (moves into an order respect both);
// deleting or cancelling it also releases up to 3 vehicles.
const (
	maxPayments  = 6
	maxOpChanges = 1 + 3 + maxPayments + 3
)

type stmtKind uint8

const (
	countRows     stmtKind = iota // counts RowsAffected as (table, change)
	lockRow                       // SELECT ... FOR UPDATE, counts nothing
	countChildren                 // returns (items, payments) that a cascade will delete
)

type stmt struct {
	kind  stmtKind
	table table
	chg   change
	sql   string
	args  []any
}

// entity names a row the executor serializes on: an order (with its items
// and payments), a customer or a vehicle; an item or a payment too while a
// two-transaction move takes it from one order to another.
type entity struct {
	t  table
	id int64
}

// op is one planned transaction: its statements, the row changes it should
// make, and the entities it touches.
type op struct {
	seq   uint64
	kind  opKind
	stmts []stmt
	want  tally
	keys  []entity
	// deps are the earlier operations that share a key with this one
	// (set by the dispatcher); it runs after they finished.
	deps []*op
	// done is closed when the operation committed, was skipped, or the
	// run stopped without running it.
	done chan struct{}
	// skipped is set before done is closed when the operation was left
	// out (rolled back, or not run): the operations that depend on it are
	// left out too, since they were planned assuming its changes.
	skipped bool
	// retries counts its runs after transient failures (worker-owned).
	retries int
}

func (o *op) exec(t table, c change, sql string, args ...any) {
	o.stmts = append(o.stmts, stmt{kind: countRows, table: t, chg: c, sql: sql, args: args})
	o.want[t][c]++
}

func (o *op) touch(t table, id int64) { o.keys = append(o.keys, entity{t, id}) }

// String renders the op for tests and debug logs.
func (o *op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s", o.seq, o.kind)
	for _, s := range o.stmts {
		b.WriteString("\n  ")
		b.WriteString(s.sql)
		for _, a := range s.args {
			b.WriteString(" | ")
			b.WriteString(formatArg(a))
		}
	}
	return b.String()
}

func formatArg(a any) string {
	switch v := a.(type) {
	case pgtype.Numeric:
		if !v.Valid {
			return "NULL"
		}
		return new(big.Rat).SetFrac(v.Int, big.NewInt(100)).FloatString(2)
	case []byte:
		return string(v)
	case *string:
		if v == nil {
			return "NULL"
		}
		return *v
	case nil:
		return "NULL"
	}
	return fmt.Sprint(a)
}

// maxMoney is the largest NUMERIC(12,2), in cents: the bound of every
// money column (list and cost prices, unit prices, discounts, payment
// amounts). The planner also keeps each line (quantity × unit price) and
// each order's total within it, as consumers store line totals as
// Decimal(12,2) and pay an order in full with one payment. Rows written by
// others may hold list prices near the bound: their lines are clamped too.
const maxMoney = 999_999_999_999

// money converts cents to NUMERIC(12,2).
func money(cents int64) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(cents), Exp: -2, Valid: true}
}

func moneyPtr(cents *int64) pgtype.Numeric {
	if cents == nil {
		return pgtype.Numeric{}
	}
	return money(*cents)
}

// idAllocator hands out primary keys from the tables' sequences.
type idAllocator interface {
	nextID(ctx context.Context, t table) (int64, error)
}

// planner decides the steady mix: which operation comes next and with what
// values. It owns the model and one seeded random source; it is not safe
// for concurrent use. Its choices depend only on the seed and the model,
// never on timing or on what the executor reports.
type planner struct {
	r     *rand.Rand
	m     *model
	ids   idAllocator
	scale int
	now   time.Time // reference time for generated rows' derived dates
	seq   uint64
}

const (
	sqlInsertCustomer = `INSERT INTO customers (id, email, first_name, last_name, phone, city, region, country, segment, birth_date, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now())`
	sqlMoveCustomer   = `UPDATE customers SET city = $2, region = $3, country = $4, updated_at = now() WHERE id = $1`
	sqlCustomerPhone  = `UPDATE customers SET phone = $2, updated_at = now() WHERE id = $1`
	sqlCustomerSeg    = `UPDATE customers SET segment = $2, updated_at = now() WHERE id = $1`
	sqlInsertVehicle  = `INSERT INTO vehicles (id, vin, make, model, model_year, body_type, fuel_type, transmission, color, mileage_km, condition, list_price, cost_price, stock_status, features, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now(), now())`
	sqlVehicleStock   = `UPDATE vehicles SET stock_status = $2, updated_at = now() WHERE id = $1`
	sqlVehiclePrice   = `UPDATE vehicles SET list_price = $2, updated_at = now() WHERE id = $1`
	sqlFeatures       = `UPDATE vehicles SET features = $2, updated_at = now() WHERE id = $1`
	// jsonb_set fails on an array or a scalar (22023, 22P02), which other
	// clients may have written: such documents are left as they are.
	sqlFeatureKey     = `UPDATE vehicles SET features = CASE WHEN jsonb_typeof(features) = 'object' THEN jsonb_set(features, $2, $3) ELSE features END, updated_at = now() WHERE id = $1`
	sqlInsertOrder    = `INSERT INTO orders (id, customer_id, status, channel, currency, order_date, updated_at) VALUES ($1, $2, 'pending', $3, $4, now(), now())`
	sqlInsertOrderAt  = `INSERT INTO orders (id, customer_id, status, channel, currency, order_date, updated_at) VALUES ($1, $2, 'pending', $3, $4, $5, now())`
	sqlOrderDate      = `UPDATE orders SET order_date = $2, updated_at = now() WHERE id = $1`
	sqlOrderStatus    = `UPDATE orders SET status = $2, updated_at = now() WHERE id = $1`
	sqlLockOrder      = `SELECT id FROM orders WHERE id = $1 FOR UPDATE`
	sqlCountChildren  = `SELECT (SELECT count(*) FROM order_items WHERE order_id = $1), (SELECT count(*) FROM payments WHERE order_id = $1)`
	sqlDeleteOrder    = `DELETE FROM orders WHERE id = $1`
	sqlInsertItem     = `INSERT INTO order_items (id, order_id, vehicle_id, quantity, unit_price, discount) VALUES ($1, $2, $3, $4, $5, $6)`
	sqlUpdateItem     = `UPDATE order_items SET quantity = $2, unit_price = $3, discount = $4 WHERE id = $1`
	sqlSwitchItem     = `UPDATE order_items SET vehicle_id = $2, quantity = $3, unit_price = $4, discount = $5 WHERE id = $1`
	sqlDeleteItem     = `DELETE FROM order_items WHERE id = $1`
	sqlInsertPayment  = `INSERT INTO payments (id, order_id, amount, method, status, paid_at, created_at) VALUES ($1, $2, $3, $4, 'pending', NULL, now())`
	sqlApprovePayment = `UPDATE payments SET status = 'approved', paid_at = now() WHERE id = $1`
	sqlPaymentStatus  = `UPDATE payments SET status = $2 WHERE id = $1`
	sqlDeletePayment  = `DELETE FROM payments WHERE id = $1`
	sqlDeleteCustomer = `DELETE FROM customers WHERE id = $1`
	sqlDeleteVehicle  = `DELETE FROM vehicles WHERE id = $1`
)

// weights gives each kind's chance given the model (in tenths; zero when
// the kind has no candidate rows).
//
// Catalogue operations and new orders have fixed weights. An order
// transition's weight is proportional to the number of orders in its source
// state, as a share of max(live orders, scale): each order then leaves a
// state at a steady pace, as in a shop, and the population of each state
// settles where inflow equals outflow. Deletions (archiving closed orders,
// dropping abandoned carts) get a pressure factor (live/scale)², at most 4,
// so live orders settle near the scale, and vehicles arrive faster when few
// are available: the tables keep their size however long the run.
//
// The rewrites applications make (rows moved or re-created under their old
// ids, order dates changed, catalogue rows deleted and inserted again) have
// small fixed weights: together 2-3% of the operations.
func (p *planner) weights(small bool) [numOpKinds]int {
	m := p.m
	var w [numOpKinds]int
	live := m.liveOrders()
	l := max(live, p.scale)
	per := func(rate, n int) int { // rate per 1 of share n/l, in tenths
		if n == 0 {
			return 0
		}
		return max(1, rate*10*n/l)
	}
	nP, nC, nPaid := m.orders[pending].len(), m.orders[confirmed].len(), m.orders[paid].len()
	nD, nX := m.orders[delivered].len(), m.orders[cancelled].len()
	avail := m.available.len()
	if len(m.customers) > 0 && avail > 0 {
		w[opNewOrder] = 1000
	}
	w[opConfirmOrder] = per(900, nP)
	w[opRemoveItem] = per(40, nP)
	w[opChangeItem] = per(100, nP)
	if avail > 0 {
		w[opAddItem] = per(60, nP)
		w[opSwitchItemVehicle] = per(40, nP)
	}
	w[opAddPayment] = per(900, m.awaiting.len())
	w[opApprovePayment] = per(800, m.pendingPayments.len())
	w[opRejectPayment] = per(100, m.pendingPayments.len())
	w[opDeliverOrder] = per(600, nPaid)
	w[opRefundPayment] = per(10, nD)
	w[opCancelOrder] = per(50, nP) + per(40, nC) + per(20, nPaid)
	if closed := 100*(nD+nX) + 20*nP; closed > 0 {
		// pressure (live/scale)², capped at 4 so that a database much bigger
		// than the scale shrinks gradually rather than by a mix of deletes.
		sc2 := int64(p.scale) * int64(p.scale)
		pressure := min(int64(live)*int64(live), 4*sc2)
		w[opDeleteOrder] = max(1, int(int64(closed)*10*pressure/(int64(l)*sc2)))
	}
	if len(m.vehicles) > 0 {
		w[opChangePrice] = 800
		w[opChangeStock] = 300
		w[opChangeFeatures] = 300
	}
	if len(m.customers) > 0 {
		w[opMoveCustomer] = 400
		w[opUpdateCustomer] = 200
	}
	w[opNewCustomer] = 100
	if len(m.customers) > 2*p.scale {
		w[opNewCustomer] = 30
	}
	w[opNewVehicle] = 50
	if target := vehicleTarget(p.scale) * 4 / 5; avail < target {
		w[opNewVehicle] += 2000 * (target - avail) / target
	}
	if nP >= 2 || len(m.movingItems) > 0 {
		w[opMoveItem] = 60
	}
	if nC >= 2 && m.pendingPayments.len() > 0 || len(m.movingPayments) > 0 {
		w[opMovePayment] = 40
	}
	if live > 0 || len(m.deletedOrders) > 0 && avail > 0 {
		w[opRecreateOrder] = 40
	}
	if live > 0 {
		w[opChangeOrderDate] = 60
	}
	if len(m.customers) > 0 {
		w[opReinsertCustomer] = 30
	}
	if len(m.vehicles) > 0 {
		w[opReinsertVehicle] = 30
	}
	if small {
		for k := range w {
			if !singleChange[k] {
				w[k] = 0
			}
		}
	}
	return w
}

// vehicleTarget is the catalogue's vehicle count for a scale.
func vehicleTarget(scale int) int { return max(1, scale/5) }

// next plans the next operation. budget is the number of row changes the
// run may still make; below maxOpChanges only single-change kinds are
// chosen, so a run asked for N changes makes exactly N.
func (p *planner) next(ctx context.Context, budget int64) (*op, error) {
	w := p.weights(budget < maxOpChanges)
	for {
		total := 0
		for _, x := range w {
			total += x
		}
		if total == 0 {
			return nil, fmt.Errorf("no operation is possible (the catalogue has no customers)")
		}
		k := opKind(pickWeighted(p.r, w[:]))
		o, err := p.plan(ctx, k)
		if err != nil || o != nil {
			return o, err
		}
		w[k] = 0 // no candidate this time: choose among the others
	}
}

// plan plans an operation of kind k, or returns nil when k has no
// candidate now. k must have a weight (see weights): some kinds assume
// that theirs do.
func (p *planner) plan(ctx context.Context, k opKind) (*op, error) {
	o, err := p.build(ctx, k)
	if err != nil || o == nil {
		return nil, err
	}
	p.seq++
	o.seq, o.kind = p.seq, k
	o.done = make(chan struct{})
	return o, nil
}

func (p *planner) build(ctx context.Context, k opKind) (*op, error) {
	switch k {
	case opNewOrder:
		return p.newOrder(ctx)
	case opConfirmOrder:
		return p.confirmOrder(), nil
	case opAddItem:
		return p.addItem(ctx)
	case opRemoveItem:
		return p.removeItem(), nil
	case opChangeItem:
		return p.changeItem(), nil
	case opSwitchItemVehicle:
		return p.switchItemVehicle(), nil
	case opAddPayment:
		return p.addPayment(ctx)
	case opApprovePayment:
		return p.approvePayment(), nil
	case opRejectPayment:
		return p.rejectPayment(), nil
	case opRefundPayment:
		return p.refundPayment(), nil
	case opDeliverOrder:
		return p.deliverOrder(), nil
	case opCancelOrder:
		return p.cancelOrder(), nil
	case opDeleteOrder:
		return p.deleteOrder(), nil
	case opChangePrice:
		return p.changePrice(), nil
	case opChangeStock:
		return p.changeStock(), nil
	case opChangeFeatures:
		return p.changeFeatures(), nil
	case opMoveCustomer:
		return p.moveCustomer(), nil
	case opUpdateCustomer:
		return p.updateCustomer(), nil
	case opNewCustomer:
		return p.newCustomer(ctx)
	case opNewVehicle:
		return p.newVehicle(ctx)
	case opMoveItem:
		return p.moveItem(), nil
	case opMovePayment:
		return p.movePayment(), nil
	case opRecreateOrder:
		return p.recreateOrder(ctx)
	case opChangeOrderDate:
		return p.changeOrderDate(), nil
	case opReinsertCustomer:
		return p.reinsertCustomer(), nil
	case opReinsertVehicle:
		return p.reinsertVehicle(), nil
	}
	panic(fmt.Sprintf("workload: unknown operation kind %d", k))
}

// pickAvailable returns an available vehicle that o does not hold yet and
// whose price still fits in o's total (see maxMoney), or nil.
func (p *planner) pickAvailable(o *order) *vehicle {
	for range 4 {
		if p.m.available.len() == 0 {
			return nil
		}
		v := p.m.available.pick(p.r)
		if !o.hasVehicle(v) && price(v.price, o.country) <= room(o, nil) {
			return v
		}
	}
	return nil
}

// pickOrder returns an order in status s that satisfies ok (nil: any), or
// nil after a few tries.
func (p *planner) pickOrder(s orderStatus, ok func(*order) bool) *order {
	set := &p.m.orders[s]
	for range 4 {
		if set.len() == 0 {
			return nil
		}
		o := set.pick(p.r)
		if ok == nil || ok(o) {
			return o
		}
	}
	return nil
}

func hasItems(o *order) bool { return len(o.items) > 0 }

// price converts a list price (EUR cents) into the order's currency,
// within maxMoney (a list price near the bound is worth more than it in
// dollars).
func price(listPrice int64, countryIdx int) int64 {
	return min(listPrice*countries[countryIdx].fxFromEUR/10000, maxMoney)
}

// room is how much a line may be worth without taking ord's total past
// maxMoney, not counting the line except (nil: none), which is being
// replaced. It is 0 for an order over the bound (written by others).
func room(ord *order, except *item) int64 {
	t := ord.total()
	if except != nil {
		t -= except.value()
	}
	return max(maxMoney-t, 0)
}

// fits reports whether a line may become next, replacing prev, in an order
// that leaves it room (see room): when it is worth at most room, or at most
// what prev was worth (an order over the bound, written by others, may
// only shrink).
func fits(next, prev *item, room int64) bool {
	v := next.value()
	return v <= room || v <= prev.value()
}

// fitQty lowers qty so that a line at unit is worth at most room, keeping
// at least one unit: callers pick vehicles whose unit price fits (the line
// then stays within maxMoney even for an order already over the bound,
// since unit prices are).
func fitQty(room, unit, qty int64) int64 {
	if unit <= 0 {
		return qty
	}
	return max(1, min(qty, room/unit))
}

// quantity decides how many units of v an order line takes: used and
// certified vehicles are unique; fleet customers buy new vehicles by the
// dozen, business customers sometimes a few.
func (p *planner) quantity(c *customer, v *vehicle) int64 {
	if v.cond != condNew {
		return 1
	}
	switch c.segment {
	case fleet:
		return int64(2 + p.r.IntN(9))
	case business:
		if p.r.IntN(4) == 0 {
			return int64(2 + p.r.IntN(3))
		}
		return 1
	}
	if p.r.IntN(20) == 0 {
		return 2
	}
	return 1
}

// discount decides a line's discount: often none, up to 12% for fleets,
// rounded to 50 currency units.
func (p *planner) discount(c *customer, line int64) int64 {
	chance, maxPct := 30, 8
	if c.segment == fleet {
		chance, maxPct = 60, 12
	}
	if p.r.IntN(100) >= chance {
		return 0
	}
	pct := int64(1 + p.r.IntN(maxPct))
	return line * pct / 100 / 5000 * 5000
}

// reserve marks a used or certified vehicle reserved for o, in the same
// transaction that puts it in the order. New vehicles are ordered from the
// factory and stay available.
func (p *planner) reserve(o *op, ord *order, v *vehicle) {
	if v.cond == condNew || v.stock != available {
		return
	}
	p.m.setStock(v, reserved)
	v.reservedBy = ord
	o.exec(tVehicles, cUpdate, sqlVehicleStock, v.id, stockNames[reserved])
}

// release gives back the vehicles that ord reserved, setting them to s
// (available on cancellation, sold on delivery).
func (p *planner) release(o *op, ord *order, v *vehicle, s stock) {
	if v.reservedBy != ord {
		return
	}
	v.reservedBy = nil
	p.m.setStock(v, s)
	o.touch(tVehicles, v.id)
	o.exec(tVehicles, cUpdate, sqlVehicleStock, v.id, stockNames[s])
}

// unref records that an item no longer references v (deleted, or switched
// to another vehicle). The operation touches v so that a later deletion of
// v (reinsert_vehicle) waits for it.
func (p *planner) unref(o *op, v *vehicle) {
	v.items--
	o.touch(tVehicles, v.id)
}

func (p *planner) newItem(ctx context.Context, o *op, ord *order, v *vehicle) error {
	id, err := p.ids.nextID(ctx, tOrderItems)
	if err != nil {
		return err
	}
	p.insertItem(o, ord, v, id)
	return nil
}

// insertItem adds a line for v with the given id to ord.
func (p *planner) insertItem(o *op, ord *order, v *vehicle, id int64) {
	it := &item{id: id, v: v, qty: p.quantity(ord.cust, v), unitPrice: price(v.price, ord.country)}
	it.qty = fitQty(room(ord, nil), it.unitPrice, it.qty)
	it.discount = p.discount(ord.cust, it.qty*it.unitPrice)
	ord.items = append(ord.items, it)
	v.items++
	o.touch(tVehicles, v.id)
	o.exec(tOrderItems, cInsert, sqlInsertItem, it.id, ord.id, v.id, it.qty, money(it.unitPrice), money(it.discount))
	p.reserve(o, ord, v)
}

func (p *planner) newOrder(ctx context.Context) (*op, error) {
	c := p.m.customers[p.r.IntN(len(p.m.customers))]
	n := 1 + pickWeighted(p.r, []int{70, 22, 8})
	id, err := p.ids.nextID(ctx, tOrders)
	if err != nil {
		return nil, err
	}
	ord := &order{id: id, cust: c, status: pending, country: c.country}
	ch := channels[pickWeighted(p.r, []int{50, 30, 20})]
	if c.segment == fleet && p.r.IntN(10) < 6 {
		ch = "dealer"
	}
	o := &op{}
	o.touch(tOrders, ord.id)
	o.touch(tCustomers, c.id)
	c.orders++
	o.exec(tOrders, cInsert, sqlInsertOrder, ord.id, c.id, ch, countries[c.country].currency)
	for range n {
		v := p.pickAvailable(ord)
		if v == nil {
			break
		}
		if err := p.newItem(ctx, o, ord, v); err != nil {
			return nil, err
		}
	}
	p.m.addOrder(ord)
	return o, nil
}

func (p *planner) confirmOrder() *op {
	ord := p.pickOrder(pending, hasItems)
	if ord == nil {
		return nil
	}
	o := &op{}
	o.touch(tOrders, ord.id)
	p.m.setStatus(ord, confirmed)
	o.exec(tOrders, cUpdate, sqlOrderStatus, ord.id, orderStatusNames[confirmed])
	return o
}

func (p *planner) addItem(ctx context.Context) (*op, error) {
	ord := p.pickOrder(pending, func(o *order) bool { return len(o.items) < 3 })
	if ord == nil {
		return nil, nil
	}
	v := p.pickAvailable(ord)
	if v == nil {
		return nil, nil
	}
	o := &op{}
	o.touch(tOrders, ord.id)
	return o, p.newItem(ctx, o, ord, v)
}

func (p *planner) removeItem() *op {
	ord := p.pickOrder(pending, func(o *order) bool { return len(o.items) > 1 })
	if ord == nil {
		return nil
	}
	i := p.r.IntN(len(ord.items))
	it := ord.items[i]
	ord.items = append(ord.items[:i], ord.items[i+1:]...)
	o := &op{}
	o.touch(tOrders, ord.id)
	o.exec(tOrderItems, cDelete, sqlDeleteItem, it.id)
	p.unref(o, it.v)
	p.release(o, ord, it.v, available)
	return o
}

// changeItem renegotiates a line of a pending order: quantity (new vehicles
// only), discount, or the unit price brought up to date with the list price.
// A renegotiation that would take the order's total past maxMoney is not
// made (nil): a smaller discount or a higher price can, where the other
// lines took the room that the line's discount or its older, lower price
// left.
func (p *planner) changeItem() *op {
	ord := p.pickOrder(pending, hasItems)
	if ord == nil {
		return nil
	}
	it := ord.items[p.r.IntN(len(ord.items))]
	free := room(ord, it)
	next := *it
	switch p.r.IntN(3) {
	case 0:
		if it.v.cond == condNew {
			next.qty = fitQty(free, next.unitPrice, p.quantity(ord.cust, it.v))
			next.discount = min(next.discount, next.qty*next.unitPrice)
			break
		}
		fallthrough
	case 1:
		next.discount = p.discount(ord.cust, next.qty*next.unitPrice)
	default:
		next.unitPrice = price(it.v.price, ord.country)
		next.qty = fitQty(free, next.unitPrice, next.qty)
		next.discount = min(next.discount, next.qty*next.unitPrice)
	}
	if !fits(&next, it, free) {
		return nil
	}
	*it = next
	o := &op{}
	o.touch(tOrders, ord.id)
	o.exec(tOrderItems, cUpdate, sqlUpdateItem, it.id, it.qty, money(it.unitPrice), money(it.discount))
	return o
}

// switchItemVehicle makes a line of a pending order point at another
// vehicle (the customer chose another car): the old one is released, the
// new one reserved.
func (p *planner) switchItemVehicle() *op {
	ord := p.pickOrder(pending, hasItems)
	if ord == nil {
		return nil
	}
	v := p.pickAvailable(ord)
	if v == nil {
		return nil
	}
	it := ord.items[p.r.IntN(len(ord.items))]
	old := it.v
	free := room(ord, it)
	it.v, it.unitPrice, it.discount = v, price(v.price, ord.country), 0
	if v.cond != condNew {
		it.qty = 1
	}
	it.qty = fitQty(free, it.unitPrice, it.qty)
	o := &op{}
	o.touch(tOrders, ord.id)
	o.touch(tVehicles, v.id)
	o.exec(tOrderItems, cUpdate, sqlSwitchItem, it.id, v.id, it.qty, money(it.unitPrice), money(it.discount))
	v.items++
	p.unref(o, old)
	p.release(o, ord, old, available)
	p.reserve(o, ord, v)
	return o
}

// addPayment records a payment for a confirmed order: the whole outstanding
// amount, or sometimes a 10-20% deposit first.
func (p *planner) addPayment(ctx context.Context) (*op, error) {
	ord := p.m.awaiting.pick(p.r)
	outstanding := ord.total() - ord.sum(payApproved, payPending)
	// An order over maxMoney (written by others) is paid in several
	// payments of at most maxMoney.
	amount := min(outstanding, maxMoney)
	if len(ord.payments) == 0 && p.r.IntN(100) < 30 {
		amount = max(outstanding*int64(10+p.r.IntN(11))/100/10000*10000, 100)
		amount = min(amount, outstanding, maxMoney)
	}
	id, err := p.ids.nextID(ctx, tPayments)
	if err != nil {
		return nil, err
	}
	pay := &payment{id: id, o: ord, amount: amount}
	ord.payments = append(ord.payments, pay)
	p.m.setPayStatus(pay, payPending)
	p.m.refresh(ord)
	method := payMethods[pickWeighted(p.r, []int{20, 35, 35, 10})]
	o := &op{}
	o.touch(tOrders, ord.id)
	o.exec(tPayments, cInsert, sqlInsertPayment, pay.id, ord.id, money(amount), method)
	return o, nil
}

// approvePayment approves a pending payment; when the order is then fully
// paid it moves to paid in the same transaction.
func (p *planner) approvePayment() *op {
	pay := p.m.pendingPayments.pick(p.r)
	ord := pay.o
	o := &op{}
	o.touch(tOrders, ord.id)
	p.m.setPayStatus(pay, payApproved)
	o.exec(tPayments, cUpdate, sqlApprovePayment, pay.id)
	if ord.status == confirmed && ord.sum(payApproved) >= ord.total() {
		p.m.setStatus(ord, paid)
		o.exec(tOrders, cUpdate, sqlOrderStatus, ord.id, orderStatusNames[paid])
	}
	return o
}

func (p *planner) rejectPayment() *op {
	pay := p.m.pendingPayments.pick(p.r)
	o := &op{}
	o.touch(tOrders, pay.o.id)
	p.m.setPayStatus(pay, payRejected)
	o.exec(tPayments, cUpdate, sqlPaymentStatus, pay.id, payStatusNames[payRejected])
	return o
}

// refundPayment refunds an approved payment of a delivered order (a
// return or a goodwill refund): the payment's status becomes refunded.
func (p *planner) refundPayment() *op {
	var pay *payment
	ord := p.pickOrder(delivered, func(o *order) bool {
		for _, q := range o.payments {
			if q.status == payApproved {
				pay = q
				return true
			}
		}
		return false
	})
	if ord == nil {
		return nil
	}
	o := &op{}
	o.touch(tOrders, ord.id)
	p.m.setPayStatus(pay, payRefunded)
	o.exec(tPayments, cUpdate, sqlPaymentStatus, pay.id, payStatusNames[payRefunded])
	return o
}

// deliverOrder hands a paid order over: its reserved vehicles are sold.
func (p *planner) deliverOrder() *op {
	ord := p.pickOrder(paid, nil)
	if ord == nil {
		return nil
	}
	o := &op{}
	o.touch(tOrders, ord.id)
	p.m.setStatus(ord, delivered)
	o.exec(tOrders, cUpdate, sqlOrderStatus, ord.id, orderStatusNames[delivered])
	for _, it := range ord.items {
		p.release(o, ord, it.v, sold)
	}
	return o
}

// cancelOrder cancels an open order: pending payments are rejected,
// approved ones refunded, reserved vehicles become available again.
func (p *planner) cancelOrder() *op {
	byStatus := &p.m.orders
	from := []orderStatus{pending, confirmed, paid}
	ord := p.pickOrder(from[pickWeighted(p.r, []int{50 * byStatus[pending].len(), 40 * byStatus[confirmed].len(), 20 * byStatus[paid].len()})], nil)
	o := &op{}
	o.touch(tOrders, ord.id)
	p.m.setStatus(ord, cancelled)
	o.exec(tOrders, cUpdate, sqlOrderStatus, ord.id, orderStatusNames[cancelled])
	for _, pay := range ord.payments {
		switch pay.status {
		case payPending:
			p.m.setPayStatus(pay, payRejected)
			o.exec(tPayments, cUpdate, sqlPaymentStatus, pay.id, payStatusNames[payRejected])
		case payApproved:
			p.m.setPayStatus(pay, payRefunded)
			o.exec(tPayments, cUpdate, sqlPaymentStatus, pay.id, payStatusNames[payRefunded])
		}
	}
	for _, it := range ord.items {
		p.release(o, ord, it.v, available)
	}
	return o
}

// deleteOrder deletes an order (mostly cancelled or delivered ones being
// archived, sometimes an abandoned pending one); PostgreSQL cascades the
// delete to its items and payments. The transaction locks the order first,
// so no item or payment can be added concurrently, then counts the children
// the cascade will delete, then deletes.
func (p *planner) deleteOrder() *op {
	byStatus := &p.m.orders
	from := []orderStatus{cancelled, delivered, pending}
	ord := p.pickOrder(from[pickWeighted(p.r, []int{100 * byStatus[cancelled].len(), 100 * byStatus[delivered].len(), 20 * byStatus[pending].len()})], nil)
	o := &op{}
	p.dropOrder(o, ord)
	return o
}

// dropOrder deletes ord with its items and payments (deleteOrder's
// transaction). It touches the customer and the vehicles that lose a
// reference, so that deleting them later (reinsert_customer,
// reinsert_vehicle) waits for this delete.
func (p *planner) dropOrder(o *op, ord *order) {
	o.touch(tOrders, ord.id)
	o.touch(tCustomers, ord.cust.id)
	o.stmts = append(o.stmts,
		stmt{kind: lockRow, table: tOrders, sql: sqlLockOrder, args: []any{ord.id}},
		stmt{kind: countChildren, sql: sqlCountChildren, args: []any{ord.id}})
	o.want[tOrderItems][cDelete] += int64(len(ord.items))
	o.want[tPayments][cDelete] += int64(len(ord.payments))
	o.exec(tOrders, cDelete, sqlDeleteOrder, ord.id)
	ord.cust.orders--
	for _, it := range ord.items {
		p.unref(o, it.v)
		p.release(o, ord, it.v, available)
	}
	p.m.removeOrder(ord)
}

// pickVehicle picks any vehicle, or one with a large features document
// with probability largePct% (when there is one).
func (p *planner) pickVehicle(largePct int) *vehicle {
	if p.m.large.len() > 0 && p.r.IntN(100) < largePct {
		return p.m.large.pick(p.r)
	}
	return p.m.vehicles[p.r.IntN(len(p.m.vehicles))]
}

// changePrice moves a list price by -8%..+5%. A quarter of them hit
// vehicles with TOASTed features, which the update leaves unchanged.
func (p *planner) changePrice() *op {
	v := p.pickVehicle(25)
	pct := int64(92 + p.r.IntN(14))
	v.price = min(max(v.price*pct/100/1000*1000, 50000), maxMoney)
	o := &op{}
	o.touch(tVehicles, v.id)
	o.exec(tVehicles, cUpdate, sqlVehiclePrice, v.id, money(v.price))
	return o
}

// changeStock changes the stock status of a vehicle no order holds: held
// for a test drive, sold elsewhere, returned to stock.
func (p *planner) changeStock() *op {
	var v *vehicle
	for range 4 {
		if c := p.m.vehicles[p.r.IntN(len(p.m.vehicles))]; c.reservedBy == nil {
			v = c
			break
		}
	}
	if v == nil {
		return nil
	}
	next := available
	if v.stock == available {
		next = reserved
		if p.r.IntN(10) < 4 {
			next = sold
		}
	}
	p.m.setStock(v, next)
	o := &op{}
	o.touch(tVehicles, v.id)
	o.exec(tVehicles, cUpdate, sqlVehicleStock, v.id, stockNames[next])
	return o
}

// changeFeatures edits a vehicle's features: one key set in place
// (jsonb_set) or the whole document replaced by one of the same size
// class. Four in ten hit vehicles with TOASTed features.
func (p *planner) changeFeatures() *op {
	v := p.pickVehicle(40)
	o := &op{}
	o.touch(tVehicles, v.id)
	if v.features && p.r.IntN(2) == 0 {
		if p.r.IntN(2) == 0 {
			o.exec(tVehicles, cUpdate, sqlFeatureKey, v.id, []string{"warranty_months"}, fmt.Appendf(nil, "%d", pick(p.r, []int{12, 24, 36, 48, 60})))
		} else {
			o.exec(tVehicles, cUpdate, sqlFeatureKey, v.id, []string{"trim"}, mustJSON(pick(p.r, trims)))
		}
		return o
	}
	row := vehicleRow{fuel: "petrol", modelYear: p.now.Year() - p.r.IntN(8), condition: v.cond}
	if p.r.IntN(4) == 0 {
		row.fuel = "electric"
	}
	// A document keeps its size class (a NULL one becomes small): large
	// documents are targeted on purpose, so converting them would drain
	// the large ones over a long run.
	doc := features(p.r, row, v.large)
	v.features = true
	o.exec(tVehicles, cUpdate, sqlFeatures, v.id, doc)
	return o
}

// moveCustomer moves a customer to another city, usually in the same
// country, sometimes abroad (later orders then use the new currency).
func (p *planner) moveCustomer() *op {
	c := p.m.customers[p.r.IntN(len(p.m.customers))]
	if p.r.IntN(10) == 0 {
		c.country = pickWeighted(p.r, countryWeights)
		c.city = p.r.IntN(len(countries[c.country].cities))
	} else if n := len(countries[c.country].cities); n > 1 {
		c.city = (c.city + 1 + p.r.IntN(n-1)) % n
	}
	cc := &countries[c.country]
	var region *string
	if p.r.IntN(100) >= 3 {
		region = &cc.cities[c.city].region
	}
	o := &op{}
	o.touch(tCustomers, c.id)
	o.exec(tCustomers, cUpdate, sqlMoveCustomer, c.id, cc.cities[c.city].name, region, cc.code)
	return o
}

// updateCustomer changes a customer's phone (new, or removed) or segment.
func (p *planner) updateCustomer() *op {
	c := p.m.customers[p.r.IntN(len(p.m.customers))]
	o := &op{}
	o.touch(tCustomers, c.id)
	if p.r.IntN(10) < 7 {
		var phone *string
		if !c.hasPhone || p.r.IntN(4) != 0 {
			s := countries[c.country].phone(p.r)
			phone = &s
		}
		c.hasPhone = phone != nil
		o.exec(tCustomers, cUpdate, sqlCustomerPhone, c.id, phone)
		return o
	}
	c.segment = segment((int(c.segment) + 1 + p.r.IntN(2)) % 3)
	o.exec(tCustomers, cUpdate, sqlCustomerSeg, c.id, segmentNames[c.segment])
	return o
}

func (p *planner) newCustomer(ctx context.Context) (*op, error) {
	id, err := p.ids.nextID(ctx, tCustomers)
	if err != nil {
		return nil, err
	}
	row := newCustomer(p.r, id, p.now)
	c := customerFromRow(&row)
	p.m.customers = append(p.m.customers, c)
	o := &op{}
	o.touch(tCustomers, id)
	o.exec(tCustomers, cInsert, sqlInsertCustomer, customerArgs(&row)[:10]...)
	return o, nil
}

// newVehicle adds a vehicle arriving in stock.
func (p *planner) newVehicle(ctx context.Context) (*op, error) {
	id, err := p.ids.nextID(ctx, tVehicles)
	if err != nil {
		return nil, err
	}
	row := newVehicle(p.r, id, p.now)
	row.stock = available
	v := vehicleFromRow(&row)
	p.m.addVehicle(v)
	o := &op{}
	o.touch(tVehicles, id)
	o.exec(tVehicles, cInsert, sqlInsertVehicle, vehicleArgs(&row)[:15]...)
	return o, nil
}

func customerFromRow(r *customerRow) *customer {
	return &customer{id: r.id, country: r.country, city: r.city, segment: r.segment, hasPhone: r.phone != nil}
}

func vehicleFromRow(r *vehicleRow) *vehicle {
	return &vehicle{id: r.id, price: r.listPrice, cond: r.condition, stock: r.stock, large: r.large, features: r.features != nil}
}

// customerColumns and customerArgs list a customers row in insert order.
var customerColumns = []string{"id", "email", "first_name", "last_name", "phone", "city", "region", "country", "segment", "birth_date", "created_at", "updated_at"}

func customerArgs(r *customerRow) []any {
	c := &countries[r.country]
	var bd any
	if r.birthDate != nil {
		bd = *r.birthDate
	}
	return []any{r.id, r.email, r.firstName, r.lastName, r.phone, c.cities[r.city].name, r.region, c.code,
		segmentNames[r.segment], bd, r.createdAt, r.updatedAt}
}

var vehicleColumns = []string{"id", "vin", "make", "model", "model_year", "body_type", "fuel_type", "transmission", "color", "mileage_km", "condition", "list_price", "cost_price", "stock_status", "features", "created_at", "updated_at"}

func vehicleArgs(r *vehicleRow) []any {
	spec := &models[r.spec]
	var feat any
	if r.features != nil {
		feat = r.features
	}
	return []any{r.id, r.vin, spec.make, spec.model, int16(r.modelYear), r.body, r.fuel, r.transmission, r.color,
		int32(r.mileageKm), conditionNames[r.condition], money(r.listPrice), moneyPtr(r.costPrice),
		stockNames[r.stock], feat, r.createdAt, r.updatedAt}
}
