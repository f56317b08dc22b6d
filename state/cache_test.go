package state

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDimCacheBoundedLRU(t *testing.T) {
	c := newDimCache(4 * (entryOverhead + 100))
	key := func(i int) cacheKey { return cacheKey{kindCustomer, int64(i)} }
	for i := range 4 {
		_, ok, epoch := c.get(key(i))
		require.False(t, ok)
		c.add(key(i), i, 100, epoch)
	}
	// Touch 0 so that 1 is the least recently used.
	v, ok, _ := c.get(key(0))
	require.True(t, ok)
	assert.Equal(t, 0, v)
	_, _, epoch := c.get(key(4))
	c.add(key(4), 4, 100, epoch)

	_, ok, _ = c.get(key(1))
	assert.False(t, ok, "least recently used entry evicted")
	for _, i := range []int{0, 2, 3, 4} {
		_, ok, _ = c.get(key(i))
		assert.True(t, ok, "entry %d kept", i)
	}
	_, _, size, n := c.stats()
	assert.Equal(t, 4, n)
	assert.LessOrEqual(t, size, c.limit)

	// An entry bigger than the whole cache is not cached.
	_, _, epoch = c.get(key(9))
	c.add(key(9), 9, 10*(entryOverhead+100), epoch)
	_, ok, _ = c.get(key(9))
	assert.False(t, ok)
}

func TestDimCacheEpochRejectsStaleFill(t *testing.T) {
	c := newDimCache(1 << 20)
	k := cacheKey{kindVehicle, 7}
	_, ok, epoch := c.get(k) // a reader misses and goes to Pebble...
	require.False(t, ok)
	c.invalidate([]cacheKey{k}) // ...a writer commits and invalidates...
	c.add(k, "old value", 10, epoch)
	_, ok, _ = c.get(k) // ...and the reader's old value is not cached.
	assert.False(t, ok)

	_, _, epoch = c.get(k)
	c.add(k, "new value", 10, epoch)
	v, ok, _ := c.get(k)
	require.True(t, ok)
	assert.Equal(t, "new value", v)
}

func TestDimCacheDisabled(t *testing.T) {
	c := newDimCache(-1)
	require.Nil(t, c)
	c.add(cacheKey{kindCustomer, 1}, 1, 1, 0)
	_, ok, _ := c.get(cacheKey{kindCustomer, 1})
	assert.False(t, ok)
	c.invalidate([]cacheKey{{kindCustomer, 1}})
}
