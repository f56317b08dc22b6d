package state

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// TestSplitOrdersLikeKeys checks the properties Pebble requires of a
// comparer's Split on keys of every kind, and on the shorter keys scans
// use as bounds: prefixes order keys as the keys do, and keys sharing a
// prefix are ordered by their suffixes.
func TestSplitOrdersLikeKeys(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	id := func() int64 { return int64(rng.IntN(5)) - 1 } // few ids, so prefixes repeat
	var keys [][]byte
	for range 400 {
		p := int32(rng.IntN(2))
		switch rng.IntN(12) {
		case 0:
			keys = append(keys, partKey(nil, p, kindOrder, id()))
		case 1:
			keys = append(keys, childKey(nil, p, id(), kindItem, id()))
		case 2:
			keys = append(keys, childKey(nil, p, id(), kindPayment, id()))
		case 3:
			keys = append(keys, partKey(nil, p, kindCustOrders, id(), id()))
		case 4:
			keys = append(keys, partKey(nil, p, kindVehItems, id(), id(), id()))
		case 5:
			keys = append(keys, partKey(nil, p, kindFactClock))
		case 6:
			keys = append(keys, offsetKey(nil, p, []string{"a", "ab", "b"}[rng.IntN(3)], int32(rng.IntN(2))))
		case 7:
			keys = append(keys, offsetKey(nil, -1, []string{"a", "ab"}[rng.IntN(2)], int32(rng.IntN(2))))
		case 8:
			keys = append(keys, globalKey(nil, []byte{kindCustomer, kindVehicle, kindFeatures}[rng.IntN(3)], id()))
		case 9:
			keys = append(keys, metaFormat)
		case 10: // the bounds of scans: within a group, a group, a kind, a partition
			kind := []byte{kindOrder, kindCustOrders, kindVehItems}[rng.IntN(3)]
			child := append(partKey(nil, p, kindOrder, id()), []byte{kindItem, kindPayment}[rng.IntN(2)])
			keys = append(keys, child, partKey(nil, p, kind, id()), partKey(nil, p, kind), partitionPrefix(nil, p))
		case 11:
			child := append(partKey(nil, p, kindOrder, id()), kindItem)
			keys = append(keys, prefixEnd(child), prefixEnd(partKey(nil, p, kindOrder, id())), prefixEnd(partitionPrefix(nil, p)))
		}
	}
	prefix := func(k []byte) []byte { return k[:comparer.Split(k)] }
	for _, a := range keys {
		pa := prefix(a)
		succ := comparer.ImmediateSuccessor(nil, pa)
		require.Equal(t, len(succ), comparer.Split(succ), "the successor of %x is a prefix", pa)
		require.Negative(t, comparer.Compare(pa, succ), "the successor of %x is after it", pa)
		for _, k := range keys {
			if comparer.Split(k) == len(k) && comparer.Compare(pa, k) < 0 {
				require.LessOrEqual(t, comparer.Compare(succ, k), 0, "prefix %x between %x and its successor", k, pa)
			}
		}
		require.Equal(t, len(pa), comparer.Split(pa), "a prefix is its own prefix: %x", a)
		if len(pa) < len(a) {
			require.Negative(t, comparer.Compare(pa, a), "prefix before its keys: %x", a)
		}
		for _, b := range keys {
			pb, cmp := prefix(b), comparer.Compare(a, b)
			if cmp <= 0 {
				require.LessOrEqual(t, comparer.Compare(pa, pb), 0, "%x ≤ %x", a, b)
			}
			switch c := comparer.Compare(pa, pb); {
			case c < 0:
				require.Negative(t, cmp, "%x < %x by prefix", a, b)
			case c == 0:
				require.Equal(t, comparer.ComparePointSuffixes(a[len(pa):], b[len(pb):]), cmp, "%x, %x by suffix", a, b)
			}
		}
	}
}

