package workload

import (
	"context"
	"math"
	"math/big"
	"regexp"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIDs hands out ids like a fresh database's sequences.
type fakeIDs struct{ last [numTables]int64 }

func (f *fakeIDs) nextID(_ context.Context, t table) (int64, error) {
	f.last[t]++
	return f.last[t], nil
}

// newTestPlanner builds a planner over a freshly seeded catalogue, as Run
// does against an empty database.
func newTestPlanner(t testing.TB, seed uint64, scale int) *planner {
	t.Helper()
	ids := &fakeIDs{}
	m := &model{}
	r := newRand(seed, 1)
	for range scale {
		id, err := ids.nextID(context.Background(), tCustomers)
		require.NoError(t, err)
		row := newCustomer(r, id, refTime)
		m.customers = append(m.customers, customerFromRow(&row))
	}
	for range vehicleTarget(scale) {
		id, err := ids.nextID(context.Background(), tVehicles)
		require.NoError(t, err)
		row := newVehicle(r, id, refTime)
		m.addVehicle(vehicleFromRow(&row))
	}
	return &planner{r: newRand(seed, 2), m: m, ids: ids, scale: scale, now: refTime}
}

func planN(t *testing.T, p *planner, n int) []*op {
	t.Helper()
	ops := make([]*op, 0, n)
	for range n {
		o, err := p.next(context.Background(), math.MaxInt64)
		require.NoError(t, err)
		ops = append(ops, o)
	}
	return ops
}

func render(ops []*op) []string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.String()
	}
	return s
}

func TestPlanDeterministic(t *testing.T) {
	tests := []struct {
		name       string
		seedA      uint64
		seedB      uint64
		wantEqual  bool
		scaleA     int
		scaleB     int
		operations int
	}{
		{name: "same seed same sequence", seedA: 7, seedB: 7, scaleA: 300, scaleB: 300, wantEqual: true, operations: 5000},
		{name: "other seed other sequence", seedA: 7, seedB: 8, scaleA: 300, scaleB: 300, operations: 200},
		{name: "seed 0 is a seed like any other", seedA: 0, seedB: 0, scaleA: 50, scaleB: 50, wantEqual: true, operations: 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := render(planN(t, newTestPlanner(t, tt.seedA, tt.scaleA), tt.operations))
			b := render(planN(t, newTestPlanner(t, tt.seedB, tt.scaleB), tt.operations))
			if tt.wantEqual {
				require.Equal(t, a, b)
			} else {
				assert.NotEqual(t, a[:20], b[:20])
			}
		})
	}
}

// updatesOrderID matches any statement that would move an item or payment
// to another order, which the schema's trigger rejects.
var updatesOrderID = regexp.MustCompile(`(?i)UPDATE\s+(order_items|payments)\s+SET[^;]*\border_id\s*=`)

func TestPlanMix(t *testing.T) {
	const scale = 200
	p := newTestPlanner(t, 11, scale)
	var kinds [numOpKinds]int
	var large struct{ price, features int }
	for i := range 30_000 {
		// Which vehicles are large must be read before the op changes it.
		o, err := p.next(context.Background(), math.MaxInt64)
		require.NoError(t, err)
		kinds[o.kind]++
		n := o.want.total()
		require.True(t, n >= 1 && n <= maxOpChanges, "%s plans %d changes", o.kind, n)
		if singleChange[o.kind] {
			require.Equal(t, int64(1), n, o.String())
		}
		for _, s := range o.stmts {
			require.False(t, updatesOrderID.MatchString(s.sql), s.sql)
		}
		if o.kind == opChangePrice || o.kind == opChangeFeatures {
			if v := vehicleByID(p.m, o.stmts[0].args[0].(int64)); v != nil && v.large {
				if o.kind == opChangePrice {
					large.price++
				} else {
					large.features++
				}
			}
		}
		if i%1000 == 999 {
			checkModel(t, p.m)
		}
	}
	for k, n := range kinds {
		assert.Positive(t, n, "operation %s never planned", opKind(k))
	}
	assert.Positive(t, large.price, "price changes that leave a TOASTed features document unchanged")
	assert.Positive(t, large.features, "features updates of TOASTed documents")
	live := p.m.liveOrders()
	assert.True(t, live > scale/2 && live < 2*scale, "live orders %d should settle near the scale %d", live, scale)
	assert.Less(t, len(p.m.vehicles), 10*vehicleTarget(scale), "vehicles should not grow without bound")
	share := float64(p.m.large.len()) / float64(len(p.m.vehicles))
	assert.True(t, share > 0.02 && share < 0.1, "share of vehicles with large features %.3f should stay near 5%%", share)
}

func vehicleByID(m *model, id int64) *vehicle {
	for _, v := range m.vehicles {
		if v.id == id {
			return v
		}
	}
	return nil
}

