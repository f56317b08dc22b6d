package step_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
	"github.com/drivetrain-cdc/drivetrain/topology/step"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

var topics = [3]string{"ecommerce.public.orders", "ecommerce.public.order_items", "ecommerce.public.payments"}

// memStore is a partition of a MemStore with its offsets.
type memStore struct {
	*topologytest.MemPartition
	offsets map[string]int64
}

func (m *memStore) SetOffset(topic string, partition int32, next int64) error {
	m.offsets[fmt.Sprintf("%s/%d", topic, partition)] = next
	return nil
}

func newStore(part int32) *memStore {
	return &memStore{MemPartition: topologytest.NewMemStore().Partition(part), offsets: map[string]int64{}}
}

func newStep(n, count int32) *step.Partition {
	return step.NewPartition(n, count, topics, step.NewDecoder(debezium.Options{TopicPrefix: "ecommerce"}))
}

// history builds changes of one partition with growing offsets and LSNs.
type history struct {
	part    int32
	offsets [3]int64
	lsn     uint64
	changes []topology.Change
	topics  []string
}

func (h *history) add(t topology.Table, op topology.Op, row topology.Row) {
	i := map[topology.Table]int{topology.TableOrders: 0, topology.TableOrderItems: 1, topology.TablePayments: 2}[t]
	h.lsn += 100
	ch := topology.Change{Table: t, Op: op, LSN: h.lsn, SourceTsMs: int64(h.lsn), Pos: topology.Position{Partition: h.part, Offset: h.offsets[i]}}
	h.offsets[i]++
	if op == topology.OpDelete {
		ch.Before = topology.Some(row)
	} else {
		ch.After = topology.Some(row)
	}
	h.changes = append(h.changes, ch)
	h.topics = append(h.topics, topics[i])
}

// take returns the changes added since the last take.
func (h *history) take() ([]topology.Change, []string) {
	c, t := h.changes, h.topics
	h.changes, h.topics = nil, nil
	return c, t
}

func order(id int64, date time.Time) topology.Row {
	return topology.OrderRow(topology.Order{ID: id, CustomerID: 1, Status: "pending", Channel: "web", Currency: "EUR", OrderDate: topology.TimestampOf(date)})
}

func item(id, orderID int64, price int64) topology.Row {
	return topology.ItemRow(topology.OrderItem{ID: id, OrderID: orderID, VehicleID: 1, Quantity: 1, UnitPrice: topology.NewDecimal(price, 2)})
}

var march = time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)

// TestBigOrderIsLinear: an order of n items inserted in one batch, then
// every item updated in another, builds each item's fact once per batch,
// not once per sibling change.
func TestBigOrderIsLinear(t *testing.T) {
	const n = 2000
	s, p := newStore(0), newStep(0, 1)
	h := &history{}
	h.add(topology.TableOrders, topology.OpCreate, order(1, march))
	for i := range int64(n) {
		h.add(topology.TableOrderItems, topology.OpCreate, item(10+i, 1, 1000))
	}
	changes, ts := h.take()
	res, err := p.Changes(s, changes, ts, step.Emit, 1_000)
	require.NoError(t, err)
	assert.Len(t, res.Mirrors, n+1)
	require.Len(t, res.Facts, n, "one fact per item")
	assert.Equal(t, [3]int64{1, n, 0}, res.Next)
	assert.Equal(t, int64(n), s.offsets[topics[1]+"/0"])
	first := map[int64]uint64{}
	for _, f := range res.Facts {
		assert.Equal(t, int64(n*1000), topology.Cents(f.OrderTotal), "order_total of item %d", f.OrderItemID)
		first[f.OrderItemID] = f.Version
	}

	for i := range int64(n) {
		h.add(topology.TableOrderItems, topology.OpUpdate, item(10+i, 1, 2000))
	}
	changes, ts = h.take()
	res, err = p.Changes(s, changes, ts, step.Emit, 2_000)
	require.NoError(t, err)
	require.Len(t, res.Facts, n, "one fact per item")
	seen := map[int64]bool{}
	for _, f := range res.Facts {
		assert.False(t, seen[f.OrderItemID], "item %d built twice", f.OrderItemID)
		seen[f.OrderItemID] = true
		assert.Equal(t, int64(n*2000), topology.Cents(f.OrderTotal))
		assert.Greater(t, f.Version, first[f.OrderItemID], "item %d: a newer version", f.OrderItemID)
	}
}

