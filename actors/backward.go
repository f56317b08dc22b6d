package actors

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
)

// A global table read from nothing (a new state directory) is bootstrapped
// newest first: its topic holds every version of every row, and the
// state keeps the last one. The reader fetches the records below the
// bootstrap's end offsets in rounds of about Config.BootstrapChunkBytes,
// from the end towards the start of each partition. It applies a record
// only when no later record of the same row (by the id in its key) made
// it irrelevant: a later record that is a complete row image. So the
// actor applies, per row, the last complete image and the records after
// it, oldest first, and the row ends as reading forward would leave it:
//
//   - The records of a row after its last complete image wait, decoded,
//     until that image turns up in an older round, and go to the actor
//     after it; a row with no complete image gets all its records at the
//     end, oldest first.
//   - An update whose unchanged TOAST columns are placeholders, a delete
//     (the state keeps the last full image of a deleted row) and an
//     incremental-snapshot read without an LSN (it keeps the stored
//     version) take something from the row's previous version, so they
//     do not make older records irrelevant.
//   - Rows are independent (a global row is its own state), and ApplyGlobal
//     ignores a record older than the stored one, so the rows' records
//     may be applied in any order across rows, and a record applied twice
//     after a crash changes nothing.
//   - A record superseded by a later complete image of its row is still
//     decoded, to send it to the dead-letter topic if it is bad, but it
//     is neither kept nor applied (the bootstrap relies on Debezium's
//     record key being the row's primary key).
//
// Applying only what the state keeps saves most of the bootstrap's
// writes (a vehicle of the catch-up benchmark has eleven records).
// Checking every record, to find the bad ones, is most of what remains:
// the reader's decoders remember each row's long values (a vehicle's
// features document, kilobytes of escaped JSON) and pass over an older
// record's copies of them, in its before and after images, by length and
// hash instead of decoding them again (debezium.Options.Memo).
//
// The rounds are fetched by one client per core, each with its share of
// the partitions (a client decompresses what it fetches on one
// goroutine), while another goroutine checks and picks the previous
// round's records.
//
// No offsets are stored before the bootstrap ends (the actor stores the
// end offsets then), so a crash starts it again; the rows the stage
// flushed meanwhile stay, and are either re-applied or newer than the
// records read again.

// backwardChunk is the default of Config.BootstrapChunkBytes.
const backwardChunk = 32 << 20

// backwardReader reads one global topic newest first (see above).
type backwardReader struct {
	cls    []*kgo.Client // partition p is read by cls[p % len(cls)]
	topic  string
	starts positions // the first offset of each partition
	hi     positions // the next round ends below these
	lo     positions // the current round starts here
	step   map[int32]int64
	chunk  int64
	decs   []*decoder
	// seen holds, per decoder, the rows (ids) whose complete image was
	// decoded: their older records are skipped. A row belongs to decoder
	// id mod len(decs).
	seen []map[int64]struct{}
	// pending holds, per decoder, the records of rows whose complete
	// image is still to be found, newest first.
	pending []map[int64][]keep
	skipped func(n int)
}

// newBackwardReader prepares the reading of topic below ends. The first
// round's offsets (firstOffsets) are where the client must start
// consuming.
func newBackwardReader(topic string, starts, ends positions, chunk int64, decs []*decoder, skipped func(int)) *backwardReader {
	b := &backwardReader{
		topic: topic, starts: starts, hi: ends.clone(), lo: positions{}, step: map[int32]int64{},
		chunk: chunk, decs: decs, skipped: skipped,
		seen: make([]map[int64]struct{}, len(decs)), pending: make([]map[int64][]keep, len(decs)),
	}
	for i := range b.seen {
		b.seen[i], b.pending[i] = map[int64]struct{}{}, map[int64][]keep{}
	}
	b.plan()
	return b
}

