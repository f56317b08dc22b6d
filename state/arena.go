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
// the map's spare capacity.
const slotBytes = 40

// table maps keys to values in an arena. Not safe for concurrent use.
type table[K comparable] struct {
	refs map[K]ref
	a    arena
}

// newTable returns a table whose arena allocates chunks of chunkSize
// bytes (at most maxChunk).
func newTable[K comparable](chunkSize int) *table[K] {
	return &table[K]{refs: map[K]ref{}, a: arena{chunkSize: min(chunkSize, maxChunk)}}
}

func (t *table[K]) get(k K) (string, bool) {
	r, ok := t.refs[k]
	if !ok {
		return "", false
	}
	return t.a.get(r), true
}

// put stores v under k and reports whether it did: values over
// maxArenaValue are not stored (and k is deleted).
func (t *table[K]) put(k K, v string) bool {
	t.delete(k)
	if len(v) > maxArenaValue {
		return false
	}
	t.refs[k] = t.a.add(v)
	return true
}

func (t *table[K]) delete(k K) {
	if r, ok := t.refs[k]; ok {
		t.a.garbage += refLen(r)
		delete(t.refs, k)
	}
}

func (t *table[K]) len() int { return len(t.refs) }

// size approximates the table's memory in bytes.
func (t *table[K]) size() int64 {
	return t.a.reserved + int64(len(t.refs))*slotBytes
}

// live is the bytes of the values held.
func (t *table[K]) live() int64 { return t.a.used - t.a.garbage }

// compact copies the live values into new chunks.
func (t *table[K]) compact() {
	a := arena{chunkSize: t.a.chunkSize}
	for k, r := range t.refs {
		t.refs[k] = a.add(t.a.get(r))
	}
	t.a = a
}

// maybeCompact compacts when at least a quarter of the arena is garbage.
func (t *table[K]) maybeCompact() {
	if t.a.garbage > 0 && 4*t.a.garbage >= t.a.used {
		t.compact()
	}
}
