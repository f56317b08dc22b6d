package sinks

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

type testRow struct {
	key     int64
	version uint64
	val     string
	size    int
}

func rowSize(r *testRow) int       { return r.size }
func rowVersion(r *testRow) uint64 { return r.version }

// fakeClock is a manual clock for Batcher.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestBatcher(cfg BatchConfig) (*Batcher[int64, testRow], *fakeClock) {
	clk := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := NewBatcher[int64](cfg, rowSize, rowVersion)
	b.now = clk.now
	return b, clk
}

func TestBatcherCoalesces(t *testing.T) {
	b, _ := newTestBatcher(BatchConfig{})
	adds := []struct {
		row testRow
		tok Token
	}{
		{testRow{1, 1, "a1", 10}, Token{Source: 0, Seq: 5}},
		{testRow{2, 1, "b1", 20}, Token{Source: 1, Seq: 100}},
		{testRow{1, 2, "a2", 15}, Token{Source: 0, Seq: 6}},
		{testRow{3, 1, "c1", 1}, Token{Source: 0, Seq: 7}},
		{testRow{2, 2, "b2", 5}, Token{Source: 0, Seq: 8}}, // same key from another source
		{testRow{1, 3, "a3", 12}, Token{Source: 1, Seq: 101}},
		{testRow{2, 1, "b0", 50}, Token{Source: 1, Seq: 102}}, // older than b2: discarded
	}
	for _, a := range adds {
		b.Add(a.row.key, a.row, a.tok)
	}
	assert.Equal(t, 3, b.Len())
	batch := b.Take()
	require.NotNil(t, batch)
	// The highest version per key stays; keys keep the order of their
	// first add.
	assert.Equal(t, []testRow{{1, 3, "a3", 12}, {2, 2, "b2", 5}, {3, 1, "c1", 1}}, batch.Rows)
	assert.Equal(t, 7, batch.Added)
	assert.Equal(t, 12+5+1, batch.Bytes)
	// The highest token per source, replaced and discarded rows included.
	assert.Equal(t, []Token{{Source: 0, Seq: 8}, {Source: 1, Seq: 102}}, batch.Tokens)

	assert.Equal(t, 0, b.Len())
	assert.Nil(t, b.Take())
	_, ok := b.Deadline()
	assert.False(t, ok)
}

func TestBatcherTokensKeepHighest(t *testing.T) {
	b, _ := newTestBatcher(BatchConfig{})
	// A source whose Seq goes down (against the contract) still reports
	// its highest.
	b.Add(1, testRow{key: 1}, Token{Source: 3, Seq: 9})
	b.Add(1, testRow{key: 1}, Token{Source: 3, Seq: 4})
	assert.Equal(t, []Token{{Source: 3, Seq: 9}}, b.Take().Tokens)
}

func TestBatcherFlushTriggers(t *testing.T) {
	tests := []struct {
		name string
		cfg  BatchConfig
		// adds rows with keys 1..n, size 10 each, advancing the clock by
		// step before each add.
		n        int
		step     time.Duration
		wantFull bool
		wantDue  bool
	}{
		{name: "below every bound", cfg: BatchConfig{MaxRows: 10, MaxBytes: 1000, MaxDelay: time.Second}, n: 3, step: time.Millisecond},
		{name: "rows", cfg: BatchConfig{MaxRows: 3, MaxBytes: 1000, MaxDelay: time.Second}, n: 3, wantFull: true, wantDue: true},
		{name: "bytes", cfg: BatchConfig{MaxRows: 100, MaxBytes: 25, MaxDelay: time.Second}, n: 3, wantFull: true, wantDue: true},
		{name: "delay", cfg: BatchConfig{MaxRows: 100, MaxBytes: 1000, MaxDelay: 100 * time.Millisecond}, n: 3, step: 50 * time.Millisecond, wantDue: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk := newTestBatcher(tt.cfg)
			var full bool
			for i := 1; i <= tt.n; i++ {
				clk.advance(tt.step)
				full = b.Add(int64(i), testRow{key: int64(i), size: 10}, Token{})
			}
			assert.Equal(t, tt.wantFull, full)
			assert.Equal(t, tt.wantFull, b.Full())
			assert.Equal(t, tt.wantDue, b.Due())
		})
	}
}