// plan sets lo for the partitions with records left below hi (none:
// the bootstrap is read).
func (b *backwardReader) plan() {
	clear(b.lo)
	var active int64
	for p, hi := range b.hi {
		if hi > b.starts[p] {
			active++
		}
	}
	for p, hi := range b.hi {
		start := b.starts[p]
		if hi <= start {
			continue
		}
		step, ok := b.step[p]
		if !ok {
			// A first guess of 16 KiB per record, corrected from the
			// first round's sizes.
			step = max(1, b.chunk/active/(16<<10))
		}
		b.lo[p] = max(start, hi-step)
	}
}

// firstOffsets returns where the reader's client starts consuming.
func (b *backwardReader) firstOffsets() map[int32]kgo.Offset { return offsetsOf(b.lo) }

// fetch returns the records in [lo, hi) of every active partition, in
// partition order, and moves hi down to lo. ok is false when ctx ended
// or the client closed. first: the client already consumes from lo.
func (b *backwardReader) fetch(ctx context.Context, first bool, onErr func(int32, error), consumed func(int)) (recs []*kgo.Record, ok bool) {
	parts := make([]int32, 0, len(b.lo))
	for p := range b.lo {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	// Each client fetches its partitions (and decompresses them) on a
	// goroutine of its own.
	got := make([]map[int32][]*kgo.Record, len(b.cls))
	bytes := make([]map[int32]int64, len(b.cls))
	oks := make([]bool, len(b.cls))
	var wg sync.WaitGroup
	for c, cl := range b.cls {
		var mine []int32
		for _, p := range parts {
			if b.client(p) == c {
				mine = append(mine, p)
			}
		}
		got[c], bytes[c] = map[int32][]*kgo.Record{}, map[int32]int64{}
		if len(mine) == 0 {
			oks[c] = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			oks[c] = b.fetchFrom(ctx, cl, mine, first, got[c], bytes[c], onErr)
		}()
	}
	wg.Wait()
	for _, ok := range oks {
		if !ok {
			return nil, false
		}
	}
	var n int
	for _, p := range parts {
		n += len(got[b.client(p)][p])
	}
	consumed(n)
	all := make([]*kgo.Record, 0, n)
	for _, p := range parts {
		c := b.client(p)
		all = append(all, got[c][p]...)
		span := b.hi[p] - b.lo[p]
		if share := b.chunk / int64(len(parts)); bytes[c][p] > 0 {
			b.step[p] = max(1, share*span/bytes[c][p])
		} else {
			b.step[p] = 2 * span
		}
		b.hi[p] = b.lo[p]
	}
	return all, true
}

// client returns the index of the client that reads partition p.
func (b *backwardReader) client(p int32) int { return int(p) % len(b.cls) }

// fetchFrom fetches with cl the records in [lo, hi) of parts into got,
// and their sizes into bytes; false when ctx ended or cl closed.
func (b *backwardReader) fetchFrom(ctx context.Context, cl *kgo.Client, parts []int32, first bool, got map[int32][]*kgo.Record, bytes map[int32]int64, onErr func(int32, error)) bool {
	if !first {
		set := map[int32]kgo.EpochOffset{}
		for _, p := range parts {
			set[p] = kgo.EpochOffset{Epoch: -1, Offset: b.lo[p]}
		}
		cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{b.topic: set})
		cl.ResumeFetchPartitions(map[string][]int32{b.topic: parts})
	}
	pending := map[int32]bool{}
	for _, p := range parts {
		pending[p] = true
	}
	for len(pending) > 0 {
		fs := cl.PollFetches(ctx)
		if fs.IsClientClosed() || ctx.Err() != nil {
			return false
		}
		fs.EachError(func(_ string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				onErr(p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			p := r.Partition
			if !pending[p] {
				return
			}
			if r.Offset >= b.lo[p] && r.Offset < b.hi[p] {
				got[p] = append(got[p], r)
				bytes[p] += int64(len(r.Key) + len(r.Value))
			}
			// Records come in order: the round has every record of p
			// below hi once it reaches hi-1 (or beyond, past a gap).
			if r.Offset >= b.hi[p]-1 {
				delete(pending, p)
				cl.PauseFetchPartitions(map[string][]int32{b.topic: {p}})
			}
		})
	}
	return true
}

// keep is a record to hand to the actor, with its decoded change.
type keep struct {
	r *kgo.Record
	d step.Decoded
}

// latest decodes, newest first, the records of recs (in partition order)
// that no later complete image of their row made irrelevant, and checks
// the others, one goroutine per decoder, each with its own rows. It
// returns the records to apply, each row's oldest first, and the bad
// ones. The records of a row newer than its last complete image wait,
// decoded, until that image is found in a later round (or in none: see
// rest), so that they are applied after it.
func (b *backwardReader) latest(recs []*kgo.Record) ([]*kgo.Record, []step.Decoded) {
	n := len(b.decs)
	ids := make([]int64, len(recs))
	keyed := make([]bool, len(recs))
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * len(recs) / n; i < (w+1)*len(recs)/n; i++ {
				ids[i], keyed[i] = b.decs[w].keyID(recs[i])
			}
		}()
	}
	wg.Wait()
	out := make([][]keep, n)
	skipped := make([]int, n)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec, seen, pending := b.decs[w], b.seen[w], b.pending[w]
			for i := len(recs) - 1; i >= 0; i-- {
				r, id := recs[i], ids[i]
				owner := i % n
				if keyed[i] {
					owner = int(uint64(id) % uint64(n))
				}
				if owner != w || r.Value == nil {
					continue // another decoder's row, or a tombstone
				}
				if _, done := seen[id]; keyed[i] && done {
					// Checked, not applied: a bad record goes to the
					// dead-letter topic all the same.
					skipped[w]++
					if err := dec.check(r); err != nil {
						out[w] = append(out[w], keep{r: r, d: step.Decoded{Err: err}})
					}
					continue
				}
				k := keep{r: r}
				k.d.OK, k.d.Err = dec.decode(r, true, &k.d.Change)
				switch {
				case !keyed[i] || k.d.Err != nil || k.d.OK && k.d.Change.Validate() != nil:
					// Bad: whole, for the dead-letter topic.
					out[w] = append(out[w], k)
					continue
				case !k.d.OK:
					continue // no change
				}
				// What the actor reads of a record it applies: holding
				// no bytes of the fetch, which can then be collected.
				k.r = &kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp}
				if !complete(&k.d.Change) || k.d.Change.ID() != id {
					pending[id] = append(pending[id], k)
					continue
				}
				seen[id] = struct{}{}
				out[w] = append(out[w], k)
				newer := pending[id]
				for j := len(newer) - 1; j >= 0; j-- {
					out[w] = append(out[w], newer[j])
				}
				delete(pending, id)
			}
		}()
	}
	wg.Wait()
	total := 0
	for w := range n {
		total += skipped[w]
	}
	b.skipped(total)
	return flatten(out)
}

// rest returns the records still waiting for a complete image of their
// row, which the topic does not have: each row's oldest first, as
// reading forward would apply them.
func (b *backwardReader) rest() ([]*kgo.Record, []step.Decoded) {
	out := make([][]keep, len(b.pending))
	for w, pending := range b.pending {
		for _, newer := range pending {
			for j := len(newer) - 1; j >= 0; j-- {
				out[w] = append(out[w], newer[j])
			}
		}
		clear(pending)
	}
	return flatten(out)
}

func flatten(ks [][]keep) ([]*kgo.Record, []step.Decoded) {
	var recs []*kgo.Record
	var decoded []step.Decoded
	for _, w := range ks {
		for _, k := range w {
			recs = append(recs, k.r)
			decoded = append(decoded, k.d)
		}
	}
	return recs, decoded
}

// complete reports whether ch, applied to a row absent from the state,
// leaves the row exactly as it would after the row's earlier records: a
// valid insert, update or snapshot read with an LSN and no unchanged
// TOAST column.
func complete(ch *topology.Change) bool {
	return ch.Op != topology.OpDelete && ch.Unchanged == 0 && ch.LSN != 0 && ch.Validate() == nil
}