// checkModel verifies the model's invariants: sets agree with the rows.
func checkModel(t *testing.T, m *model) {
	t.Helper()
	live := map[*order]bool{}
	for s := range m.orders {
		for _, o := range m.orders[s].items {
			require.Equal(t, orderStatus(s), o.status)
			live[o] = true
			require.LessOrEqual(t, len(o.items), 3)
			require.LessOrEqual(t, len(o.payments), maxPayments)
			if o.status == pending {
				require.NotEmpty(t, o.items)
			}
			for _, it := range o.items {
				require.GreaterOrEqual(t, it.discount, int64(0))
				require.Less(t, it.discount, it.qty*it.unitPrice+1)
				if it.v.cond != condNew {
					require.Equal(t, int64(1), it.qty)
				}
			}
			for _, p := range o.payments {
				require.Same(t, o, p.o, "payment %d of order %d", p.id, o.id)
			}
			if o.status == paid || o.status == delivered {
				require.GreaterOrEqual(t, o.sum(payApproved, payRefunded), o.total())
			}
		}
	}
	for _, v := range m.vehicles {
		_, inSet := m.available.pos[v]
		require.Equal(t, v.stock == available, inSet, "vehicle %d in the available set", v.id)
		_, inLarge := m.large.pos[v]
		require.Equal(t, v.large, inLarge, "vehicle %d in the large set", v.id)
		if v.reservedBy == inTransit {
			require.True(t, slices.ContainsFunc(m.movingItems, func(mv movingItem) bool { return mv.it.v == v }),
				"vehicle %d reserved for an item in transit that is not", v.id)
			require.Equal(t, reserved, v.stock)
		} else if v.reservedBy != nil {
			require.True(t, live[v.reservedBy], "vehicle %d reserved by a deleted order", v.id)
			require.Equal(t, reserved, v.stock)
			require.True(t, v.reservedBy.hasVehicle(v))
		}
	}
	for _, p := range m.pendingPayments.items {
		require.Equal(t, payPending, p.status)
		require.True(t, live[p.o])
	}
}

// TestPlanExactChanges runs the dispatcher's budget logic: asked for N
// changes, the plan makes exactly N.
func TestPlanExactChanges(t *testing.T) {
	for _, want := range []int64{1, 2, 13, 500, 4321} {
		p := newTestPlanner(t, uint64(want), 100)
		var planned int64
		for planned < want {
			o, err := p.next(context.Background(), want-planned)
			require.NoError(t, err)
			planned += o.want.total()
		}
		assert.Equal(t, want, planned)
	}
}

func TestPlanNeedsCustomers(t *testing.T) {
	p := &planner{r: newRand(1, 2), m: &model{}, ids: &fakeIDs{}, scale: 10, now: refTime}
	// With no customers and no vehicles only inserts are possible.
	o, err := p.next(context.Background(), math.MaxInt64)
	require.NoError(t, err)
	assert.Contains(t, []opKind{opNewCustomer, opNewVehicle}, o.kind)
}

// BenchmarkPlan measures the planner alone: the generator's own CPU per
// transaction, without the database.
func BenchmarkPlan(b *testing.B) {
	p := newTestPlanner(b, 1, DefaultScale)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := p.next(context.Background(), math.MaxInt64); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReady(t *testing.T) {
	mk := func() *op { return &op{done: make(chan struct{})} }
	finished, inBatch, elsewhere := mk(), mk(), mk()
	close(finished.done)
	batch := []*op{inBatch}
	tests := []struct {
		name string
		deps []*op
		want bool
	}{
		{name: "no dependencies", want: true},
		{name: "finished dependency", deps: []*op{finished}, want: true},
		{name: "dependency earlier in the pipeline", deps: []*op{finished, inBatch}, want: true},
		{name: "dependency running elsewhere", deps: []*op{inBatch, elsewhere}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ready(&op{deps: tt.deps}, batch))
		})
	}
}