func TestBatcherDeadline(t *testing.T) {
	b, clk := newTestBatcher(BatchConfig{MaxDelay: 200 * time.Millisecond})
	start := clk.t
	b.Add(1, testRow{}, Token{})
	clk.advance(150 * time.Millisecond)
	b.Add(2, testRow{}, Token{}) // a later row does not move the deadline
	d, ok := b.Deadline()
	require.True(t, ok)
	assert.Equal(t, start.Add(200*time.Millisecond), d)
	assert.False(t, b.Due())
	clk.advance(50 * time.Millisecond)
	assert.True(t, b.Due())

	batch := b.Take()
	assert.Equal(t, start, batch.Opened)
	// The next batch's deadline counts from its own first row.
	clk.advance(time.Second)
	b.Add(3, testRow{}, Token{})
	d, _ = b.Deadline()
	assert.Equal(t, clk.t.Add(200*time.Millisecond), d)
}

func TestBatcherRecycle(t *testing.T) {
	b, _ := newTestBatcher(BatchConfig{})
	for i := range 100 {
		b.Add(int64(i), testRow{key: int64(i), version: 9, val: "x"}, Token{Source: 1, Seq: int64(i)})
	}
	first := b.Take()
	rows := first.Rows[:1]
	b.Recycle(first)
	assert.Equal(t, testRow{}, rows[0], "recycled rows are cleared")

	// The next batch reuses the memory and starts empty: an older row
	// than the last batch's of its key is kept.
	b.Add(7, testRow{key: 7, version: 1, val: "y"}, Token{Source: 2, Seq: 1})
	second := b.Take()
	assert.Equal(t, []testRow{{key: 7, version: 1, val: "y"}}, second.Rows)
	assert.Equal(t, []Token{{Source: 2, Seq: 1}}, second.Tokens)
	assert.Equal(t, 1, second.Added)
	assert.GreaterOrEqual(t, cap(second.Rows), 100)
	b.Recycle(nil)
}

// TestBatcherCatchUpDeadline: late rows may wait CatchUpDelay, but a
// fresh row makes the batch due MaxDelay after it at the latest.
func TestBatcherCatchUpDeadline(t *testing.T) {
	cfg := BatchConfig{MaxDelay: 200 * time.Millisecond, CatchUpDelay: time.Second}
	t.Run("late rows wait", func(t *testing.T) {
		b, clk := newTestBatcher(cfg)
		start := clk.t
		b.AddLate(1, testRow{}, Token{})
		clk.advance(300 * time.Millisecond)
		b.AddLate(2, testRow{}, Token{})
		d, ok := b.Deadline()
		require.True(t, ok)
		assert.Equal(t, start.Add(time.Second), d)
		assert.False(t, b.Due(), "past MaxDelay, before CatchUpDelay")
		clk.advance(700 * time.Millisecond)
		assert.True(t, b.Due())
	})
	t.Run("a fresh row cuts the wait", func(t *testing.T) {
		b, clk := newTestBatcher(cfg)
		b.AddLate(1, testRow{}, Token{})
		clk.advance(400 * time.Millisecond)
		fresh := clk.t
		b.Add(2, testRow{}, Token{})
		clk.advance(100 * time.Millisecond)
		b.AddLate(3, testRow{}, Token{}) // a later late row does not move it
		d, _ := b.Deadline()
		assert.Equal(t, fresh.Add(200*time.Millisecond), d)
		clk.advance(99 * time.Millisecond)
		assert.False(t, b.Due())
		clk.advance(time.Millisecond)
		assert.True(t, b.Due())
		batch := b.Take()
		assert.Equal(t, fresh, batch.FreshOpened)
		// The next batch starts without a fresh row.
		b.AddLate(4, testRow{}, Token{})
		d, _ = b.Deadline()
		assert.Equal(t, clk.t.Add(time.Second), d)
	})
	t.Run("fresh first", func(t *testing.T) {
		b, clk := newTestBatcher(cfg)
		b.Add(1, testRow{}, Token{})
		b.AddLate(2, testRow{}, Token{})
		d, _ := b.Deadline()
		assert.Equal(t, clk.t.Add(200*time.Millisecond), d)
	})
	t.Run("catch-up delay below MaxDelay", func(t *testing.T) {
		b, clk := newTestBatcher(BatchConfig{MaxDelay: 200 * time.Millisecond, CatchUpDelay: 50 * time.Millisecond})
		b.AddLate(1, testRow{}, Token{})
		d, _ := b.Deadline()
		assert.Equal(t, clk.t.Add(200*time.Millisecond), d, "late rows never wait less than fresh ones")
	})
}

