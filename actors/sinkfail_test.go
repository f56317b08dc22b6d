package actors

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestSinkFailures: transient write errors are retried until they clear,
// a permanent one stops the node with its cause.
func TestSinkFailures(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	hist := topologytest.Generate(rng, topologytest.Config{Transactions: 80, Partitions: 2, GlobalPartitions: 1})

	t.Run("transient", func(t *testing.T) {
		h := newHarness(t, nil, 2, 1)
		h.sink.FailNext(7, nil)
		h.produce(hist.Interleave(rng, nil))
		n := h.start("a", nil)
		h.waitIdle(hist.Final, 20*time.Second)
		assert.NoError(t, n.shutdown(t))
	})
	t.Run("permanent", func(t *testing.T) {
		h := newHarness(t, nil, 2, 1)
		bad := errors.New("table sales_facts does not exist")
		h.sink.FailNextFacts(1, bad)
		h.produce(hist.Interleave(rng, nil))
		n := h.start("a", nil)
		err := n.wait(t)
		require.ErrorIs(t, err, ErrSinkFailed)
		assert.ErrorIs(t, err, bad)
		behind, lerr := h.lag(ctx(t))
		require.NoError(t, lerr)
		assert.NotEmpty(t, behind, "what the sink did not write must not be committed")
	})
}