// twoItems returns a partition holding order 1 (March) with items 10 and
// 11, emitted, and the history that wrote it.
func twoItems(t *testing.T) (*memStore, *step.Partition, *history) {
	t.Helper()
	s, p := newStore(0), newStep(0, 1)
	h := &history{}
	h.add(topology.TableOrders, topology.OpCreate, order(1, march))
	h.add(topology.TableOrderItems, topology.OpCreate, item(10, 1, 1000))
	h.add(topology.TableOrderItems, topology.OpCreate, item(11, 1, 1000))
	changes, ts := h.take()
	_, err := p.Changes(s, changes, ts, step.Emit, 1_000)
	require.NoError(t, err)
	return s, p, h
}

// TestDeletedItemTombstone: an item deleted in a batch emits its
// tombstone, unless it was inserted again in the same batch.
func TestDeletedItemTombstone(t *testing.T) {
	s, p, h := twoItems(t)

	h.add(topology.TableOrderItems, topology.OpDelete, item(10, 1, 1000))
	h.add(topology.TableOrderItems, topology.OpDelete, item(11, 1, 1000))
	h.add(topology.TableOrderItems, topology.OpCreate, item(11, 1, 500))
	changes, ts := h.take()
	res, err := p.Changes(s, changes, ts, step.Emit, 2_000)
	require.NoError(t, err)
	got := map[int64]topology.Fact{}
	for _, f := range res.Facts {
		_, dup := got[f.OrderItemID]
		require.False(t, dup, "item %d built twice", f.OrderItemID)
		got[f.OrderItemID] = f
	}
	require.Len(t, got, 2)
	assert.True(t, got[10].Deleted)
	assert.False(t, got[11].Deleted)
	assert.Equal(t, int64(500), topology.Cents(got[11].OrderTotal))
}

// TestOrderDateMovesMonth: an order whose order_date moves to other
// months emits its facts under the new month and tombstones under every
// month it had — also when the changes were applied quietly and the
// state is emitted after.
func TestOrderDateMovesMonth(t *testing.T) {
	may := march.AddDate(0, 2, 0)
	for _, mode := range []step.Mode{step.Emit, step.Quiet} {
		t.Run(map[step.Mode]string{step.Emit: "emit", step.Quiet: "quiet"}[mode], func(t *testing.T) {
			s, p, h := twoItems(t)

			h.add(topology.TableOrders, topology.OpUpdate, order(1, may))
			h.add(topology.TableOrders, topology.OpUpdate, order(1, may.AddDate(0, 1, 0)))
			changes, ts := h.take()
			res, err := p.Changes(s, changes, ts, mode, 2_000)
			require.NoError(t, err)
			if mode == step.Quiet {
				assert.Empty(t, res.Facts)
				assert.Equal(t, []int64{1, 1}, res.Touched)
				res, err = p.EmitState(s, []int64{1}, 3_000)
				require.NoError(t, err)
			}
			type key struct {
				month int
				item  int64
			}
			last := map[key]topology.Fact{}
			top := map[int64]uint64{}
			for _, f := range res.Facts {
				assert.Greater(t, f.Version, top[f.OrderItemID], "an item's versions grow in emission order")
				top[f.OrderItemID] = f.Version
				last[key{f.OrderDate.Month(), f.OrderItemID}] = f
			}
			for _, it := range []int64{10, 11} {
				for _, m := range []int{202403, 202405} {
					old, ok := last[key{m, it}]
					require.True(t, ok, "item %d: a row under %d", it, m)
					assert.True(t, old.Deleted, "item %d: the row under %d is deleted", it, m)
				}
				cur, ok := last[key{202406, it}]
				require.True(t, ok, "item %d: a row under June", it)
				assert.False(t, cur.Deleted)
			}
			assert.Len(t, last, 6, "three months, two items")
		})
	}
}

