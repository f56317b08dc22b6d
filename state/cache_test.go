package state

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

func TestDimCacheBoundedGenerations(t *testing.T) {
	c := newDimCache(2 * (16 << 10)) // generations of 16 KiB: 4 KiB chunks
	require.Equal(t, 4<<10, c.cur.customers.a.chunkSize)
	key := func(i int) cacheKey { return cacheKey{kindCustomer, int64(i)} }
	// Each value takes a chunk of its own: the fourth fills a generation.
	val := func(i int) string { return strings.Repeat(string(rune('a'+i)), 3<<10) }
	add := func(i int) {
		_, res, epoch := c.get(key(i))
		require.Equal(t, cacheMiss, res)
		c.add(key(i), val(i), epoch)
	}
	// held lists the cached keys without moving them.
	held := func() (cur, old []int) {
		for i := range 10 {
			if _, ok := c.cur.get(key(i)); ok {
				cur = append(cur, i)
			}
			if _, ok := c.old.get(key(i)); ok {
				old = append(old, i)
			}
		}
		return cur, old
	}
	for i := range 6 {
		add(i)
	}
	cur, old := held()
	assert.Equal(t, []int{4, 5}, cur)
	assert.Equal(t, []int{0, 1, 2, 3}, old)

	// A hit in the old generation moves the entry to the current one.
	v, res, _ := c.get(key(0))
	require.Equal(t, cacheHit, res)
	assert.Equal(t, val(0), v)
	add(6) // the current generation is full: 1-3 are dropped
	cur, old = held()
	assert.Empty(t, cur)
	assert.Equal(t, []int{0, 4, 5, 6}, old)
	_, res, _ = c.get(key(1))
	assert.Equal(t, cacheMiss, res)

	_, _, bytes, n, complete := c.stats()
	assert.Equal(t, 4, n)
	assert.LessOrEqual(t, bytes, int64(2*(16<<10+4<<10)))
	assert.False(t, complete)
}

func TestTableCompacts(t *testing.T) {
	tb := newTable(64)
	for i := range int64(4) {
		require.True(t, tb.put(i, strings.Repeat("x", 30)))
	}
	kept, _ := tb.get(0)
	for range 10 {
		require.True(t, tb.put(1, strings.Repeat("y", 30))) // garbage
	}
	require.True(t, tb.a.garbage > 0)
	tb.maybeCompact()
	assert.Zero(t, tb.a.garbage)
	assert.Equal(t, int64(4*30), tb.live())
	for i, want := range []string{"x", "y", "x", "x"} {
		v, ok := tb.get(int64(i))
		require.True(t, ok)
		assert.Equal(t, strings.Repeat(want, 30), v)
	}
	assert.Equal(t, strings.Repeat("x", 30), kept, "a string handed out survives compaction")
	assert.False(t, tb.put(9, strings.Repeat("z", maxArenaValue+1)), "too large")
	_, ok := tb.get(9)
	assert.False(t, ok)
}

// TestTableDenseAndSparse checks a table against a map through puts and
// deletes of ids that are dense (in order and not), sparse (far beyond the
// count), negative and zero, across growth of the dense array and
// compaction.
func TestTableDenseAndSparse(t *testing.T) {
	tb := newTable(256)
	model := map[int64]string{}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func() {
		t.Helper()
		require.Equal(t, len(model), tb.len())
		for id, want := range model {
			v, ok := tb.get(id)
			require.True(t, ok, "id %d", id)
			require.Equal(t, want, v, "id %d", id)
		}
	}
	ids := func(i int) int64 {
		switch i % 5 {
		case 0:
			return int64(i) // in order
		case 1:
			return rng.Int64N(int64(8 * (i + 1))) // near the count
		case 2:
			return denseMin + rng.Int64N(1<<40) // far
		case 3:
			return -rng.Int64N(1 << 20) // negative or zero
		default:
			return int64(i / 2)
		}
	}
	maxN := 0
	for i := range 20000 {
		id := ids(i)
		if rng.IntN(4) == 0 {
			tb.delete(id)
			delete(model, id)
		} else {
			v := fmt.Sprintf("v%d-%d", id, i)
			require.True(t, tb.put(id, v))
			model[id] = v
		}
		maxN = max(maxN, tb.len())
		if i%5000 == 4999 {
			check()
			tb.maybeCompact()
			check()
		}
	}
	assert.NotEmpty(t, tb.dense, "ids near the count use the array")
	assert.NotEmpty(t, tb.sparse, "far and negative ids use the map")
	assert.LessOrEqual(t, len(tb.dense), max(denseMin, 4*maxN+1), "the array stays within a few slots per entry")
	for id := range model {
		tb.delete(id)
	}
	assert.Zero(t, tb.len())
	_, ok := tb.get(0)
	assert.False(t, ok)
}

