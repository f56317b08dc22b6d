package state

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// presence is a Bloom filter of the customers (or vehicles) that have
// entries in a partition's customer → orders (vehicle → items) index, so
// that refreshing the facts of a dimension change skips the partitions
// that hold none of its rows without reading Pebble. It never forgets: a
// batch adds the ids it indexes before it commits (whether the commit
// succeeds or not), deletions leave their bits, and a dropped partition
// keeps them; false positives only cost a scan, and there are no false
// negatives. Not safe for concurrent use (partCache's mutex guards it).
type presence struct {
	bits []uint64
}

const (
	presenceBits   = 1 << 22 // 512 KiB per index and partition
	presenceHashes = 4
)

func newPresence() presence { return presence{bits: make([]uint64, presenceBits/64)} }

func presenceHash(id int64) (uint32, uint32) {
	// splitmix64's finalizer.
	h := uint64(id) + 0x9e3779b97f4a7c15
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
	h = (h ^ (h >> 27)) * 0x94d049bb133111eb
	h ^= h >> 31
	return uint32(h), uint32(h>>32) | 1
}

func (p *presence) add(id int64) {
	h1, h2 := presenceHash(id)
	for i := uint32(0); i < presenceHashes; i++ {
		b := (h1 + i*h2) & (presenceBits - 1)
		p.bits[b/64] |= 1 << (b % 64)
	}
}

func (p *presence) mayHave(id int64) bool {
	h1, h2 := presenceHash(id)
	for i := uint32(0); i < presenceHashes; i++ {
		b := (h1 + i*h2) & (presenceBits - 1)
		if p.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// mayIndex reports whether the committed index of kind (kindCustOrders
// or kindVehItems) may hold entries for id, building the partition's
// filters from its committed indexes on first use.
func (c *partCache) mayIndex(s *Store, part int32, kind byte, id int64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.presenceBuilt {
		// Under the lock, so that the ids batches add before committing
		// are either seen by the scan or added to the bits after it; the
		// bits already hold those added before.
		if err := c.buildPresence(s, part); err != nil {
			return true, err
		}
		c.presenceBuilt = true
	}
	p := &c.vehicles
	if kind == kindCustOrders {
		p = &c.customers
	}
	ok := p.mayHave(id)
	if !ok {
		c.scansSkipped++
	}
	return ok, nil
}

func (c *partCache) buildPresence(s *Store, part int32) error {
	for _, k := range []struct {
		kind byte
		p    *presence
	}{{kindCustOrders, &c.customers}, {kindVehItems, &c.vehicles}} {
		prefix := append(partitionPrefix(nil, part), k.kind)
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return fmt.Errorf("reading the indexes of partition %d: %w", part, err)
		}
		n := len(prefix)
		for valid := it.First(); valid; valid = it.Next() {
			key := it.Key()
			if len(key) < n+8 {
				_ = it.Close()
				return fmt.Errorf("reading the indexes of partition %d: %w: index key %x", part, ErrCorrupt, key)
			}
			k.p.add(readID(key[n:]))
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("reading the indexes of partition %d: %w", part, err)
		}
	}
	return nil
}

// indexed adds ids a batch is about to commit index entries for.
func (c *partCache) indexed(customers, vehicles []int64) {
	if c == nil || len(customers)+len(vehicles) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range customers {
		c.customers.add(id)
	}
	for _, id := range vehicles {
		c.vehicles.add(id)
	}
}
