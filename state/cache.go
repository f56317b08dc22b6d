package state

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
)

// dimCache holds encoded dimension rows (customers, vehicles) in memory,
// shared by every reader of a Store. Safe for concurrent use; a nil
// *dimCache caches nothing.
//
// Values are the encoded rows, kept in arenas (see arena.go), which
// readers decode without copying their strings (aliasDec): a cached
// customer costs its encoded size plus a map slot, a fraction of the
// decoded row, and nothing for the garbage collector to scan. The cache
// is bounded in bytes by two generations: inserts go to the current one;
// when it exceeds the limit it becomes the old one and the previous old
// one is dropped; a hit in the old generation moves the entry back to the
// current one.
//
// Open preloads the global range. When every stored row fits, the cache
// is complete: a lookup that finds nothing means the row does not exist,
// and no reader goes to Pebble for dimensions at all. Dropping a
// generation or a failed commit makes it incomplete again.
//
// Stale fills are the hazard of a read-through cache: a reader misses,
// reads the old value from Pebble, a writer commits, then the reader
// inserts the old value. The epoch closes that window: a reader notes the
// epoch before reading Pebble, and add drops its value if a writer
// installed or invalidated anything since (writers do so after their
// commit is visible).
type dimCache struct {
	mu       sync.RWMutex
	limit    int64 // bytes per generation: half the configured bound
	cur, old *dimGen
	epoch    uint64
	complete bool
	hits     atomic.Uint64
	misses   atomic.Uint64
}

type cacheKey struct {
	kind byte
	id   int64
}

func newDimCache(limit int64) *dimCache {
	if limit <= 0 {
		return nil
	}
	c := &dimCache{limit: max(1, limit/2)}
	c.cur, c.old = c.newTable(), c.newTable()
	return c
}

// newTable returns a generation, with chunks of a sixteenth of the
// generation's bound (4 KiB to 1 MiB).
func (c *dimCache) newTable() *dimGen {
	chunk := int(min(max(c.limit/16, 4<<10), maxChunk))
	return &dimGen{customers: newTable(chunk), vehicles: newTable(chunk), features: newTable(chunk)}
}

// dimGen is one generation: a table per kind of value (customers,
// vehicles, vehicles' features), keyed by id.
type dimGen struct {
	customers, vehicles, features *table
}

func (g *dimGen) of(kind byte) *table {
	switch kind {
	case kindVehicle:
		return g.vehicles
	case kindFeatures:
		return g.features
	}
	return g.customers
}

func (g *dimGen) get(k cacheKey) (string, bool) { return g.of(k.kind).get(k.id) }
func (g *dimGen) put(k cacheKey, v string) bool { return g.of(k.kind).put(k.id, v) }
func (g *dimGen) delete(k cacheKey)             { g.of(k.kind).delete(k.id) }

// len counts values: rows and features texts.
func (g *dimGen) len() int    { return g.customers.len() + g.vehicles.len() + g.features.len() }
func (g *dimGen) size() int64 { return g.customers.size() + g.vehicles.size() + g.features.size() }
func (g *dimGen) maybeCompact() {
	g.customers.maybeCompact()
	g.vehicles.maybeCompact()
	g.features.maybeCompact()
}

// lookup results of dimCache.get.
const (
	cacheMiss   = iota // not cached: read Pebble, then add with the epoch
	cacheHit           // val holds the encoded row
	cacheAbsent        // the cache is complete and the row does not exist
)

// get returns the cached value of k, whether the row is known absent, or
// the epoch to pass to add after reading it from Pebble.
func (c *dimCache) get(k cacheKey) (val string, result int, epoch uint64) {
	if c == nil {
		return "", cacheMiss, 0
	}
	c.mu.RLock()
	val, ok := c.cur.get(k)
	if ok {
		c.mu.RUnlock()
		c.count(true)
		return val, cacheHit, 0
	}
	_, inOld := c.old.get(k)
	complete, epoch := c.complete, c.epoch
	c.mu.RUnlock()
	if !inOld {
		if complete {
			c.count(true)
			return "", cacheAbsent, 0
		}
		c.count(false)
		return "", cacheMiss, epoch
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if val, ok := c.cur.get(k); ok {
		c.hits.Add(1)
		return val, cacheHit, 0
	}
	if val, ok := c.old.get(k); ok {
		c.hits.Add(1)
		c.put(k, val)
		return val, cacheHit, 0
	}
	if c.complete {
		c.hits.Add(1)
		return "", cacheAbsent, 0
	}
	c.misses.Add(1)
	return "", cacheMiss, c.epoch
}

// count adds a hit or a miss.
func (c *dimCache) count(hit bool) {
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
}

// add caches val for k unless a writer installed or invalidated rows since
// epoch.
func (c *dimCache) add(k cacheKey, val string, epoch uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	c.put(k, val)
}

// put inserts into the current generation, compacting it when a quarter
// is garbage, and rotates it when full. The caller holds mu.
func (c *dimCache) put(k cacheKey, val string) {
	c.old.delete(k)
	if !c.cur.put(k, val) {
		c.complete = false // too large to cache: read through
	}
	// Updates leave garbage in the arena: compact it before it grows the
	// generation, which would otherwise rotate a cache that fits.
	if c.cur.maybeCompact(); c.cur.size() <= c.limit {
		return
	}
	if c.old.len() > 0 {
		c.complete = false
	}
	c.old, c.cur = c.cur, c.newTable()
}

// install puts the rows a batch committed, once its commit is visible.
func (c *dimCache) install(rows map[cacheKey]string) {
	if c == nil || len(rows) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for k, v := range rows {
		c.put(k, v)
	}
}

// invalidate drops the given keys (a batch whose commit failed may or may
// not have reached Pebble) and starts a new epoch.
func (c *dimCache) invalidate(rows map[cacheKey]string) {
	if c == nil || len(rows) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.complete = false
	for k := range rows {
		c.cur.delete(k)
		c.old.delete(k)
	}
}

// preload reads the global tables into the cache, and marks it complete
// when every row fit. It runs in Open, before any reader.
func (c *dimCache) preload(db *pebble.DB) error {
	if c == nil {
		return nil
	}
	all := true
	for _, kind := range []byte{kindCustomer, kindVehicle, kindFeatures} {
		prefix := []byte{rangeGlobal, kind}
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return fmt.Errorf("preloading the global tables: %w", err)
		}
		for valid := it.First(); valid; valid = it.Next() {
			key := it.Key()
			if len(key) != len(prefix)+8 {
				_ = it.Close()
				return fmt.Errorf("preloading the global tables: %w: key %x", ErrCorrupt, key)
			}
			val, err := it.ValueAndErr()
			if err != nil {
				_ = it.Close()
				return fmt.Errorf("preloading the global tables: %w", err)
			}
			// put copies the value into the arena.
			if !c.cur.put(cacheKey{kind, readID(key[len(prefix):])}, unsafe.String(unsafe.SliceData(val), len(val))) {
				all = false
			}
			if c.cur.size() > c.limit {
				// More rows than the limit: keep what fits, read the rest
				// through.
				return it.Close()
			}
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("preloading the global tables: %w", err)
		}
	}
	c.complete = all
	return nil
}

// stats returns the hit and miss counts, the size in bytes and the
// number of entries.
func (c *dimCache) stats() (hits, misses uint64, size int64, n int, complete bool) {
	if c == nil {
		return 0, 0, 0, 0, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.hits.Load(), c.misses.Load(), c.cur.size() + c.old.size(), c.cur.len() + c.old.len(), c.complete
}