func TestDimCacheEpochRejectsStaleFill(t *testing.T) {
	c := newDimCache(1 << 20)
	k := cacheKey{kindVehicle, 7}
	_, res, epoch := c.get(k) // a reader misses and goes to Pebble...
	require.Equal(t, cacheMiss, res)
	c.install(map[cacheKey]string{k: "new value"}) // ...a writer commits...
	c.add(k, "old value", epoch)                   // ...and the reader's old value is not cached.
	v, res, _ := c.get(k)
	require.Equal(t, cacheHit, res)
	assert.Equal(t, "new value", v)

	c.invalidate(map[cacheKey]string{k: ""})
	_, res, epoch = c.get(k)
	require.Equal(t, cacheMiss, res)
	c.add(k, "read again", epoch)
	v, res, _ = c.get(k)
	require.Equal(t, cacheHit, res)
	assert.Equal(t, "read again", v)
}

func TestDimCachePreloadComplete(t *testing.T) {
	tests := []struct {
		name      string
		customers int
		rowSize   int
		large     bool // a vehicle too large for an arena
		limit     int64
		complete  bool
	}{
		{"everything fits", 10, 3, false, 1 << 20, true},
		{"a row too large to cache", 10, 3, true, 1 << 20, false},
		{"bound too small", 200, 1 << 10, false, 64 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
			require.NoError(t, err)
			defer db.Close()
			for i := range tt.customers {
				require.NoError(t, db.Set(globalKey(nil, kindCustomer, int64(i)), []byte(strings.Repeat("r", tt.rowSize)), nil))
			}
			if tt.large {
				require.NoError(t, db.Set(globalKey(nil, kindVehicle, 2), make([]byte, maxArenaValue+1), nil))
			}
			require.NoError(t, db.Set(globalKey(nil, kindVehicle, 3), []byte("vehicle"), nil))

			c := newDimCache(tt.limit)
			require.NoError(t, c.preload(db))
			v, res, _ := c.get(cacheKey{kindCustomer, 0})
			require.Equal(t, cacheHit, res)
			assert.Equal(t, strings.Repeat("r", tt.rowSize), v)
			_, _, _, n, complete := c.stats()
			assert.Equal(t, tt.complete, complete)
			_, res, _ = c.get(cacheKey{kindCustomer, 999})
			if tt.complete {
				assert.Equal(t, cacheAbsent, res, "a complete cache knows what does not exist")
				assert.Equal(t, tt.customers+1, n)
			} else {
				assert.Equal(t, cacheMiss, res)
			}
			if tt.large {
				_, res, _ = c.get(cacheKey{kindVehicle, 2})
				assert.Equal(t, cacheMiss, res)
			}
			// A failed commit makes any cache incomplete.
			c.invalidate(map[cacheKey]string{{kindCustomer, 5}: ""})
			_, res, _ = c.get(cacheKey{kindCustomer, 999})
			assert.Equal(t, cacheMiss, res)
		})
	}
}

func TestDimCacheDisabled(t *testing.T) {
	c := newDimCache(-1)
	require.Nil(t, c)
	c.add(cacheKey{kindCustomer, 1}, "x", 0)
	_, res, _ := c.get(cacheKey{kindCustomer, 1})
	assert.Equal(t, cacheMiss, res)
	c.install(map[cacheKey]string{{kindCustomer, 1}: "x"})
	c.invalidate(map[cacheKey]string{{kindCustomer, 1}: "x"})
	require.NoError(t, c.preload(nil))
}

func TestOrderEntryRoundTrip(t *testing.T) {
	long := strings.Repeat("x", 300) // rows over 127 bytes get a two-byte length
	e := &orderEntry{orderLoaded: true, orderFound: true, itemsLoaded: true, paymentsLoaded: true}
	e.order.Row.ID, e.order.Row.Status, e.order.LSN = 1, long, 9
	for i := range 3 {
		var it topology.Stored[topology.OrderItem]
		it.Row.ID, it.Row.OrderID, it.Row.VehicleID, it.Deleted = int64(i), 1, int64(10+i), i == 1
		it.Row.UnitPrice = topology.Decimal{Unscaled: 1999, Scale: 2}
		e.items = append(e.items, it)
	}
	var p topology.Stored[topology.Payment]
	p.Row.ID, p.Row.OrderID, p.Row.Method, p.Row.Status = 7, 1, long, "approved"
	e.payments = append(e.payments, p)
	got, err := decodeEntry(string(appendEntry(nil, e)))
	require.NoError(t, err)
	assert.Equal(t, e, got)

	partial := &orderEntry{orderLoaded: true}
	got, err = decodeEntry(string(appendEntry(nil, partial)))
	require.NoError(t, err)
	assert.Equal(t, partial, got)

	_, err = decodeEntry(string(appendEntry(nil, e)[:40]))
	assert.ErrorIs(t, err, ErrCorrupt)
}