// TestGroupScansUseFilters spreads orders, their items and payments and
// both indexes over several tables, so that every table's key range
// covers every order, and checks that the prefix scans read them whole,
// through the Store and through a batch with writes of its own, and that
// a scan of a group in one table is answered by the other tables' bloom
// filters.
func TestGroupScansUseFilters(t *testing.T) {
	noCompactions := func(o *pebble.Options) { o.DisableAutomaticCompactions = true }
	s, err := Open("db", Options{FS: vfs.NewMem(), OrderCacheBytes: -1, DimensionCacheBytes: -1, tune: noCompactions})
	require.NoError(t, err)
	defer s.Close()
	p := s.Partition(0)

	const orders, tables = 40, 4
	want := map[int64][]int64{} // order → item ids, and the ids of its payments
	byCustomer := map[int64][]int64{}
	byVehicle := map[int64][]topology.ItemRef{}
	next := int64(1)
	// Round r writes the orders r, r+tables, …, one item and one payment
	// for each of them, and one more item of order 0, which thus has
	// items in every table. Each round is flushed into a table of its own.
	for r := range int64(tables) {
		b := p.NewBatch()
		put := func(order int64) {
			item := topology.OrderItem{ID: next, OrderID: order, VehicleID: order % 3, Quantity: 1}
			require.NoError(t, b.PutItem(topology.Stored[topology.OrderItem]{Row: item, LSN: uint64(next)}))
			payment := topology.Payment{ID: next, OrderID: order, Method: "cash", Status: "approved"}
			require.NoError(t, b.PutPayment(topology.Stored[topology.Payment]{Row: payment, LSN: uint64(next)}))
			want[order] = append(want[order], next)
			byVehicle[order%3] = append(byVehicle[order%3], topology.ItemRef{OrderID: order, ItemID: next})
			next++
		}
		for o := r; o < orders; o += tables {
			order := topology.Order{ID: o, CustomerID: o % 7, Status: "paid", Channel: "web", Currency: "EUR"}
			require.NoError(t, b.PutOrder(topology.Stored[topology.Order]{Row: order, LSN: uint64(o + 1)}))
			byCustomer[o%7] = append(byCustomer[o%7], o)
			put(o)
		}
		if r > 0 {
			put(0)
		}
		require.NoError(t, b.Commit())
		require.NoError(t, s.db.Flush())
	}

	payments := maps.Clone(want)
	check := func(name string, r topology.Rows, want map[int64][]int64) {
		t.Helper()
		for o := range int64(orders) {
			items, err := r.ItemsOfOrder(o, nil)
			require.NoError(t, err)
			pays, err := r.PaymentsOfOrder(o, nil)
			require.NoError(t, err)
			var itemIDs, paymentIDs []int64
			for _, it := range items {
				itemIDs = append(itemIDs, it.Row.ID)
			}
			for _, pm := range pays {
				paymentIDs = append(paymentIDs, pm.Row.ID)
			}
			assert.Equal(t, want[o], itemIDs, "%s: items of order %d", name, o)
			assert.Equal(t, payments[o], paymentIDs, "%s: payments of order %d", name, o)
		}
		for c, want := range byCustomer {
			got, err := r.OrdersOfCustomer(c, nil)
			require.NoError(t, err)
			slices.Sort(want)
			assert.Equal(t, want, got, "%s: orders of customer %d", name, c)
		}
		for v, want := range byVehicle {
			got, err := r.ItemsOfVehicle(v, nil)
			require.NoError(t, err)
			slices.SortFunc(want, cmpRef)
			assert.Equal(t, want, got, "%s: items of vehicle %d", name, v)
		}
	}
	check("store", p, want)

	// A batch sees its own item next to the committed ones.
	b := p.NewBatch()
	defer b.Close()
	item := topology.OrderItem{ID: next, OrderID: 1, VehicleID: 2, Quantity: 1}
	require.NoError(t, b.PutItem(topology.Stored[topology.OrderItem]{Row: item, LSN: uint64(next)}))
	withNew := maps.Clone(want)
	withNew[1] = append(slices.Clone(want[1]), next)
	byVehicle[2] = append(byVehicle[2], topology.ItemRef{OrderID: 1, ItemID: next})
	check("batch", b, withNew)

	// Order 1's items sit in the second table only: the others' filters
	// answer for it.
	before := s.db.Metrics().Filter.Hits
	items, err := p.ItemsOfOrder(1, nil)
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.GreaterOrEqual(t, s.db.Metrics().Filter.Hits-before, int64(tables-1), "tables skipped by their filters")
}

func cmpRef(a, b topology.ItemRef) int {
	return cmp.Or(cmp.Compare(a.OrderID, b.OrderID), cmp.Compare(a.ItemID, b.ItemID))
}

// TestOpenRefusesOtherLayouts opens directories of an older layout: one
// written under another comparer, one whose layout version differs.
func TestOpenRefusesOtherLayouts(t *testing.T) {
	fs := vfs.NewMem()
	for name, cmp := range map[string]*pebble.Comparer{"old": pebble.DefaultComparer, "v3": comparer} {
		db, err := pebble.Open(name, &pebble.Options{FS: fs, Comparer: cmp})
		require.NoError(t, err)
		require.NoError(t, db.Set(metaFormat, []byte{3}, pebble.Sync))
		require.NoError(t, db.Close())
		_, err = Open(name, Options{FS: fs})
		require.ErrorIs(t, err, ErrIncompatible, name)
		require.ErrorContains(t, err, "remove the directory", name)
	}
}