// TestPlanMoneyInRange plans over a catalogue with vehicles listed near the
// NUMERIC(12,2) bound, as other applications may write them: every money
// value, every line (quantity × unit price) and every order's total stays
// within it, including in dollars (1.08 per euro) and for fleet customers
// buying ten at a time.
func TestPlanMoneyInRange(t *testing.T) {
	p := newTestPlanner(t, 12, 200)
	huge := map[int64]bool{}
	for i, v := range p.m.vehicles[:6] {
		v.price = maxMoney - int64(i)*1_000_000 // about 9,999,999,999 EUR
		v.cond = condition(i % 3)
		p.m.setStock(v, available)
		huge[v.id] = true
	}
	bound := big.NewInt(maxMoney)
	var hugeLines int
	for i := range 40_000 {
		o, err := p.next(context.Background(), math.MaxInt64)
		require.NoError(t, err)
		for _, s := range o.stmts {
			for _, a := range s.args {
				if n, ok := a.(pgtype.Numeric); ok && n.Valid {
					require.Equal(t, int32(-2), n.Exp)
					require.True(t, n.Int.Sign() >= 0 && n.Int.Cmp(bound) <= 0, "%s: %s out of NUMERIC(12,2)", o, formatArg(n))
				}
			}
			switch s.sql {
			case sqlInsertItem, sqlUpdateItem, sqlSwitchItem:
				unit, qty := s.args[len(s.args)-2].(pgtype.Numeric).Int, s.args[len(s.args)-3].(int64)
				line := new(big.Int).Mul(unit, big.NewInt(qty))
				require.True(t, line.Cmp(bound) <= 0, "%s: line of %d × %s", o, qty, formatArg(s.args[len(s.args)-2]))
				if unit.Cmp(big.NewInt(maxMoney/100)) > 0 {
					hugeLines++
				}
			}
		}
		if i%100 == 99 {
			for st := range p.m.orders {
				for _, ord := range p.m.orders[st].items {
					require.LessOrEqual(t, ord.total(), int64(maxMoney), "order %d's total", ord.id)
				}
			}
		}
	}
	checkModel(t, p.m)
	assert.Greater(t, hugeLines, 20, "lines of the vehicles listed near the bound")
}

// TestPlanTotalsAcrossReloads runs plans the way the executor runs them,
// over rows that other applications wrote: vehicles listed near the
// NUMERIC(12,2) bound or at large shares of it, under an audit trigger like
// the integration test's guardedVehicle, which rejects (22003) every update
// or delete of a vehicle listed over maxMoney/1.21. A rejected operation is
// skipped, every later one that shares a key with a skipped one is left
// out, and a few operations later (those dispatched before the executor
// noticed) the model is reloaded from the tables. Half of the operations
// are one of those that add, change, switch or move lines or re-create
// orders, so that orders near the bound meet them often.
//
// After every committed operation each order's total in the tables (the
// sum of quantity × unit_price − discount over its items) stays within
// maxMoney; at each reload the model describes the tables.
func TestPlanTotalsAcrossReloads(t *testing.T) {
	tests := []struct {
		name  string
		seed  uint64
		scale int
		ops   int
	}{
		{name: "small catalogue", seed: 1, scale: 60, ops: 15_000},
		{name: "scale 100", seed: 2, scale: 100, ops: 15_000},
		{name: "scale 200", seed: 3, scale: 200, ops: 15_000},
	}
	// Shares of maxMoney. The first ones are over the trigger's threshold:
	// their lines leave room only where they have a discount, and their
	// prices never change. Price changes move the others across lines
	// already ordered at older prices.
	shares := []float64{0.99999995, 0.9999999, 0.999, 0.9, 0.6, 0.5, 0.45, 0.35}
	lineKinds := []opKind{opNewOrder, opAddItem, opChangeItem, opSwitchItemVehicle, opMoveItem, opRecreateOrder, opChangePrice}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPlanner(t, tt.seed, tt.scale)
			for i, share := range shares {
				v := p.m.vehicles[i]
				v.price = int64(share * maxMoney)
				v.cond = condNew // ordered by the dozen, never reserved
				if share < 0.8 {
					v.cond = condition(i % 3)
				}
				p.m.setStock(v, available)
			}
			s := newSimDB(t, p)
			r := newRand(tt.seed, 99) // the test's choices, apart from the planner's
			last := make(map[entity]*op)
			totals := make(map[int64]int64)
			reloadIn := -1 // operations until the reload; -1: none pending
			var stats struct{ committed, skipped, dependents, reloads int }
			for range tt.ops {
				var o *op
				if w := p.weights(false); r.IntN(2) == 0 {
					if k := lineKinds[r.IntN(len(lineKinds))]; w[k] > 0 {
						var err error
						o, err = p.plan(context.Background(), k)
						require.NoError(t, err)
					}
				}
				if o == nil {
					var err error
					o, err = p.next(context.Background(), math.MaxInt64)
					require.NoError(t, err)
				}
				for _, k := range o.keys {
					if prev, ok := last[k]; ok && prev.skipped {
						o.skipped = true
					}
				}
				switch {
				case o.skipped:
					stats.dependents++
				case s.rejects(o):
					o.skipped = true
					stats.skipped++
				default:
					s.apply(o)
					stats.committed++
					if o.want[tOrderItems][cInsert]+o.want[tOrderItems][cUpdate] > 0 {
						s.checkMoney(o, totals)
					}
				}
				for _, k := range o.keys {
					last[k] = o
				}
				if o.skipped && reloadIn < 0 {
					reloadIn = r.IntN(3 * maxPipeline)
				}
				switch {
				case reloadIn == 0:
					p.m = s.load()
					clear(last)
					if stats.reloads%8 == 0 {
						checkModel(t, p.m)
						s.check(p.m)
					}
					stats.reloads++
					reloadIn = -1
				case reloadIn > 0:
					reloadIn--
				}
			}
			t.Logf("%+v", stats)
			assert.Positive(t, stats.skipped, "operations rejected by the trigger")
			assert.Positive(t, stats.dependents, "operations left out after a rejected one")
			assert.Positive(t, stats.reloads)
		})
	}
}

