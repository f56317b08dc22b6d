package state

import "unsafe"

// An arena holds immutable byte strings in 1 MiB chunks, and a table maps
// keys to arena values. The caches keep their encoded rows this way rather
// than as one Go string each: no allocation per value, no string header
// per map slot, and nothing for the garbage collector to scan (the chunks
// and a map of integers hold no pointers), which matters with millions of
// rows in memory.
//
// Chunks are 1 MiB at most (smaller for small caches); a value larger than
// a chunk gets one of its own, up to maxArenaValue.
//
// Values are never modified in place: a replaced or deleted value becomes
// garbage, counted, and compact copies the live values into new chunks.
// Strings handed out by get share a chunk's memory, which the garbage
// collector keeps alive as long as any of them is referenced, so they stay
// valid after a compaction or after the table is dropped.
type arena struct {
	chunkSize int // capacity of a new chunk
	chunks    [][]byte
	reserved  int64 // capacity of the chunks
	used      int64 // bytes of values appended
	garbage   int64 // bytes of values replaced or deleted
}

const (
	chunkBits = 20
	// maxChunk is the largest chunk; tables of small caches use smaller
	// ones.
	maxChunk = 1 << chunkBits
	// maxArenaValue is the largest value an arena holds; larger ones are
	// not cached.
	maxArenaValue = maxChunk - 1
)

// ref locates a value: chunk index (24 bits), offset (20 bits) and length
// (20 bits).
type ref uint64

func (a *arena) add(v string) ref {
	n := len(v)
	last := len(a.chunks) - 1
	if last < 0 || len(a.chunks[last])+n > cap(a.chunks[last]) {
		// A value larger than a chunk gets a chunk of its own.
		size := max(a.chunkSize, n)
		a.chunks = append(a.chunks, make([]byte, 0, size))
		a.reserved += int64(size)
		last++
	}
	off := len(a.chunks[last])
	a.chunks[last] = append(a.chunks[last], v...)
	a.used += int64(n)
	return ref(uint64(last)<<40 | uint64(off)<<chunkBits | uint64(n))
}

func (a *arena) get(r ref) string {
	n := int(r & (1<<chunkBits - 1))
	if n == 0 {
		return ""
	}
	off := int(r >> chunkBits & (1<<chunkBits - 1))
	return unsafe.String(&a.chunks[r>>40][off], n)
}

func refLen(r ref) int64 { return int64(r & (1<<chunkBits - 1)) }

// slotBytes approximates the memory of a map slot of a table: key, ref and
// the map's spare capacity; denseSlotBytes that of a slot of the dense
// array.
const (
	slotBytes      = 40
	denseSlotBytes = 8
)

// present marks a used slot of a table's dense array (refs never set the
// top bit: that would take 2^23 chunks).
const present ref = 1 << 63

// denseMin is the size the dense array of a table may take whatever its
// count: ids below it never go to the map.
const denseMin = 64

// table maps ids to values in an arena. Ids that are dense — from 0 up to
// a few times the number of entries, as the ids of a table's rows are
// when the table holds most of them — index an array of refs, which is
// one memory access per lookup and 8 bytes per slot; others go to a map.
// Not safe for concurrent use.
type table struct {
	dense  []ref         // refs|present of ids 0..len(dense)-1
	sparse map[int64]ref // ids outside dense
	n      int           // entries
	a      arena
}

// newTable returns a table whose arena allocates chunks of chunkSize
// bytes (at most maxChunk).
func newTable(chunkSize int) *table {
	return &table{sparse: map[int64]ref{}, a: arena{chunkSize: min(chunkSize, maxChunk)}}
}

func (t *table) ref(id int64) (ref, bool) {
	if uint64(id) < uint64(len(t.dense)) {
		r := t.dense[id]
		return r &^ present, r != 0
	}
	r, ok := t.sparse[id]
	return r, ok
}

func (t *table) get(id int64) (string, bool) {
	r, ok := t.ref(id)
	if !ok {
		return "", false
	}
	return t.a.get(r), true
}

// put stores v under id and reports whether it did: values over
// maxArenaValue are not stored (and id is deleted).
func (t *table) put(id int64, v string) bool {
	t.delete(id)
	if len(v) > maxArenaValue {
		return false
	}
	r := t.a.add(v)
	t.n++
	if id >= int64(len(t.dense)) && id < max(denseMin, 4*int64(t.n)) {
		t.grow(id)
	}
	if uint64(id) < uint64(len(t.dense)) {
		t.dense[id] = r | present
		return true
	}
	t.sparse[id] = r
	return true
}

// grow extends the dense array past id (doubling, so that ids appended in
// order cost amortized constant time) and moves the map's ids it now
// covers.
func (t *table) grow(id int64) {
	n := max(id+1, 2*int64(len(t.dense)), denseMin)
	if limit := max(denseMin, 4*int64(t.n)); n > limit {
		n = max(id+1, limit)
	}
	t.dense = append(t.dense, make([]ref, n-int64(len(t.dense)))...)
	for k, r := range t.sparse {
		if uint64(k) < uint64(n) {
			t.dense[k] = r | present
			delete(t.sparse, k)
		}
	}
}

func (t *table) delete(id int64) {
	r, ok := t.ref(id)
	if !ok {
		return
	}
	t.a.garbage += refLen(r)
	t.n--
	if uint64(id) < uint64(len(t.dense)) {
		t.dense[id] = 0
	} else {
		delete(t.sparse, id)
	}
}

func (t *table) len() int { return t.n }

// size approximates the table's memory in bytes.
func (t *table) size() int64 {
	return t.a.reserved + int64(len(t.sparse))*slotBytes + int64(cap(t.dense))*denseSlotBytes
}

// live is the bytes of the values held.
func (t *table) live() int64 { return t.a.used - t.a.garbage }

// compact copies the live values into new chunks.
func (t *table) compact() {
	a := arena{chunkSize: t.a.chunkSize}
	for id, r := range t.dense {
		if r != 0 {
			t.dense[id] = a.add(t.a.get(r&^present)) | present
		}
	}
	for id, r := range t.sparse {
		t.sparse[id] = a.add(t.a.get(r))
	}
	t.a = a
}

// maybeCompact compacts when at least a quarter of the arena is garbage.
func (t *table) maybeCompact() {
	if t.a.garbage > 0 && 4*t.a.garbage >= t.a.used {
		t.compact()
	}
}
