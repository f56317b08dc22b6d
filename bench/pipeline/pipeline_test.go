package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
	"github.com/drivetrain-cdc/drivetrain/topology/topologytest"
)

// testSink keeps what sales_facts and the mirror tables would hold.
type testSink struct{ *topologytest.Sink }

func (s testSink) Consume(mirrors []topology.Mirror, facts []topology.Fact) {
	s.InsertRows(mirrors, facts)
}

func openTest(t *testing.T, opts Options) *Pipeline {
	t.Helper()
	opts.Dir = t.TempDir()
	p, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	require.NoError(t, p.Load())
	return p
}

// TestScriptedFacts runs a hand-written history, one record per state
// batch, and checks the rows each record emits.
func TestScriptedFacts(t *testing.T) {
	sink := testSink{topologytest.NewSink()}
	p := openTest(t, Options{Customers: 2, Vehicles: 2, Orders: -1, Partitions: 2, Group: 1, Window: 4, Sink: sink})
	g := p.gen
	order := func(id, customer int64, status string) *topology.Row {
		r := topology.OrderRow(topology.Order{ID: id, CustomerID: customer, Status: status, Channel: "web", Currency: "EUR", OrderDate: 1_700_000_000_000_000})
		return &r
	}
	item := func(id, orderID, vehicle int64, discount int64) *topology.Row {
		r := topology.ItemRow(topology.OrderItem{ID: id, OrderID: orderID, VehicleID: vehicle, Quantity: 1,
			UnitPrice: topology.NewDecimal(2_000_000, 2), Discount: topology.NewDecimal(discount, 2)})
		return &r
	}
	pay := func(status string) *topology.Row {
		r := topology.PaymentRow(topology.Payment{ID: 1, OrderID: 1, Amount: topology.NewDecimal(1_000_000, 2), Method: "cash", Status: status})
		return &r
	}
	customer := func(id int64, ver uint8) *topology.Row {
		r := topology.CustomerRow(g.customer(id, ver))
		return &r
	}
	vehicle := func(id int64, ver uint8) *topology.Row {
		r := topology.VehicleRow(g.vehicle(id, ver))
		return &r
	}
	steps := []struct {
		name           string
		table          topology.Table
		op             topology.Op
		id, route      int64
		before, after  *topology.Row
		facts, deletes int
	}{
		{"order 1 created", topology.TableOrders, topology.OpCreate, 1, 1, nil, order(1, 1, "pending"), 0, 0},
		{"item 1 created", topology.TableOrderItems, topology.OpCreate, 1, 1, nil, item(1, 1, 1, 0), 1, 0},
		{"item 2 created: siblings too", topology.TableOrderItems, topology.OpCreate, 2, 1, nil, item(2, 1, 2, 0), 2, 0},
		{"payment created", topology.TablePayments, topology.OpCreate, 1, 1, nil, pay("pending"), 2, 0},
		{"payment approved", topology.TablePayments, topology.OpUpdate, 1, 1, pay("pending"), pay("approved"), 2, 0},
		{"order paid", topology.TableOrders, topology.OpUpdate, 1, 1, order(1, 1, "pending"), order(1, 1, "paid"), 2, 0},
		{"item 1 discounted", topology.TableOrderItems, topology.OpUpdate, 1, 1, item(1, 1, 1, 0), item(1, 1, 1, 50_000), 2, 0},
		{"item 2 deleted", topology.TableOrderItems, topology.OpDelete, 2, 1, item(2, 1, 2, 0), nil, 2, 1},
		{"customer 1 updated", topology.TableCustomers, topology.OpUpdate, 1, 1, customer(1, 0), customer(1, 1), 1, 0},
		{"vehicle 1 updated", topology.TableVehicles, topology.OpUpdate, 1, 1, vehicle(1, 0), vehicle(1, 1), 1, 0},
		{"vehicle 2 updated: its item is gone", topology.TableVehicles, topology.OpUpdate, 2, 2, vehicle(2, 0), vehicle(2, 1), 0, 0},
		{"customer 2 updated: no orders", topology.TableCustomers, topology.OpUpdate, 2, 2, customer(2, 0), customer(2, 1), 0, 0},
		{"item 3 before its order", topology.TableOrderItems, topology.OpCreate, 3, 2, nil, item(3, 2, 2, 0), 0, 0},
		{"order 2 created", topology.TableOrders, topology.OpCreate, 2, 2, nil, order(2, 2, "pending"), 1, 0},
	}
	lsn := int64(90_000_000)
	for i, st := range steps {
		lsn += 100
		src := source{op: st.op, lsn: lsn, txID: int64(5_000 + i), sourceUs: int64(g.clock) + int64(i)*1_000_000}
		src.envNs = src.sourceUs * 1000
		before := p.Stats()
		g.write(p, st.table, st.id, st.route, &src, st.before, st.after)
		require.NoError(t, p.processReady(), st.name)
		d := p.Stats().Sub(before)
		assert.EqualValues(t, 1, d.Events, st.name)
		assert.EqualValues(t, 1, d.Mirrors, st.name)
		assert.EqualValues(t, st.facts, d.Facts, st.name)
	}
	var deletes int
	for _, f := range sink.Facts() {
		if f.Deleted {
			deletes++
		}
	}
	assert.Equal(t, 1, deletes)
	current := sink.CurrentFacts()
	require.Len(t, current, 2)
	assert.Equal(t, int64(1), current[0].OrderItemID)
	assert.Equal(t, "partial", current[0].PaymentStatus) // 10,000.00 approved of 19,500.00
	assert.Equal(t, int64(3), current[1].OrderItemID)
	assert.Equal(t, "unpaid", current[1].PaymentStatus)
	assert.Empty(t, sink.Regressions())
}

