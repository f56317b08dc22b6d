package actors

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// TestSupervisorStopsTheNode: an actor that panics is stopped, not
// restarted, and the node stops with ErrActorFailed.
func TestSupervisorStopsTheNode(t *testing.T) {
	tests := []struct {
		name    string
		panicky any
		wantErr error
	}{
		{"corrupt state", state.ErrCorrupt, state.ErrCorrupt},
		{"broken invariant", "index out of range", ErrActorFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return newSlogLogger(testLogger(t)) }))
			defer system.Shutdown()
			failed := make(chan error, 1)
			e := &env{fail: func(err error) { failed <- err }}
			root := system.Root.WithGuardian(supervisor(e))
			started := 0
			pid := root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
				switch c.Message().(type) {
				case *actor.Started:
					started++
				case string:
					panic(tt.panicky)
				}
			}))
			root.Send(pid, "boom")
			select {
			case err := <-failed:
				require.ErrorIs(t, err, ErrActorFailed)
				assert.ErrorIs(t, err, tt.wantErr)
			case <-time.After(5 * time.Second):
				t.Fatal("the supervisor did not report the failure")
			}
			require.NoError(t, root.StopFuture(pid).Wait())
			assert.Equal(t, 1, started, "the actor must not be restarted")
		})
	}
}

// panicWriter panics on every write.
type panicWriter struct{}

func (panicWriter) Write(context.Context, []topology.Fact) error { panic("writer bug") }

// TestWriterPanicStopsTheNode: a Writer that panics (in the sink actor's
// write goroutine) stops the node with ErrSinkFailed instead of crashing
// the process.
func TestWriterPanicStopsTheNode(t *testing.T) {
	h := newHarness(t, nil, 1, 1)
	deps := h.deps(nil)
	deps.Facts = panicWriter{}
	n, err := NewNode(h.config("a"), deps)
	require.NoError(t, err)
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Run(c) }()
	ch := topology.Change{Table: topology.TableOrders, Op: topology.OpCreate, LSN: 5, SourceTsMs: 1,
		After: topology.Some(topology.OrderRow(topology.Order{ID: 3, Status: "pending", Channel: "web", Currency: "EUR"}))}
	it := topology.Change{Table: topology.TableOrderItems, Op: topology.OpCreate, LSN: 6, SourceTsMs: 1,
		After: topology.Some(topology.ItemRow(topology.OrderItem{ID: 1, OrderID: 3, VehicleID: 1, Quantity: 1}))}
	h.produce(records(ch, it))
	err = <-done
	require.ErrorIs(t, err, ErrSinkFailed)
	assert.True(t, errors.Is(err, errPanicked))
}
