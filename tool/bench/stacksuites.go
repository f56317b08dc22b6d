package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/bench/pipeline"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// factCollector keeps copies of the facts a pipeline emits.
type factCollector struct{ facts []topology.Fact }

func (c *factCollector) Consume(_ []topology.Mirror, facts []topology.Fact) {
	c.facts = append(c.facts, facts...)
}

// runSink measures sales_facts inserts: facts made by the production
// step (bench/pipeline), appended to the sink's column block, encoded in
// the Native format and inserted over the configured transport in
// batches of the node's default size (50,000 rows), each acknowledged
// before the next. CPU is this process's (the client), not ClickHouse's.
func runSink(ctx context.Context, r *runner) error {
	if err := r.connect(ctx); err != nil {
		return err
	}
	col := &factCollector{}
	w := r.localWorkload()
	w.Customers, w.Vehicles, w.Orders = min(w.Customers, 50_000), min(w.Vehicles, 5_000), min(w.Orders, 20_000)
	w.Sink = col
	p, err := pipeline.Open(w)
	if err != nil {
		return err
	}
	err = p.Load()
	if err == nil {
		col.facts = col.facts[:0]
		err = p.Run(r.opts.ProcessEvents)
	}
	p.Close()
	if err != nil {
		return fmt.Errorf("making facts: %w", err)
	}
	facts := col.facts
	db := r.name("sink")
	r.stack.drop = append(r.stack.drop, db)
	cl, err := sinks.Dial(ctx, sinks.Config{Addr: r.opts.ClickHouse, Database: db}, r.log.Level(zerolog.WarnLevel))
	if err != nil {
		return err
	}
	defer cl.Close()
	schema, err := cl.EnsureSchema(ctx)
	if err != nil {
		return err
	}
	fw := schema.FactWriter()
	const batch = sinks.DefaultBatchRows
	samples, err := r.repeat(ctx, "sink", func(ctx context.Context, run int) (sample, error) {
		pr := newProgress(r.opts.Progress, r.opts.Terminal, fmt.Sprintf("sink run %d", run+1), int64(len(facts)))
		start, cpu0 := time.Now(), pipeline.CPUTime()
		for i := 0; i < len(facts); i += batch {
			if err := fw.Write(ctx, facts[i:min(i+batch, len(facts))]); err != nil {
				return sample{}, err
			}
			pr.update(int64(i))
		}
		el, cpu := time.Since(start), pipeline.CPUTime()-cpu0
		pr.done(fmt.Sprintf("%s facts in %v", count(int64(len(facts))), el.Round(time.Millisecond)))
		return sample{value: float64(len(facts)) / el.Seconds(), events: int64(len(facts)), cpu: cpu}, nil
	})
	if len(samples) > 0 {
		r.add(figureOf("sink", "drivetrain", "throughput", "rows/s", true, samples))
	}
	return err
}

// runCatchup measures a fresh node (new consumer group, state directory
// and ClickHouse database) reading the preloaded topics from the
// earliest offsets into ClickHouse: records per second from its start to
// its last write (and, as a second figure, to idle: lag 0, offsets
// committed). The last run's group and database stay for rebuild and the
// peers' checks.
func runCatchup(ctx context.Context, r *runner) error {
	w, err := r.prepare(ctx)
	if err != nil {
		return err
	}
	var idle []sample
	samples, err := r.repeat(ctx, "catchup", func(ctx context.Context, run int) (sample, error) {
		s, toIdle, err := r.catchupOnce(ctx, w, fmt.Sprintf("catchup run %d", run+1))
		idle = append(idle, toIdle)
		return s, err
	})
	if len(samples) > 0 {
		r.add(figureOf("catchup", "drivetrain", "throughput", "events/s", true, samples))
		r.add(figureOf("catchup", "drivetrain", "throughput to idle", "events/s", true, idle))
	}
	return err
}

// catchupOnce runs one fresh node to idle and keeps its group and
// database as the reference.
func (r *runner) catchupOnce(ctx context.Context, w *workload, label string) (toLast, toIdle sample, err error) {
	name := r.name("catchup")
	r.stack.drop, r.stack.groups = append(r.stack.drop, name), append(r.stack.groups, name)
	// The tables exist before the clock starts, as the peers' do.
	if err := r.ensureSchema(ctx, name); err != nil {
		return sample{}, sample{}, err
	}
	start := time.Now()
	n, err := r.startNode(ctx, name, name, name, "")
	if err != nil {
		return sample{}, sample{}, err
	}
	run, err := r.waitIdle(ctx, n, label, w.Records, start)
	if serr := n.stop(false); err == nil && serr != nil {
		err = fmt.Errorf("stopping the node: %w", serr)
	}
	if err != nil {
		return sample{}, sample{}, err
	}
	if old := r.stack.refDB; old != "" {
		r.dropNow(ctx, old) // the last catch-up is the reference
	}
	r.stack.refGroup, r.stack.refDB = name, name
	return sample{value: float64(w.Records) / run.toLast.Seconds(), events: w.Records, cpu: run.cpu},
		sample{value: float64(w.Records) / run.toIdle.Seconds(), events: w.Records, cpu: run.cpu}, nil
}

// reference makes sure a drivetrain catch-up of the workload exists,
// running one (not measured) when the catchup suite did not.
func (r *runner) reference(ctx context.Context) (*workload, error) {
	w, err := r.prepare(ctx)
	if err != nil {
		return nil, err
	}
	if r.stack.refDB == "" {
		if _, _, err := r.catchupOnce(ctx, w, "reference catch-up (not measured)"); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// runRebuild measures a node that joins the reference group with an
// empty state directory: it rebuilds every partition's state from the
// earliest offsets up to the committed ones without emitting, and reads
// the global tables.
func runRebuild(ctx context.Context, r *runner) error {
	w, err := r.reference(ctx)
	if err != nil {
		return err
	}
	samples, err := r.repeat(ctx, "rebuild", func(ctx context.Context, run int) (sample, error) {
		name := r.name("rebuild")
		start := time.Now()
		n, err := r.startNode(ctx, name, r.stack.refGroup, r.stack.refDB, "")
		if err != nil {
			return sample{}, err
		}
		res, err := r.waitIdle(ctx, n, fmt.Sprintf("rebuild run %d", run+1), w.Records, start)
		if serr := n.stop(false); err == nil && serr != nil {
			err = fmt.Errorf("stopping the node: %w", serr)
		}
		if err != nil {
			return sample{}, err
		}
		return sample{value: float64(res.consumed) / res.toIdle.Seconds(), events: res.consumed, cpu: res.cpu}, nil
	})
	if len(samples) > 0 {
		r.add(figureOf("rebuild", "drivetrain", "throughput", "events/s", true, samples))
	}
	return err
}