// TestMatchesReference runs the generated workload through the pipeline
// and the same records, one at a time in generation order, through
// topologytest's in-memory processor, and compares sales_facts_current:
// the number of fact rows is the number of live items, and every fact is
// the reference's.
func TestMatchesReference(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"schemas on", Options{Customers: 300, Vehicles: 40, Orders: -1, Partitions: 3, Group: 7, Window: 60, Seed: 7}},
		{"schemas off, a batch per record", Options{Customers: 200, Vehicles: 30, Orders: -1, Partitions: 2, Group: 1, Window: 30, Seed: 8, SchemasOff: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := testSink{topologytest.NewSink()}
			tt.opts.Sink = sink
			p := openTest(t, tt.opts)
			var generated int
			for generated < 3_000 {
				n, err := p.Step()
				require.NoError(t, err)
				generated += n
			}
			require.NoError(t, p.Flush())
			st := p.Stats()
			assert.EqualValues(t, generated, st.Events)
			assert.Greater(t, st.Facts, st.Events/2)
			assert.Empty(t, sink.Regressions())

			live := p.gen.itemsCreated - p.gen.itemsDeleted
			t.Logf("%d events, %d facts, %d mirrors, %d live items of %d", st.Events, st.Facts, st.Mirrors, live, p.gen.itemsCreated)
			current := sink.CurrentFacts()
			assert.EqualValues(t, live, len(current), "one current fact per live item")

			ref := reference(t, p.Options(), generated)
			assert.Equal(t, ref.CurrentFacts(), current)
		})
	}
}

// reference regenerates the pipeline's records with a generator of the
// same options and applies them one by one with topologytest.Processor.
func reference(t *testing.T, opts Options, events int) *topologytest.Sink {
	t.Helper()
	r, err := newRenderer(topicPrefix, "ecommerce", !opts.SchemasOff)
	require.NoError(t, err)
	g := newGenerator(r, opts.Seed, int64(opts.Customers), int64(opts.Vehicles), int64(max(opts.Orders, 0)), int32(opts.Partitions), opts.Window)
	var clock uint64
	e := &refEmitter{
		t:   t,
		dec: debezium.NewDecoder(debezium.Options{TopicPrefix: topicPrefix}),
		proc: &topologytest.Processor{
			Backend:    topologytest.NewMemBackend(),
			Sink:       topologytest.NewSink(),
			Partitions: int32(opts.Partitions),
			Clock:      func() uint64 { clock++; return clock },
		},
	}
	for !g.snapshotDone() {
		g.nextSnapshot(e)
	}
	for range events {
		g.next(e)
	}
	require.NoError(t, e.proc.CommitAll())
	return e.proc.Sink
}

type refEmitter struct {
	t    *testing.T
	buf  []byte
	dec  *debezium.Decoder
	dch  debezium.Change
	proc *topologytest.Processor
}

func (e *refEmitter) buffer(topology.Table, int32) []byte { return e.buf[:0] }

func (e *refEmitter) emit(t topology.Table, partition int32, offset int64, buf []byte, keyStart, valueStart int) {
	e.buf = buf
	topic := topicPrefix + ".public." + t.String()
	require.NoError(e.t, e.dec.Decode(topic, buf[keyStart:valueStart], buf[valueStart:], &e.dch))
	e.dch.Detach()
	rec := topologytest.Record{Topic: topic}
	e.dch.ToTopology(topology.Position{Partition: partition, Offset: offset}, &rec.Change)
	require.NoError(e.t, e.proc.Process(&rec))
}