func TestBatchConfigLate(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	cfg := BatchConfig{CatchUpDelay: 2 * time.Second}
	assert.False(t, cfg.Late(time.Time{}, now), "unknown age")
	assert.False(t, cfg.Late(now.Add(-2*time.Second), now))
	assert.True(t, cfg.Late(now.Add(-2*time.Second-time.Nanosecond), now))
	assert.False(t, cfg.Late(now.Add(time.Second), now), "a timestamp ahead of the clock")
	assert.True(t, BatchConfig{}.Late(now.Add(-1001*time.Millisecond), now), "default 1s")
	assert.False(t, BatchConfig{}.Late(now.Add(-time.Second), now))
}

// permutations returns every ordering of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := make([]int, 0, n)
			q = append(q, p[:i]...)
			q = append(q, n-1)
			out = append(out, append(q, p[i:]...))
		}
	}
	return out
}

func TestPermutations(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range permutations(4) {
		seen[fmt.Sprint(p)] = true
	}
	assert.Len(t, seen, 24)
}

// checkEveryOrder adds rows, all of one key, each from its own source,
// in every order, and checks that each batch keeps rows[want] alone while
// counting every row and token.
func checkEveryOrder[K comparable, R any](t *testing.T, newBatcher func() *Batcher[K, R], key func(*R) K, size func(*R) int, rows []R, want int) {
	t.Helper()
	for _, order := range permutations(len(rows)) {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			b := newBatcher()
			var wantTokens []Token
			for _, i := range order {
				tok := Token{Source: int32(i), Seq: int64(10 + i)}
				wantTokens = append(wantTokens, tok)
				b.Add(key(&rows[i]), rows[i], tok)
			}
			batch := b.Take()
			require.NotNil(t, batch)
			assert.Equal(t, []R{rows[want]}, batch.Rows)
			assert.Equal(t, len(rows), batch.Added)
			assert.Equal(t, size(&rows[want]), batch.Bytes)
			assert.Equal(t, wantTokens, batch.Tokens, "every row's token, the discarded ones' too")
		})
	}
}

func TestBatcherKeepsHighestVersionInEveryOrder(t *testing.T) {
	t.Run("facts", func(t *testing.T) {
		fact := func(version uint64, deleted bool, status string) topology.Fact {
			return topology.Fact{OrderItemID: 7, OrderID: 1, OrderDate: tsOf("2024-06-01T10:00:00Z"),
				OrderStatus: status, Version: version, Deleted: deleted}
		}
		rows := []topology.Fact{
			fact(100, false, "pending"),
			fact(300, true, "cancelled"),
			fact(400, false, "paid"), // the newest: live
			fact(200, true, "deleted-longer"),
		}
		newBatcher := func() *Batcher[FactKey, topology.Fact] {
			return NewBatcher[FactKey](BatchConfig{}, FactSize, FactVersion)
		}
		checkEveryOrder(t, newBatcher, FactKeyOf, FactSize, rows, 2)
	})
	t.Run("mirrors", func(t *testing.T) {
		item := func(version uint64, deleted bool, qty int32) topology.Mirror {
			return topology.Mirror{Row: topology.ItemRow(topology.OrderItem{ID: 7, OrderID: int64(qty), Quantity: qty}),
				Version: version, Deleted: deleted}
		}
		rows := []topology.Mirror{
			item(200, false, 1),
			item(100, true, 2),
			item(400, true, 3), // the newest: deleted
			item(300, false, 4),
		}
		newBatcher := func() *Batcher[int64, topology.Mirror] {
			return NewBatcher[int64](BatchConfig{}, MirrorSize, MirrorVersion)
		}
		checkEveryOrder(t, newBatcher, MirrorKeyOf, MirrorSize, rows, 2)
	})
}

func TestBatcherEqualVersionsLaterWins(t *testing.T) {
	b, _ := newTestBatcher(BatchConfig{})
	b.Add(1, testRow{key: 1, version: 5, val: "a", size: 1}, Token{})
	b.Add(1, testRow{key: 1, version: 5, val: "b", size: 2}, Token{})
	batch := b.Take()
	assert.Equal(t, []testRow{{key: 1, version: 5, val: "b", size: 2}}, batch.Rows)
	assert.Equal(t, 2, batch.Bytes)
}