// TestMirrorVersions: a row's mirror versions follow its changes' Kafka
// order even when source.lsn goes back (the snapshot boundary), and a
// redelivered change keeps its version.
func TestMirrorVersions(t *testing.T) {
	s, p := newStore(0), newStep(0, 1)
	snap := topology.Change{Table: topology.TableOrders, Op: topology.OpRead, LSN: 5000, After: topology.Some(order(1, march)), Pos: topology.Position{Offset: 0}}
	late := topology.Change{Table: topology.TableOrders, Op: topology.OpUpdate, LSN: 4000, After: topology.Some(order(1, march)), Pos: topology.Position{Offset: 1}}
	res, err := p.Changes(s, []topology.Change{snap, late}, []string{topics[0], topics[0]}, step.Emit, 1)
	require.NoError(t, err)
	require.Len(t, res.Mirrors, 2)
	assert.Equal(t, uint64(5000), res.Mirrors[0].Version)
	assert.Equal(t, uint64(5001), res.Mirrors[1].Version)

	res, err = p.Changes(s, []topology.Change{late}, []string{topics[0]}, step.Emit, 2)
	require.NoError(t, err)
	require.Len(t, res.Mirrors, 1)
	assert.Equal(t, uint64(5001), res.Mirrors[0].Version, "the stored change again: same version")
	res, err = p.Changes(s, []topology.Change{snap}, []string{topics[0]}, step.Emit, 3)
	require.NoError(t, err)
	assert.Empty(t, res.Mirrors, "an older change: ignored")
}

// TestRecordsDeadLetters: records that cannot be decoded or applied go
// to Bad with their position, the batch goes on, and the offsets pass
// them; in Replay mode they are not reported again.
func TestRecordsDeadLetters(t *testing.T) {
	s, p := newStore(0), newStep(0, 1)
	good := `{"op":"c","ts_ms":1,"source":{"lsn":100,"ts_ms":1},"before":null,"after":{"id":1,"customer_id":1,"status":"pending","channel":"web","currency":"EUR","order_date":"2024-03-05T10:00:00Z","updated_at":"2024-03-05T10:00:00Z"}}`
	recs := []step.Record{
		{Topic: topics[0], Offset: 0, Key: []byte(`{"id":1}`), Value: []byte(`{"op":`)},
		{Topic: topics[0], Offset: 1, Key: []byte(`{"id":1}`), Value: []byte(good)},
		{Topic: topics[1], Offset: 7, Key: []byte(`{"id":3}`), Value: []byte(`{"op":"x","source":{}}`)},
		{Topic: "other", Offset: 9},
	}
	res, err := p.Records(s, recs, step.Emit, 1)
	require.NoError(t, err)
	require.Len(t, res.Bad, 2)
	assert.Equal(t, 0, res.Bad[0].Index)
	assert.Equal(t, 2, res.Bad[1].Index)
	assert.NotEmpty(t, res.Bad[0].Kind)
	assert.Len(t, res.Mirrors, 1)
	assert.Equal(t, [3]int64{2, 8, 0}, res.Next)

	res, err = newStep(0, 1).Records(newStore(0), recs, step.Replay, 1)
	require.NoError(t, err)
	assert.Empty(t, res.Bad)
	assert.Empty(t, res.Mirrors)
}

