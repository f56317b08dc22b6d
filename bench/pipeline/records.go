package pipeline

import "github.com/drivetrain-cdc/drivetrain/topology"

// Records generates the workload of opts without processing it, for
// harnesses that load it elsewhere (Kafka topics, a decoder): the snapshot
// (every customer and vehicle, then the base orders with their items and
// payments), then streaming records until total records were generated
// (the snapshot alone when it is larger), in the order a Pipeline sees
// them. Topics are named <prefix>.public.<table>, and the records' schema
// names and source.name carry prefix, as Debezium's topic.prefix does.
// Records of orders, order items and payments go to partition order id
// modulo Options.Partitions (topology.OrderPartition for these ids),
// customers and vehicles to id modulo Options.Partitions. fn receives
// each record's topic, partition, key and value; key and value are valid
// only during the call. The first error of fn stops the generation and is
// returned.
func Records(opts Options, prefix string, total int64, fn func(topic string, partition int32, key, value []byte) error) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	opts.setDefaults()
	r, err := newRenderer(prefix, "ecommerce", !opts.SchemasOff)
	if err != nil {
		return err
	}
	g := newGenerator(r, opts.Seed, int64(opts.Customers), int64(opts.Vehicles), int64(max(opts.Orders, 0)), int32(opts.Partitions), opts.Window)
	e := &recordEmitter{r: r, fn: fn}
	for !g.snapshotDone() && e.err == nil {
		g.nextSnapshot(e)
	}
	for e.n < total && e.err == nil {
		g.next(e)
	}
	return e.err
}

// recordEmitter passes each generated record to a function, reusing one
// buffer.
type recordEmitter struct {
	r   *renderer
	fn  func(topic string, partition int32, key, value []byte) error
	buf []byte
	n   int64
	err error
}

func (e *recordEmitter) buffer(topology.Table, int32) []byte { return e.buf[:0] }

func (e *recordEmitter) emit(t topology.Table, partition int32, _ int64, buf []byte, keyStart, valueStart int) {
	e.buf = buf
	e.n++
	if e.err == nil {
		e.err = e.fn(e.r.topic(t), partition, buf[keyStart:valueStart], buf[valueStart:])
	}
}
