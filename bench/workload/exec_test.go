package workload

import (
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
)

func TestDropDependents(t *testing.T) {
	mk := func(changes int64, deps ...*op) *op {
		o := &op{done: make(chan struct{}), deps: deps}
		o.want[tOrders][cUpdate] = changes
		return o
	}
	skipped, committed := mk(1), mk(1)
	skipped.skipped = true
	close(skipped.done)
	close(committed.done)

	x := newExecutor(zerolog.Nop(), nil, false)
	a := mk(2, committed, skipped) // planned on the rows of a skipped operation
	b := mk(3, committed)
	c := mk(4, a) // on the rows of a, earlier in the same pipeline
	d := mk(5, b)
	batch := []*op{a, b, c, d}
	kept := x.dropDependents(batch)
	assert.Equal(t, []*op{b, d}, kept)
	assert.Equal(t, []*op{a, b, c, d}, batch, "the caller's slice is unchanged")
	assert.True(t, a.skipped)
	assert.True(t, c.skipped)
	assert.False(t, b.skipped)
	assert.False(t, d.skipped)
	assert.Equal(t, int64(2), x.dependents)
	assert.Equal(t, int64(2+4), x.unplanned.Load(), "the run makes up for their changes")
	assert.True(t, x.resync.Load(), "the model must be reloaded")

	x = newExecutor(zerolog.Nop(), nil, false)
	batch = []*op{b, d}
	kept = x.dropDependents(batch)
	assert.Equal(t, batch, kept)
	assert.Zero(t, x.dependents)
	assert.False(t, x.resync.Load())
}
