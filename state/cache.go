package state

import "sync"

// dimCache is a bounded LRU of decoded dimension rows (customers,
// vehicles), shared by every reader of a Store. Safe for concurrent use; a
// nil *dimCache caches nothing.
//
// Stale fills are the hazard: a reader misses, reads the old value from
// Pebble, a writer commits and invalidates, then the reader inserts the old
// value. The epoch closes that window: a reader notes the epoch before
// reading Pebble and add drops its value if any invalidation happened
// since (writers invalidate after their commit is visible).
type dimCache struct {
	mu      sync.Mutex
	limit   int64
	size    int64
	entries map[cacheKey]*cacheEntry
	lru     cacheEntry // sentinel: lru.next is the most recently used
	epoch   uint64
	hits    uint64
	misses  uint64
}

type cacheKey struct {
	kind byte
	id   int64
}

type cacheEntry struct {
	key        cacheKey
	val        any // topology.Stored[Customer] or topology.Stored[Vehicle]
	size       int64
	prev, next *cacheEntry
}

// entryOverhead approximates the memory of an entry beyond its encoded
// value: the entry, the map slot and the decoded struct's fixed part.
const entryOverhead = 256

func newDimCache(limit int64) *dimCache {
	if limit <= 0 {
		return nil
	}
	c := &dimCache{limit: limit, entries: map[cacheKey]*cacheEntry{}}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	return c
}

// get returns the cached value of k, or the epoch to pass to add after
// reading it from Pebble.
func (c *dimCache) get(k cacheKey) (val any, ok bool, epoch uint64) {
	if c == nil {
		return nil, false, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[k]
	if e == nil {
		c.misses++
		return nil, false, c.epoch
	}
	c.hits++
	c.unlink(e)
	c.pushFront(e)
	return e.val, true, 0
}

// add caches val for k unless an invalidation happened since epoch, then
// evicts least recently used entries down to the limit.
func (c *dimCache) add(k cacheKey, val any, encodedSize int, epoch uint64) {
	if c == nil {
		return
	}
	size := int64(encodedSize) + entryOverhead
	if size > c.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if old := c.entries[k]; old != nil {
		c.remove(old)
	}
	e := &cacheEntry{key: k, val: val, size: size}
	c.entries[k] = e
	c.pushFront(e)
	c.size += size
	for c.size > c.limit {
		c.remove(c.lru.prev)
	}
}

// invalidate drops the given keys and starts a new epoch.
func (c *dimCache) invalidate(keys []cacheKey) {
	if c == nil || len(keys) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, k := range keys {
		if e := c.entries[k]; e != nil {
			c.remove(e)
		}
	}
}

// stats returns the hit and miss counts and the current size in bytes.
func (c *dimCache) stats() (hits, misses uint64, size int64, n int) {
	if c == nil {
		return 0, 0, 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, c.size, len(c.entries)
}

func (c *dimCache) remove(e *cacheEntry) {
	c.unlink(e)
	delete(c.entries, e.key)
	c.size -= e.size
}

func (c *dimCache) unlink(e *cacheEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
}

func (c *dimCache) pushFront(e *cacheEntry) {
	e.prev = &c.lru
	e.next = c.lru.next
	c.lru.next.prev = e
	c.lru.next = e
}
