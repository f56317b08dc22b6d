package workload

import (
	"context"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simRow is what simDB keeps of a row: its references, for orders the
// month of order_date, and the columns a reload reads (see modelBuilder).
type simRow struct {
	parent  int64 // orders: customer_id; order_items and payments: order_id
	vehicle int64 // order_items: vehicle_id
	month   int   // orders: monthIndex of order_date

	country, city, segment string // customers (country code, city name)
	phone                  bool   // customers: phone is not NULL
	cents                  int64  // vehicles: list_price; payments: amount
	cond                   string // vehicles: condition
	status                 string // vehicles: stock_status; orders, payments: status
	features, large        bool   // vehicles: features not NULL, stored in over 2000 bytes
	currency               string // orders
	qty, unit, discount    int64  // order_items (cents)
}

// simDB replays planned operations in plan order against the five tables'
// primary and foreign keys (with ON DELETE CASCADE from orders), as
// PostgreSQL would run them on one connection. It checks what only a
// database could otherwise tell:
//   - the rows each statement affects, against the operation's want tally
//     (what the executor compares with PostgreSQL's answers);
//   - every insert's id is free (no live row has it) and was issued by the
//     sequence; every update and delete finds its row; foreign keys hold;
//   - the executor keeps the same order as this replay: an operation that
//     writes a row shares a key with the last operation that wrote it (so
//     they commit in plan order), and an operation that adds or removes a
//     reference to a customer or vehicle touches it (so deleting that row
//     waits for it);
//   - order_date moves to another month (change_order_date and re-created
//     orders).
//
// It keeps the columns the model is loaded from, so load reloads the model
// as the executor does after a skipped operation.
type simDB struct {
	t        testing.TB
	ids      *fakeIDs
	runMonth int // order_date month of orders inserted with now()
	rows     [numTables]map[int64]simRow
	gone     [numTables]map[int64]simRow // the last deleted version of each row
	last     map[entity][]entity         // keys of the last operation that wrote each row
}

func newSimDB(t testing.TB, p *planner) *simDB {
	s := &simDB{t: t, ids: p.ids.(*fakeIDs), runMonth: monthIndex(p.now), last: make(map[entity][]entity)}
	for tb := range numTables {
		s.rows[tb] = make(map[int64]simRow)
		s.gone[tb] = make(map[int64]simRow)
	}
	for _, c := range p.m.customers {
		cc := &countries[c.country]
		s.rows[tCustomers][c.id] = simRow{country: cc.code, city: cc.cities[c.city].name, segment: segmentNames[c.segment], phone: c.hasPhone}
	}
	for _, v := range p.m.vehicles {
		s.rows[tVehicles][v.id] = simRow{cents: v.price, cond: conditionNames[v.cond], status: stockNames[v.stock], features: v.features, large: v.large}
	}
	require.Zero(t, p.m.liveOrders(), "the replay starts from a catalogue without orders")
	return s
}

// simEffects is what one operation did, for the test's statistics.
type simEffects struct {
	got        tally
	reinserted [numTables]int // inserts of ids that existed before
	reusedIDs  int            // item ids re-used by a re-created order
	movedAway  int            // re-inserted items and payments under another order than before
}

func (s *simDB) has(tb table, id int64) bool {
	_, ok := s.rows[tb][id]
	return ok
}

func (s *simDB) apply(o *op) simEffects {
	t := s.t
	t.Helper()
	var eff simEffects
	touches := func(e entity) bool { return slices.Contains(o.keys, e) }
	write := func(tb table, id int64) {
		e := entity{tb, id}
		if prev, ok := s.last[e]; ok {
			require.True(t, slices.ContainsFunc(prev, touches),
				"%s writes %s %d without a key in common with the last operation that wrote it (keys %v, theirs %v)", o, tb, id, o.keys, prev)
		}
		s.last[e] = o.keys
	}
	references := func(tb table, id int64) {
		require.True(t, s.has(tb, id), "%s references a missing %s row %d", o, tb, id)
		require.True(t, touches(entity{tb, id}), "%s references %s %d without touching it", o, tb, id)
	}
	dereferences := func(tb table, id int64) {
		require.True(t, touches(entity{tb, id}), "%s removes a reference to %s %d without touching it", o, tb, id)
	}
	del := func(tb table, id int64) {
		write(tb, id)
		s.gone[tb][id] = s.rows[tb][id]
		delete(s.rows[tb], id)
	}
	children := func(tb table, orderID int64) []int64 {
		var ids []int64
		for id, r := range s.rows[tb] {
			if r.parent == orderID {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}

	for _, st := range o.stmts {
		a := st.args
		arg := func(i int) int64 { return a[i].(int64) }
		affected := int64(1)
		switch st.sql {
		case sqlLockOrder:
			require.True(t, s.has(tOrders, arg(0)), "%s locks a missing order", o)
			continue
		case sqlCountChildren:
			eff.got[tOrderItems][cDelete] += int64(len(children(tOrderItems, arg(0))))
			eff.got[tPayments][cDelete] += int64(len(children(tPayments, arg(0))))
			continue

		case sqlInsertCustomer, sqlInsertVehicle, sqlInsertOrder, sqlInsertOrderAt, sqlInsertItem, sqlInsertPayment:
			id := arg(0)
			require.False(t, s.has(st.table, id), "%s inserts %s id %d, which a live row has", o, st.table, id)
			require.LessOrEqual(t, id, s.ids.last[st.table], "%s inserts %s id %d, which the sequence never issued", o, st.table, id)
			write(st.table, id)
			old, existed := s.gone[st.table][id]
			if existed {
				eff.reinserted[st.table]++
			}
			var r simRow
			switch st.sql {
			case sqlInsertCustomer:
				r.phone, r.city, r.country, r.segment = a[4].(*string) != nil, a[5].(string), a[7].(string), a[8].(string)
			case sqlInsertVehicle:
				r.cond, r.cents, r.status = a[10].(string), cents(a[11]), a[13].(string)
				if doc, ok := a[14].([]byte); ok {
					r.features, r.large = true, len(doc) > 2000
				}
			case sqlInsertOrder, sqlInsertOrderAt:
				r.parent, r.month = arg(1), s.runMonth
				r.currency, r.status = a[3].(string), orderStatusNames[pending]
				references(tCustomers, r.parent)
				if st.sql == sqlInsertOrderAt {
					r.month = monthIndex(a[4].(time.Time))
				}
				if existed {
					require.NotEqual(t, old.month, r.month, "%s re-creates order %d in the same month", o, id)
				}
			case sqlInsertItem, sqlInsertPayment:
				r.parent = arg(1)
				references(tOrders, r.parent)
				if st.sql == sqlInsertItem {
					r.vehicle, r.qty, r.unit, r.discount = arg(2), arg(3), cents(a[4]), cents(a[5])
					references(tVehicles, r.vehicle)
				} else {
					r.cents, r.status = cents(a[2]), payStatusNames[payPending]
				}
				if existed && o.kind == opRecreateOrder {
					require.Equal(t, old.parent, r.parent, "%s re-uses item %d of another order", o, id)
					eff.reusedIDs++
				}
				if existed && (o.kind == opMoveItem || o.kind == opMovePayment) {
					require.NotEqual(t, old.parent, r.parent, "%s moves %s %d to the order it was in", o, st.table, id)
					eff.movedAway++
				}
			}
			s.rows[st.table][id] = r

		case sqlMoveCustomer, sqlCustomerPhone, sqlCustomerSeg, sqlVehicleStock, sqlVehiclePrice, sqlFeatures, sqlFeatureKey,
			sqlOrderStatus, sqlOrderDate, sqlUpdateItem, sqlSwitchItem, sqlApprovePayment, sqlPaymentStatus:
			id := arg(0)
			r, ok := s.rows[st.table][id]
			require.True(t, ok, "%s updates a missing %s row %d", o, st.table, id)
			write(st.table, id)
			switch st.sql {
			case sqlMoveCustomer:
				r.city, r.country = a[1].(string), a[3].(string)
			case sqlCustomerPhone:
				r.phone = a[1].(*string) != nil
			case sqlCustomerSeg:
				r.segment = a[1].(string)
			case sqlVehicleStock, sqlOrderStatus, sqlPaymentStatus:
				r.status = a[1].(string)
			case sqlVehiclePrice:
				r.cents = cents(a[1])
			case sqlFeatures:
				r.features, r.large = true, len(a[1].([]byte)) > 2000
			case sqlApprovePayment:
				r.status = payStatusNames[payApproved]
			case sqlOrderDate:
				m := monthIndex(a[1].(time.Time))
				require.NotEqual(t, r.month, m, "%s keeps order %d in the same month", o, id)
				r.month = m
			case sqlUpdateItem:
				r.qty, r.unit, r.discount = arg(1), cents(a[2]), cents(a[3])
			case sqlSwitchItem:
				dereferences(tVehicles, r.vehicle)
				r.vehicle, r.qty, r.unit, r.discount = arg(1), arg(2), cents(a[3]), cents(a[4])
				references(tVehicles, r.vehicle)
			}
			s.rows[st.table][id] = r

		case sqlDeleteOrder, sqlDeleteItem, sqlDeletePayment, sqlDeleteCustomer, sqlDeleteVehicle:
			id := arg(0)
			r, ok := s.rows[st.table][id]
			require.True(t, ok, "%s deletes a missing %s row %d", o, st.table, id)
			switch st.sql {
			case sqlDeleteOrder:
				dereferences(tCustomers, r.parent)
				for _, it := range children(tOrderItems, id) {
					dereferences(tVehicles, s.rows[tOrderItems][it].vehicle)
					del(tOrderItems, it)
				}
				for _, p := range children(tPayments, id) {
					del(tPayments, p)
				}
			case sqlDeleteItem:
				dereferences(tVehicles, r.vehicle)
			case sqlDeleteCustomer:
				for oid, or := range s.rows[tOrders] {
					require.NotEqual(t, id, or.parent, "%s deletes customer %d, which order %d references", o, id, oid)
				}
			case sqlDeleteVehicle:
				for iid, ir := range s.rows[tOrderItems] {
					require.NotEqual(t, id, ir.vehicle, "%s deletes vehicle %d, which item %d references", o, id, iid)
				}
			}
			del(st.table, id)

		default:
			t.Fatalf("%s: the replay does not know statement %q", o, st.sql)
		}
		require.Equal(t, countRows, st.kind, st.sql)
		eff.got[st.table][st.chg] += affected
	}
	require.Equal(t, o.want, eff.got, "rows planned (want) and rows the statements change differ:\n%s", o)
	return eff
}

func cents(a any) int64 { return a.(pgtype.Numeric).Int.Int64() }

// load reads the tables into a model, as Generator.load reads the database
// (through the same modelBuilder), and forgets which operations wrote the
// rows: the executor reloads only once every operation finished.
func (s *simDB) load() *model {
	b := newModelBuilder()
	ids := func(tb table) []int64 { return slices.Sorted(maps.Keys(s.rows[tb])) }
	for _, id := range ids(tCustomers) {
		r := s.rows[tCustomers][id]
		b.customer(id, r.country, r.city, r.segment, r.phone)
	}
	for _, id := range ids(tVehicles) {
		r := s.rows[tVehicles][id]
		b.vehicle(id, r.cents, r.cond, r.status, r.features, r.large)
	}
	for _, id := range ids(tOrders) {
		r := s.rows[tOrders][id]
		b.order(id, r.parent, r.status, r.currency, r.month)
	}
	for _, id := range ids(tOrderItems) {
		r := s.rows[tOrderItems][id]
		b.item(id, r.parent, r.vehicle, r.qty, r.unit, r.discount)
	}
	for _, id := range ids(tPayments) {
		r := s.rows[tPayments][id]
		b.payment(id, r.parent, r.cents, r.status)
	}
	clear(s.last)
	return b.model()
}

// check verifies that the model describes the replayed tables: the live
// orders with their items and payments (and their money), the rows in
// transit absent, the reference counts that decide which customers and
// vehicles may be deleted.
func (s *simDB) check(m *model) {
	t := s.t
	t.Helper()
	var nItems, nPays int
	ordersOf := make(map[int64]int)
	itemsOf := make(map[int64]int)
	for st := range m.orders {
		for _, o := range m.orders[st].items {
			r, ok := s.rows[tOrders][o.id]
			require.True(t, ok, "live order %d is not in the table", o.id)
			require.Equal(t, o.cust.id, r.parent)
			if o.month != 0 {
				require.Equal(t, o.month, r.month, "order %d's month", o.id)
			} else {
				require.Equal(t, s.runMonth, r.month, "order %d's month", o.id)
			}
			require.Equal(t, orderStatusNames[o.status], r.status, "order %d's status", o.id)
			require.Equal(t, countries[o.country].currency, r.currency, "order %d's currency", o.id)
			for _, it := range o.items {
				require.Equal(t, simRow{parent: o.id, vehicle: it.v.id, qty: it.qty, unit: it.unitPrice, discount: it.discount},
					s.rows[tOrderItems][it.id], "item %d", it.id)
			}
			for _, p := range o.payments {
				require.Equal(t, simRow{parent: o.id, cents: p.amount, status: payStatusNames[p.status]}, s.rows[tPayments][p.id], "payment %d", p.id)
			}
			nItems += len(o.items)
			nPays += len(o.payments)
		}
	}
	require.Len(t, s.rows[tOrders], m.liveOrders())
	require.Len(t, s.rows[tOrderItems], nItems)
	require.Len(t, s.rows[tPayments], nPays)
	for _, mv := range m.movingItems {
		require.False(t, s.has(tOrderItems, mv.it.id))
		itemsOf[mv.it.v.id]++
	}
	for _, mv := range m.movingPayments {
		require.False(t, s.has(tPayments, mv.pay.id))
		require.Equal(t, payPending, mv.pay.status)
	}
	for _, d := range m.deletedOrders {
		require.False(t, s.has(tOrders, d.id))
	}
	for _, r := range s.rows[tOrders] {
		ordersOf[r.parent]++
	}
	for _, r := range s.rows[tOrderItems] {
		itemsOf[r.vehicle]++
	}
	require.Len(t, s.rows[tCustomers], len(m.customers))
	for _, c := range m.customers {
		require.True(t, s.has(tCustomers, c.id))
		require.Equal(t, ordersOf[c.id], c.orders, "orders referencing customer %d", c.id)
	}
	require.Len(t, s.rows[tVehicles], len(m.vehicles))
	for _, v := range m.vehicles {
		r, ok := s.rows[tVehicles][v.id]
		require.True(t, ok)
		require.Equal(t, itemsOf[v.id], v.items, "items referencing vehicle %d (in transit included)", v.id)
		require.Equal(t, v.price, r.cents, "vehicle %d's list price", v.id)
		require.Equal(t, stockNames[v.stock], r.status, "vehicle %d's stock", v.id)
	}
}

// TestPlanRewrites replays long plans and checks that the rewrites appear
// in every variant while the model, the tallies and the serialization keys
// stay right (see simDB).
func TestPlanRewrites(t *testing.T) {
	tests := []struct {
		name  string
		seed  uint64
		scale int
		ops   int
	}{
		{name: "small catalogue, crowded", seed: 3, scale: 40, ops: 20_000},
		{name: "scale 300", seed: 4, scale: 300, ops: 60_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPlanner(t, tt.seed, tt.scale)
			s := newSimDB(t, p)
			var kinds [numOpKinds]int
			var stats struct {
				itemTogether, itemDeleted, itemInserted int
				payTogether, payDeleted, payInserted    int
				ordersDeleted, ordersRecreated          int
				reusedIDs, movedAway                    int
			}
			for i := range tt.ops {
				o, err := p.next(context.Background(), math.MaxInt64)
				require.NoError(t, err)
				kinds[o.kind]++
				eff := s.apply(o)
				stats.reusedIDs += eff.reusedIDs
				stats.movedAway += eff.movedAway
				ins := func(tb table) bool { return eff.got[tb][cInsert] > 0 }
				dels := func(tb table) bool { return eff.got[tb][cDelete] > 0 }
				switch o.kind {
				case opMoveItem:
					switch {
					case ins(tOrderItems) && dels(tOrderItems):
						stats.itemTogether++
					case dels(tOrderItems):
						stats.itemDeleted++
					default:
						stats.itemInserted++
					}
				case opMovePayment:
					switch {
					case ins(tPayments) && dels(tPayments):
						stats.payTogether++
					case dels(tPayments):
						stats.payDeleted++
					default:
						stats.payInserted++
					}
				case opRecreateOrder:
					if dels(tOrders) {
						stats.ordersDeleted++
					} else {
						require.Equal(t, 1, eff.reinserted[tOrders], o.String())
						stats.ordersRecreated++
					}
				case opReinsertCustomer, opReinsertVehicle:
					tb := tCustomers
					if o.kind == opReinsertVehicle {
						tb = tVehicles
					}
					require.Equal(t, 1, eff.reinserted[tb], o.String())
				}
				if i%500 == 499 {
					checkModel(t, p.m)
					s.check(p.m)
				}
			}
			t.Logf("operations %v; rewrites %+v", kinds, stats)
			assert.Positive(t, stats.itemTogether, "items moved in one transaction")
			assert.Positive(t, stats.itemDeleted, "items deleted by the first half of a move")
			assert.Positive(t, stats.itemInserted, "items re-inserted by the second half of a move")
			assert.Positive(t, stats.payTogether, "payments moved in one transaction")
			assert.Positive(t, stats.payDeleted, "payments deleted by the first half of a move")
			assert.Positive(t, stats.payInserted, "payments re-inserted by the second half of a move")
			assert.Positive(t, stats.ordersDeleted, "orders deleted to be re-created")
			assert.Positive(t, stats.ordersRecreated, "orders re-created under their old id")
			assert.Positive(t, stats.reusedIDs, "re-created orders re-using their old items' ids")
			assert.Positive(t, kinds[opChangeOrderDate])
			assert.Positive(t, kinds[opReinsertCustomer])
			assert.Positive(t, kinds[opReinsertVehicle])
			var rewrites int
			for _, k := range []opKind{opMoveItem, opMovePayment, opRecreateOrder, opChangeOrderDate, opReinsertCustomer, opReinsertVehicle} {
				rewrites += kinds[k]
			}
			share := float64(rewrites) / float64(tt.ops)
			assert.True(t, share > 0.01 && share < 0.06, "rewrites are %.1f%% of the operations, want a few percent", 100*share)
		})
	}
}
