package actors

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// TestCoPartitioningChecks covers the co-partitioning checks: the node
// refuses to start without the topics or with unequal partition counts,
// and stops on a run of records whose orders belong to other partitions
// (a single one is a dead letter: TestDeadLetters), each time with an
// error that names the fix.
func TestCoPartitioningChecks(t *testing.T) {
	cluster := newCluster(t)
	tests := []struct {
		name    string
		setup   func(t *testing.T, h *harness)
		wantErr error
		wantMsg string
	}{
		{
			name: "missing topics",
			setup: func(t *testing.T, h *harness) {
				h.prefix = "absent"
				h.enc.Prefix = "absent"
			},
			wantErr: ErrMissingTopic,
			wantMsg: "connector register",
		},
		{
			name: "unequal partition counts",
			setup: func(t *testing.T, h *harness) {
				h.prefix += "x"
				h.enc.Prefix = h.prefix
				adm := kadm.NewClient(h.prod.Client)
				for _, tab := range topology.Tables {
					n := int32(3)
					if tab == topology.TablePayments {
						n = 2
					}
					_, err := adm.CreateTopic(ctx(t), n, 1, nil, h.enc.Topic(tab))
					require.NoError(t, err)
				}
			},
			wantErr: ErrCoPartitioning,
			wantMsg: "partition.topic.num",
		},
		{
			name: "orders in the wrong partition, many in a row",
			setup: func(t *testing.T, h *harness) {
				var recs []topologytest.Record
				for id := int64(1); len(recs) < step.DefaultMaxMisrouted; id++ {
					if topology.OrderPartition(id, 3) == 0 {
						continue
					}
					ch := topology.Change{
						Table: topology.TableOrders, Op: topology.OpCreate, LSN: uint64(10 + id), SourceTsMs: 1_700_000_000_000,
						After: topology.Some(topology.OrderRow(topology.Order{ID: id, CustomerID: 1, Status: "pending", Channel: "web", Currency: "EUR"})),
					}
					ch.Pos.Partition = 0
					recs = append(recs, topologytest.Record{Change: ch})
				}
				h.produce(recs)
			},
			wantErr: ErrCoPartitioning,
			wantMsg: "PartitionRouting",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, cluster, 3, 1)
			tt.setup(t, h)
			n, err := NewNode(h.config("a"), h.deps(nil))
			require.NoError(t, err)
			c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = n.Run(c)
			t.Log(err)
			require.ErrorIs(t, err, tt.wantErr)
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.NoError(t, c.Err(), "the node should stop by itself")
		})
	}
}
