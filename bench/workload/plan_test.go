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