// rejects reports whether PostgreSQL would reject o under the audit trigger
// of guardedVehicle: o updates or deletes a vehicle listed over
// maxMoney/1.21.
func (s *simDB) rejects(o *op) bool {
	for _, st := range o.stmts {
		if st.table == tVehicles && st.chg != cInsert {
			if v, ok := s.rows[tVehicles][st.args[0].(int64)]; ok && v.cents > maxMoney*100/121 {
				return true
			}
		}
	}
	return false
}

// checkMoney checks, after o, every line and every order's total in the
// tables against maxMoney; totals is scratch space.
func (s *simDB) checkMoney(o *op, totals map[int64]int64) {
	t := s.t
	t.Helper()
	clear(totals)
	for id, r := range s.rows[tOrderItems] {
		if r.qty*r.unit > maxMoney {
			t.Fatalf("item %d's line is %d × %d cents after %s", id, r.qty, r.unit, o)
		}
		totals[r.parent] += r.qty*r.unit - r.discount
	}
	for id, total := range totals {
		if total > maxMoney {
			t.Fatalf("order %d's total is %d cents after %s", id, total, o)
		}
	}
}

// TestChangeItemKeepsTotalInRange renegotiates lines of pending orders
// whose other lines took the room that a line's discount, or its price
// when it was ordered, left: a smaller discount or the current, higher list
// price would take the total past maxMoney, so those renegotiations are not
// made. An order over the bound (written by others) never grows.
func TestChangeItemKeepsTotalInRange(t *testing.T) {
	type line struct{ list, qty, unit, discount int64 }
	tests := []struct {
		name  string
		seg   segment
		lines []line
	}{
		{name: "discount gave the room", seg: retail, lines: []line{
			{list: 999_999_950_000, qty: 1, unit: 999_999_950_000, discount: 79_999_995_000},
			{list: 5_000_000, qty: 1, unit: 5_000_000},
		}},
		{name: "fleet discount gave the room", seg: fleet, lines: []line{
			{list: 999_999_950_000, qty: 1, unit: 999_999_950_000, discount: 119_999_990_000},
			{list: 4_000_000, qty: 10, unit: 4_000_000},
			{list: 60_000_000_000, qty: 1, unit: 60_000_000_000, discount: 4_000_000},
		}},
		{name: "ordered before a price rise", seg: business, lines: []line{
			{list: 600_000_000_000, qty: 1, unit: 550_000_000_000},
			{list: 449_000_000_000, qty: 1, unit: 449_000_000_000},
		}},
		{name: "over the bound already", seg: fleet, lines: []line{
			{list: 900_000_000_000, qty: 1, unit: 800_000_000_000, discount: 8_000_000_000},
			{list: 700_000_000_000, qty: 1, unit: 700_000_000_000},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var changed, refused int
			for seed := range uint64(300) {
				m := &model{}
				c := &customer{id: 1, segment: tt.seg} // Spain: euros
				m.customers = append(m.customers, c)
				ord := &order{id: 1, cust: c, status: pending}
				for i, l := range tt.lines {
					v := &vehicle{id: int64(i + 1), price: l.list, cond: condNew, stock: available, items: 1}
					m.addVehicle(v)
					ord.items = append(ord.items, &item{id: int64(i + 1), v: v, qty: l.qty, unitPrice: l.unit, discount: l.discount})
				}
				c.orders++
				m.addOrder(ord)
				before := ord.total()
				p := &planner{r: newRand(seed, 2), m: m, ids: &fakeIDs{}, scale: 10, now: refTime}
				o, err := p.plan(context.Background(), opChangeItem)
				require.NoError(t, err)
				if o == nil {
					refused++
					require.Equal(t, before, ord.total(), "a refused renegotiation changes nothing")
					continue
				}
				changed++
				after := ord.total()
				if after > maxMoney {
					require.LessOrEqual(t, after, before, "%s grew an order over the bound", o)
				}
				for _, it := range ord.items {
					require.LessOrEqual(t, it.qty*it.unitPrice, int64(maxMoney), "%s", o)
					require.GreaterOrEqual(t, it.discount, int64(0))
				}
			}
			assert.Positive(t, changed, "renegotiations that fit")
			assert.Positive(t, refused, "renegotiations that do not")
		})
	}
}