// TestBatcherFactKeys: facts are coalesced only when they are the same
// row of sales_facts — same order_id, order_item_id and partition.
func TestBatcherFactKeys(t *testing.T) {
	base := topology.Fact{OrderItemID: 7, OrderID: 1, OrderDate: tsOf("2024-06-15T10:00:00Z"), Version: 200}
	tests := []struct {
		name     string
		edit     func(f *topology.Fact) // makes the second fact from base
		wantRows int
	}{
		{name: "same row", edit: func(f *topology.Fact) { f.Version = 100; f.Deleted = true }, wantRows: 1},
		{name: "same month, another day", edit: func(f *topology.Fact) {
			f.OrderDate = tsOf("2024-06-30T23:59:59.999999Z")
			f.Version = 100
		}, wantRows: 1},
		{name: "item moved to another order", edit: func(f *topology.Fact) {
			f.OrderID = 2 // live under order 2 while base is deleted under order 1
			f.Version = 100
		}, wantRows: 2},
		{name: "another item", edit: func(f *topology.Fact) { f.OrderItemID = 8; f.Version = 100 }, wantRows: 2},
		{name: "month before", edit: func(f *topology.Fact) {
			f.OrderDate = tsOf("2024-05-31T23:59:59.999999Z")
			f.Version = 100
		}, wantRows: 2},
		{name: "month after", edit: func(f *topology.Fact) {
			f.OrderDate = tsOf("2024-07-01T00:00:00Z")
			f.Version = 100
		}, wantRows: 2},
		{name: "same month, another year", edit: func(f *topology.Fact) {
			f.OrderDate = tsOf("2025-06-15T10:00:00Z")
			f.Version = 100
		}, wantRows: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			a.Deleted = true
			b := base
			tt.edit(&b)
			for _, order := range [][]topology.Fact{{a, b}, {b, a}} {
				bat := NewBatcher[FactKey](BatchConfig{}, FactSize, FactVersion)
				for i := range order {
					bat.Add(FactKeyOf(&order[i]), order[i], Token{Source: int32(i), Seq: 1})
				}
				batch := bat.Take()
				require.NotNil(t, batch)
				assert.Equal(t, 2, batch.Added)
				if tt.wantRows == 1 {
					assert.Equal(t, []topology.Fact{a}, batch.Rows, "the higher version")
				} else {
					assert.Equal(t, order, batch.Rows)
				}
			}
		})
	}
}

func TestFactKeyOf(t *testing.T) {
	tests := []struct {
		name string
		in   topology.Timestamp
		want uint32
	}{
		{"mid-month", tsOf("2024-03-05T10:11:12.999999Z"), 202403},
		{"first instant", tsOf("2024-06-01T00:00:00Z"), 202406},
		{"last microsecond, rounded down", tsOf("2024-05-31T23:59:59.999999Z"), 202405},
		{"December", tsOf("2023-12-31T23:59:59Z"), 202312},
		{"epoch", 0, 197001},
		{"before 1970, clamped to 0", tsOf("1969-12-31T23:59:59Z"), 197001},
		{"negative, clamped to 0", topology.Timestamp(-1), 197001},
		{"DateTime's last second", tsOf("2106-02-07T06:28:15Z"), 210602},
		{"past DateTime, clamped", topology.Timestamp(1 << 62), 210602},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := topology.Fact{OrderID: 3, OrderItemID: 4, OrderDate: tt.in}
			assert.Equal(t, FactKey{OrderID: 3, OrderItemID: 4, Month: tt.want}, FactKeyOf(&f))
		})
	}
}

// TestBatcherNewestPerBatch: each batch keeps its own newest row of a
// key, whatever the batches before it held (the table keeps the highest
// version across them).
func TestBatcherNewestPerBatch(t *testing.T) {
	b, _ := newTestBatcher(BatchConfig{})
	row := func(version uint64) testRow { return testRow{key: 1, version: version, size: int(version)} }

	b.Add(1, row(20), Token{Source: 0, Seq: 1})
	b.Add(1, row(10), Token{Source: 1, Seq: 1})
	first := b.Take()
	assert.Equal(t, []testRow{row(20)}, first.Rows)
	b.Recycle(first)

	b.Add(1, row(5), Token{Source: 1, Seq: 2}) // older than the first batch's: kept
	b.Add(1, row(15), Token{Source: 0, Seq: 2})
	b.Add(1, row(12), Token{Source: 0, Seq: 3})
	second := b.Take()
	assert.Equal(t, []testRow{row(15)}, second.Rows)
	assert.Equal(t, 15, second.Bytes)
	assert.Equal(t, 3, second.Added)
	assert.Equal(t, []Token{{Source: 1, Seq: 2}, {Source: 0, Seq: 3}}, second.Tokens)

	b.Add(1, row(1), Token{Source: 2, Seq: 1})
	assert.Equal(t, []testRow{row(1)}, b.Take().Rows)
}
