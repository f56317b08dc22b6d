package bench

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/bench/pipeline"
)

// asNode runs the in-process state as a node does by default: commits
// synced (processor.state_no_sync false) and a checkpoint every
// processor.checkpoint_interval (5 s), with the node's memory budgets
// (state_dimension_cache_bytes, state_order_cache_bytes).
func asNode(o pipeline.Options) pipeline.Options {
	o.Sync = true
	o.CheckpointInterval = actors.DefaultCheckpointInterval
	return o
}

// scaleSizes are the customer counts of the scale suite.
func (r *runner) scaleSizes() []int {
	if r.opts.Quick {
		return []int{10_000, 100_000, 1_000_000}
	}
	return []int{100_000, 1_000_000, 10_000_000}
}

// runScale measures how the processing step's cost grows with the
// state: the process suite's measurement (vehicles and orders at their
// default sizes) for each count of customers, with the events/s, the
// RSS and the Go heap after the runs. The largest count does not fit the
// node's default memory budget for customers and vehicles
// (state_dimension_cache_bytes, 512 MiB): its reads go through to Pebble.
// The sizes run in one process, smallest first, with the memory of the
// previous size returned to the system before the next; the RSS includes
// the generator of the records (a few MB).
func runScale(ctx context.Context, r *runner) error {
	for _, customers := range r.scaleSizes() {
		if err := r.scaleOnce(ctx, customers); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.fail("scale", "", fmt.Errorf("%s customers: %w", count(int64(customers)), err))
		}
	}
	return nil
}

func (r *runner) scaleOnce(ctx context.Context, customers int) error {
	runtime.GC()
	debug.FreeOSMemory()
	w := asNode(r.localWorkload())
	w.Customers = customers
	p, err := r.loadedPipeline("scale", w)
	if err != nil {
		return err
	}
	defer p.Close()
	samples, err := r.measureSteps(ctx, p, fmt.Sprintf("scale %s customers", count(int64(customers))))
	if err != nil {
		return err
	}
	runtime.GC()
	m := pipeline.ReadMemory()
	add := func(f Figure) {
		f.Customers = int64(customers)
		r.add(f)
	}
	add(figureOf("scale", "drivetrain", "throughput", "events/s", true, samples))
	add(figureOf("scale", "drivetrain", "RSS", "MB", false, []sample{{value: pipeline.MB(m.RSS)}}))
	add(figureOf("scale", "drivetrain", "Go heap live", "MB", false, []sample{{value: pipeline.MB(m.HeapLive)}}))
	add(figureOf("scale", "drivetrain", "disk", "MB", false, []sample{{value: pipeline.MB(dirSize(p.Dir()))}}))
	return nil
}

// dirSize is the size of the files under dir (0 when unreadable).
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
