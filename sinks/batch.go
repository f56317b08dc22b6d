package sinks

import (
	"time"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// BatchConfig bounds a batch: it is due when it reaches MaxRows rows or
// MaxBytes bytes, or MaxDelay after its first row, whichever comes first.
// Rows that are late already (see CatchUpDelay) may wait longer.
//
// The defaults aim at both throughput and freshness. 200 ms keeps rows
// visible within well under a second (plus the insert itself, tens of
// milliseconds), with at most five inserts per second per table and node
// — ClickHouse wants large, infrequent inserts: each makes a part to
// merge. A node catching up at 80,000 events/s fills only a fifth of
// MaxRows in 200 ms (about 8,500 rows per insert on average in the
// catch-up benchmark, bench/scripts/catchup.sh); its rows are late, so
// they wait up to CatchUpDelay (one second): a third as many inserts,
// and ClickHouse merged 6 million rows instead of 11 and spent half the
// CPU. MaxBytes bounds the memory of a batch whatever its rows' size
// (vehicles carry JSON features).
type BatchConfig struct {
	// MaxRows is the most rows in a batch, after coalescing; default
	// 50,000.
	MaxRows int `yaml:"max_rows"`
	// MaxBytes is the most (approximate, encoded) bytes in a batch;
	// default 16 MiB.
	MaxBytes int `yaml:"max_bytes"`
	// MaxDelay is how long the first row of a batch may wait; default
	// 200ms.
	MaxDelay time.Duration `yaml:"max_delay"`
	// CatchUpDelay is how long a row may wait whose source record was
	// already older than CatchUpDelay when it was read (Late): a node
	// catching up, whose rows are behind anyway, writes fewer and larger
	// batches, which leaves ClickHouse fewer parts to merge. A late row
	// never holds a fresh one: a batch is due MaxDelay after its first
	// fresh row at the latest. Default 1s; at or below MaxDelay every
	// row waits MaxDelay.
	CatchUpDelay time.Duration `yaml:"catch_up_delay"`
}

// Batch defaults.
const (
	DefaultBatchRows    = 50_000
	DefaultBatchBytes   = 16 << 20
	DefaultBatchDelay   = 200 * time.Millisecond
	DefaultCatchUpDelay = time.Second
)

func (c *BatchConfig) setDefaults() {
	if c.MaxRows == 0 {
		c.MaxRows = DefaultBatchRows
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultBatchBytes
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultBatchDelay
	}
	if c.CatchUpDelay == 0 {
		c.CatchUpDelay = DefaultCatchUpDelay
	}
}

// Late reports whether rows derived from a source record written at
// written (its Kafka timestamp), and read at now, are late: the record
// was older than CatchUpDelay (default when unset). A zero written is
// never late.
func (c BatchConfig) Late(written, now time.Time) bool {
	c.setDefaults()
	return !written.IsZero() && now.Sub(written) > c.CatchUpDelay
}

func (c BatchConfig) validate() error {
	switch {
	case c.MaxRows < 0:
		return invalid("Batch.MaxRows", "%d is negative", c.MaxRows)
	case c.MaxBytes < 0:
		return invalid("Batch.MaxBytes", "%d is negative", c.MaxBytes)
	case c.MaxDelay < 0:
		return invalid("Batch.MaxDelay", "%v is negative", c.MaxDelay)
	case c.CatchUpDelay < 0:
		return invalid("Batch.CatchUpDelay", "%v is negative", c.CatchUpDelay)
	}
	return nil
}

// Token says where a row came from, so that the caller learns which inputs
// are durable once the batch holding the row is written: Source is, for
// example, a Kafka partition, and Seq the offset of the record (or any
// number that grows with each input of that source).
type Token struct {
	Source int32
	Seq    int64
}

// Batch is a cut batch: its rows, one per key, and the acknowledgement
// it earns when written.
type Batch[R any] struct {
	// Rows holds, for each key, the row of the highest version added
	// (of equal versions, the one added last), in the order each key was
	// first added.
	Rows []R
	// Tokens holds, for each source that added rows, the highest Seq it
	// added — counting rows left out for a newer row of their key
	// (replaced, or discarded on arrival), so that once the batch is
	// written every input up to that Seq is durable (given the contract
	// of Batcher.Add): a row left out is older than the one written,
	// which ReplacingMergeTree would keep anyway.
	Tokens []Token
	// Added counts the rows added, before coalescing.
	Added int
	// Bytes is the approximate encoded size of Rows.
	Bytes int
	// Opened is when the first row was added.
	Opened time.Time
	// FreshOpened is when the first row added with Add (not AddLate)
	// was added; zero if none was.
	FreshOpened time.Time
}

// Batcher collects rows into batches and says when a batch is due. Rows
// are whole-row images with a version (_version): of the rows added to
// one batch under one key, it keeps the one of the highest version (of
// equal versions, the one added last), whatever order they arrive in —
// rows of one key may come from different sources, unordered — which is
// the row ReplacingMergeTree(_version) keeps of them. The key must be the
// row's whole identity in the output table, sorting key and partition
// (FactKeyOf, MirrorKeyOf): rows of different keys are different output
// rows, and all of them are written. Rows of one key in different
// batches are all written; the table keeps the highest version.
//
// It starts no goroutine and is not safe for concurrent use: one actor
// owns it and checks Due when rows arrive and when the timer it arms for
// Deadline fires.
type Batcher[K comparable, R any] struct {
	cfg     BatchConfig
	size    func(*R) int
	version func(*R) uint64
	now     func() time.Time
	cur     Batch[R]
	index   map[K]int // key → position in cur.Rows
	sizes   []int     // size of each row of cur.Rows
	spare   *Batch[R]
}

// NewBatcher returns a Batcher bounded by cfg (zero fields take the
// defaults; cfg must be valid, see Config.Validate) that measures rows
// with size (FactSize, MirrorSize) and reads their _version with version
// (FactVersion, MirrorVersion). K cannot be inferred from the arguments:
// NewBatcher[FactKey](cfg, FactSize, FactVersion).
func NewBatcher[K comparable, R any](cfg BatchConfig, size func(*R) int, version func(*R) uint64) *Batcher[K, R] {
	cfg.setDefaults()
	return &Batcher[K, R]{cfg: cfg, size: size, version: version, now: time.Now, index: make(map[K]int)}
}

// Add adds row under key with its token and reports whether the batch is
// now full (by rows or bytes). When the open batch holds a row of the
// same key already, the row of the higher version stays (row, on equal
// versions); either way the row counts in Batch.Added and its token in
// Batch.Tokens. Add never refuses a row: the caller decides what to do
// with a full batch (cut it with Take, or stop feeding while an insert is
// in flight). For the tokens to mean what Batch.Tokens says, each source
// must add its rows in Seq order and the batches of one Batcher must be
// written in the order they were cut.
func (b *Batcher[K, R]) Add(key K, row R, tok Token) (full bool) {
	return b.add(key, row, tok, false)
}

// AddLate is Add for a late row (BatchConfig.Late): the batch is due
// CatchUpDelay after its first row unless a fresh row makes it due
// sooner.
func (b *Batcher[K, R]) AddLate(key K, row R, tok Token) (full bool) {
	return b.add(key, row, tok, true)
}

func (b *Batcher[K, R]) add(key K, row R, tok Token, late bool) bool {
	if b.cur.Added == 0 {
		b.cur.Opened = b.now()
		if s := b.spare; s != nil && b.cur.Rows == nil {
			b.spare = nil
			b.cur.Rows, b.cur.Tokens = s.Rows[:0], s.Tokens[:0]
		}
	}
	if !late && b.cur.FreshOpened.IsZero() {
		b.cur.FreshOpened = b.now()
	}
	b.cur.Added++
	// The token counts whichever row stays: a row left out is older than
	// the one kept, so writing the batch makes its input durable too.
	b.noteToken(tok)
	i, ok := b.index[key]
	switch {
	case !ok:
		n := b.size(&row)
		b.index[key] = len(b.cur.Rows)
		b.cur.Rows = append(b.cur.Rows, row)
		b.sizes = append(b.sizes, n)
		b.cur.Bytes += n
	case b.version(&row) >= b.version(&b.cur.Rows[i]):
		n := b.size(&row)
		b.cur.Rows[i] = row
		b.cur.Bytes += n - b.sizes[i]
		b.sizes[i] = n
	}
	return b.Full()
}

func (b *Batcher[K, R]) noteToken(tok Token) {
	for i := range b.cur.Tokens {
		if t := &b.cur.Tokens[i]; t.Source == tok.Source {
			t.Seq = max(t.Seq, tok.Seq)
			return
		}
	}
	b.cur.Tokens = append(b.cur.Tokens, tok)
}

// Len returns the number of rows (keys) in the open batch.
func (b *Batcher[K, R]) Len() int { return len(b.cur.Rows) }

// Full reports whether the open batch has reached MaxRows or MaxBytes.
func (b *Batcher[K, R]) Full() bool {
	return len(b.cur.Rows) >= b.cfg.MaxRows || b.cur.Bytes >= b.cfg.MaxBytes
}

// Deadline returns when the open batch is due by age, and false when it
// is empty: MaxDelay after its first fresh row, and at most CatchUpDelay
// (or MaxDelay, whichever is longer) after its first row.
func (b *Batcher[K, R]) Deadline() (time.Time, bool) {
	if b.cur.Added == 0 {
		return time.Time{}, false
	}
	d := b.cur.Opened.Add(max(b.cfg.MaxDelay, b.cfg.CatchUpDelay))
	if f := b.cur.FreshOpened; !f.IsZero() && f.Add(b.cfg.MaxDelay).Before(d) {
		d = f.Add(b.cfg.MaxDelay)
	}
	return d, true
}

// Due reports whether the open batch should be written now: it is full,
// or not empty and past its Deadline.
func (b *Batcher[K, R]) Due() bool {
	d, ok := b.Deadline()
	return ok && (b.Full() || !b.now().Before(d))
}

// Take cuts the open batch and returns it, or nil when it is empty. The
// batch belongs to the caller, who may hand it back with Recycle once
// written so that its memory serves a later batch.
func (b *Batcher[K, R]) Take() *Batch[R] {
	if b.cur.Added == 0 {
		return nil
	}
	out := new(Batch[R])
	*out = b.cur
	b.cur = Batch[R]{}
	clear(b.index)
	b.sizes = b.sizes[:0]
	return out
}

// Recycle gives a written batch back for its memory. The caller must not
// use it afterwards.
func (b *Batcher[K, R]) Recycle(batch *Batch[R]) {
	if batch == nil {
		return
	}
	clear(batch.Rows) // drop references to the rows' strings
	batch.Rows = batch.Rows[:0]
	b.spare = batch
}

// FactKey identifies a row of sales_facts: its sorting key (order_id,
// order_item_id) and its partition, toYYYYMM(order_date). An order item
// that moves to another order is two rows (the one under the old order
// deleted), and so is a fact whose order_date moves to another month;
// each must reach the table.
type FactKey struct {
	OrderID     int64
	OrderItemID int64
	Month       uint32 // toYYYYMM(order_date): 202406 for June 2024
}

// FactKeyOf returns f's key. Its Month is that of the DateTime the writer
// stores for f.OrderDate (whole seconds, UTC, clamped to DateTime's
// range), so that it names the partition the row lands in.
func FactKeyOf(f *topology.Fact) FactKey {
	t := time.Unix(int64(seconds(f.OrderDate)), 0).UTC()
	return FactKey{
		OrderID:     f.OrderID,
		OrderItemID: f.OrderItemID,
		Month:       uint32(t.Year()*100 + int(t.Month())),
	}
}

// FactVersion returns f's _version.
func FactVersion(f *topology.Fact) uint64 { return f.Version }

// MirrorKeyOf returns m's key in its mirror table: the row's id (the
// tables are not partitioned).
func MirrorKeyOf(m *topology.Mirror) int64 { return m.Row.ID() }

// MirrorVersion returns m's _version.
func MirrorVersion(m *topology.Mirror) uint64 { return m.Version }
