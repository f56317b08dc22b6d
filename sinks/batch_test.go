package sinks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testRow struct {
	key  int64
	val  string
	size int
}

func rowSize(r *testRow) int { return r.size }

// fakeClock is a manual clock for Batcher.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestBatcher(cfg BatchConfig) (*Batcher[testRow], *fakeClock) {
	clk := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := NewBatcher(cfg, rowSize)
	b.now = clk.now
	return b, clk
}

func TestBatcherCoalesces(t *testing.T) {
	b, _ := newTestBatcher(BatchConfig{})
	adds := []struct {
		row testRow
		tok Token
	}{
		{testRow{1, "a1", 10}, Token{Source: 0, Seq: 5}},
		{testRow{2, "b1", 20}, Token{Source: 1, Seq: 100}},
		{testRow{1, "a2", 15}, Token{Source: 0, Seq: 6}},
		{testRow{3, "c1", 1}, Token{Source: 0, Seq: 7}},
		{testRow{2, "b2", 5}, Token{Source: 0, Seq: 8}}, // same key from another source
		{testRow{1, "a3", 12}, Token{Source: 1, Seq: 101}},
	}
	for _, a := range adds {
		b.Add(a.row.key, a.row, a.tok)
	}
	assert.Equal(t, 3, b.Len())
	batch := b.Take()
	require.NotNil(t, batch)
	// Last row per key wins; keys keep the order of their first add.
	assert.Equal(t, []testRow{{1, "a3", 12}, {2, "b2", 5}, {3, "c1", 1}}, batch.Rows)
	assert.Equal(t, 6, batch.Added)
	assert.Equal(t, 12+5+1, batch.Bytes)
	// The highest token per source, replaced rows included.
	assert.Equal(t, []Token{{Source: 0, Seq: 8}, {Source: 1, Seq: 101}}, batch.Tokens)

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
		b.Add(int64(i), testRow{key: int64(i), val: "x"}, Token{Source: 1, Seq: int64(i)})
	}
	first := b.Take()
	rows := first.Rows[:1]
	b.Recycle(first)
	assert.Equal(t, testRow{}, rows[0], "recycled rows are cleared")

	// The next batch reuses the memory and starts empty.
	b.Add(7, testRow{key: 7, val: "y"}, Token{Source: 2, Seq: 1})
	second := b.Take()
	assert.Equal(t, []testRow{{key: 7, val: "y"}}, second.Rows)
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