// TestMisrouted: a change whose order belongs to another partition is a
// dead letter and is not applied; a run of them fails the batch.
func TestMisrouted(t *testing.T) {
	var ids []int64
	for id := int64(1); len(ids) < 4; id++ {
		if topology.OrderPartition(id, 4) != 2 {
			ids = append(ids, id)
		}
	}
	change := func(id int64, off int64) topology.Change {
		return topology.Change{Table: topology.TableOrders, Op: topology.OpCreate, LSN: uint64(off + 1), After: topology.Some(order(id, march)), Pos: topology.Position{Partition: 2, Offset: off}}
	}
	s, p := newStore(2), newStep(2, 4)
	p.MaxMisrouted = 3
	res, err := p.Changes(s, []topology.Change{change(ids[0], 0)}, []string{topics[0]}, step.Emit, 1)
	require.NoError(t, err)
	require.Len(t, res.Bad, 1)
	assert.Equal(t, step.KindMisrouted, res.Bad[0].Kind)
	assert.Empty(t, res.Mirrors, "not applied")
	assert.Equal(t, [3]int64{1, 0, 0}, res.Next, "the offset passes it")

	_, err = p.Changes(s, []topology.Change{change(ids[1], 1), change(ids[2], 2)}, []string{topics[0], topics[0]}, step.Emit, 2)
	var mis *step.MisroutedError
	require.True(t, errors.As(err, &mis), "%v", err)
	assert.Equal(t, ids[2], mis.OrderID)
	assert.Equal(t, 3, mis.Run)
	assert.Equal(t, topology.OrderPartition(ids[2], 4), mis.Want)
}

// TestMaxFacts: a call bounded by MaxFacts leaves the rest of its facts to
// Continue, each item's fact built once in all; nothing else runs
// meanwhile.
func TestMaxFacts(t *testing.T) {
	const n = 1000
	s, p := newStore(0), newStep(0, 1)
	p.MaxFacts = 300
	h := &history{}
	h.add(topology.TableOrders, topology.OpCreate, order(1, march))
	for i := range int64(n) {
		h.add(topology.TableOrderItems, topology.OpCreate, item(10+i, 1, 1000))
	}
	changes, ts := h.take()
	res, err := p.Changes(s, changes, ts, step.Emit, 1_000)
	require.NoError(t, err)
	seen := map[int64]int{}
	shares := 1
	for {
		assert.LessOrEqual(t, len(res.Facts), p.MaxFacts, "a share stops at the bound")
		for _, f := range res.Facts {
			seen[f.OrderItemID]++
		}
		if !res.More {
			break
		}
		_, err := p.Changes(s, nil, nil, step.Emit, 2_000)
		require.Error(t, err, "no new changes while facts are due")
		res, err = p.Continue(s, 2_000)
		require.NoError(t, err)
		shares++
	}
	assert.Len(t, seen, n)
	for id, c := range seen {
		assert.Equal(t, 1, c, "item %d", id)
	}
	assert.Equal(t, (n+p.MaxFacts-1)/p.MaxFacts, shares)
	assert.False(t, p.Pending())
}

// TestEmitStateRest: EmitState stops taking orders once their mirror rows
// reach MaxFacts and returns the rest.
func TestEmitStateRest(t *testing.T) {
	s, p := newStore(0), newStep(0, 1)
	h := &history{}
	for o := int64(1); o <= 3; o++ {
		h.add(topology.TableOrders, topology.OpCreate, order(o, march))
		for i := range int64(4) {
			h.add(topology.TableOrderItems, topology.OpCreate, item(o*100+i, o, 1000))
		}
	}
	changes, ts := h.take()
	_, err := p.Changes(s, changes, ts, step.Quiet, 0)
	require.NoError(t, err)
	p.MaxFacts = 6
	res, err := p.EmitState(s, []int64{1, 2, 3}, 1_000)
	require.NoError(t, err)
	assert.Equal(t, []int64{3}, res.Rest, "orders 1 and 2 give 10 mirror rows, past the bound of 6")
	assert.Len(t, res.Mirrors, 10)
	for res.More {
		res, err = p.Continue(s, 2_000)
		require.NoError(t, err)
	}
	res, err = p.EmitState(s, []int64{3}, 3_000)
	require.NoError(t, err)
	assert.Empty(t, res.Rest)
	assert.Len(t, res.Mirrors, 5)
}