// TestGroupScansMatchAModel runs random writes, deletions, flushes and
// indexed batches against Pebble with the store's comparer and filters,
// and compares every prefix scan (through the DB and through a batch)
// with a map.
func TestGroupScansMatchAModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	db, err := pebble.Open("db", withKeyLayout(&pebble.Options{FS: vfs.NewMem(), MemTableSize: 64 << 10, L0CompactionThreshold: 2}))
	require.NoError(t, err)
	defer db.Close()
	model := map[string]string{}
	randKey := func() []byte {
		o := int64(rng.IntN(30))
		switch rng.IntN(4) {
		case 0:
			return partKey(nil, 0, kindOrder, o)
		case 1:
			return childKey(nil, 0, o, kindItem, int64(rng.IntN(6)))
		case 2:
			return childKey(nil, 0, o, kindPayment, int64(rng.IntN(6)))
		default:
			return partKey(nil, 0, kindCustOrders, int64(rng.IntN(5)), o)
		}
	}
	check := func(r pebble.Reader, m map[string]string) {
		t.Helper()
		for range 20 {
			o := int64(rng.IntN(30))
			var prefix []byte
			switch rng.IntN(4) {
			case 0:
				prefix = partKey(nil, 0, kindOrder, o)
			case 1:
				prefix = append(partKey(nil, 0, kindOrder, o), kindItem)
			case 2:
				prefix = append(partKey(nil, 0, kindOrder, o), kindPayment)
			default:
				prefix = partKey(nil, 0, kindCustOrders, int64(rng.IntN(5)))
			}
			var want, got []string
			for k, v := range m {
				if bytes.HasPrefix([]byte(k), prefix) {
					want = append(want, k+"="+v)
				}
			}
			slices.Sort(want)
			err := (&view{r: r}).scan(prefix, func(k, v []byte) error {
				got = append(got, string(k)+"="+string(v))
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, want, got, "scan of %x", prefix)

			k := randKey()
			val, closer, err := r.Get(k)
			if v, ok := m[string(k)]; ok {
				require.NoError(t, err, "get %x", k)
				require.Equal(t, v, string(val), "get %x", k)
				require.NoError(t, closer.Close())
			} else {
				require.ErrorIs(t, err, pebble.ErrNotFound, "get %x", k)
			}
		}
	}
	for step := range 3000 {
		switch n := rng.IntN(100); {
		case n < 60:
			k, v := randKey(), fmt.Sprint(step)
			require.NoError(t, db.Set(k, []byte(v), pebble.NoSync))
			model[string(k)] = v
		case n < 75:
			k := randKey()
			require.NoError(t, db.Delete(k, pebble.NoSync))
			delete(model, string(k))
		case n < 78:
			require.NoError(t, db.Flush())
		case n < 80:
			lo := partKey(nil, 0, kindOrder, int64(rng.IntN(30)))
			hi := prefixEnd(partKey(nil, 0, kindOrder, int64(rng.IntN(30))))
			if bytes.Compare(lo, hi) < 0 {
				require.NoError(t, db.DeleteRange(lo, hi, pebble.NoSync))
				for k := range model {
					if bytes.Compare([]byte(k), lo) >= 0 && bytes.Compare([]byte(k), hi) < 0 {
						delete(model, k)
					}
				}
			}
		case n < 90:
			b := db.NewIndexedBatch()
			mb := maps.Clone(model)
			for range rng.IntN(20) {
				k, v := randKey(), fmt.Sprint("b", step)
				if rng.IntN(4) == 0 {
					require.NoError(t, b.Delete(k, nil))
					delete(mb, string(k))
				} else {
					require.NoError(t, b.Set(k, []byte(v), nil))
					mb[string(k)] = v
				}
				check(b, mb)
			}
			if rng.IntN(2) == 0 {
				require.NoError(t, b.Commit(pebble.NoSync))
				model = mb
			} else {
				require.NoError(t, b.Close())
			}
		default:
			check(db, model)
		}
	}
}

// TestGroupScansSeeRangeDeletions reads an order's rows after a range
// deletion, with the rows and the deletion in different tables: a prefix
// seek must not see deleted rows (Pebble bounds a deletion by the
// comparer's ImmediateSuccessor of the prefix while seeking it).
func TestGroupScansSeeRangeDeletions(t *testing.T) {
	for _, flushDel := range []bool{false, true} {
		db, err := pebble.Open("db", withKeyLayout(&pebble.Options{FS: vfs.NewMem(), DisableAutomaticCompactions: true}))
		require.NoError(t, err)
		item := childKey(nil, 0, 7, kindItem, 1)
		require.NoError(t, db.Set(partKey(nil, 0, kindOrder, 7), []byte("order"), nil))
		require.NoError(t, db.Set(item, []byte("item"), nil))
		require.NoError(t, db.Flush())
		require.NoError(t, db.DeleteRange(partitionPrefix(nil, 0), prefixEnd(partitionPrefix(nil, 0)), nil))
		if flushDel {
			require.NoError(t, db.Flush())
		}
		for _, prefix := range [][]byte{partKey(nil, 0, kindOrder, 7), append(partKey(nil, 0, kindOrder, 7), kindItem)} {
			err := (&view{r: db}).scan(prefix, func(k, _ []byte) error {
				return fmt.Errorf("deleted key %x read (deletion flushed: %v)", k, flushDel)
			})
			require.NoError(t, err)
		}
		_, _, err = db.Get(item)
		require.ErrorIs(t, err, pebble.ErrNotFound, "deletion flushed: %v", flushDel)
		require.NoError(t, db.Close())
	}
}
