package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drivetrain-cdc/drivetrain/bench/pipeline"
	"github.com/drivetrain-cdc/drivetrain/topology/debezium"
)

// The in-process suites (decode, process, scale, soak) need no stack: their records
// are bench/pipeline's, rendered byte for byte as Debezium writes them.

// localWorkload sizes the state of the in-process suites.
// Records are rendered as the shipped connector writes them: values
// without their schema.
func (r *runner) localWorkload() pipeline.Options {
	if r.opts.Quick {
		return pipeline.Options{Customers: 20_000, Vehicles: 2_000, Orders: 10_000, SchemasOff: true}
	}
	// bench/pipeline's sizes: 1,000,000 customers, 100,000 vehicles,
	// 200,000 orders.
	return pipeline.Options{SchemasOff: true}
}

// recordSet holds generated records in one buffer.
type recordSet struct {
	buf  []byte
	recs []struct {
		topic                int
		keyStart, valueStart int
		end                  int
	}
	topics []string
}

func generateRecords(opts pipeline.Options, prefix string, total int64) (*recordSet, error) {
	rs := &recordSet{}
	index := map[string]int{}
	err := pipeline.Records(opts, prefix, total, func(topic string, _ int32, key, value []byte) error {
		t, ok := index[topic]
		if !ok {
			t = len(rs.topics)
			index[topic] = t
			rs.topics = append(rs.topics, topic)
		}
		k := len(rs.buf)
		rs.buf = append(rs.buf, key...)
		v := len(rs.buf)
		rs.buf = append(rs.buf, value...)
		rs.recs = append(rs.recs, struct {
			topic                int
			keyStart, valueStart int
			end                  int
		}{t, k, v, len(rs.buf)})
		return nil
	})
	return rs, err
}

// runDecode measures the Debezium decoder alone: records of the
// streaming mix (and a small snapshot) decoded into typed changes, as a
// partition actor decodes them (debezium.Options.SkipUpdateBefore).
func runDecode(ctx context.Context, r *runner) error {
	const prefix = "ecommerce"
	// A snapshot of about a fifth of the records; the rest is the
	// streaming mix.
	n := int(r.opts.ProcessEvents)
	w := pipeline.Options{Customers: max(100, n/20), Vehicles: max(10, n/200), Orders: max(10, n/40), SchemasOff: true}
	rs, err := generateRecords(w, prefix, r.opts.ProcessEvents)
	if err != nil {
		return fmt.Errorf("generating records: %w", err)
	}
	dec := debezium.NewDecoder(debezium.Options{TopicPrefix: prefix, SkipUpdateBefore: true})
	var ch debezium.Change
	samples, err := r.repeat(ctx, "decode", func(ctx context.Context, run int) (sample, error) {
		p := newProgress(r.opts.Progress, r.opts.Terminal, fmt.Sprintf("decode run %d", run+1), int64(len(rs.recs)))
		start, cpu0 := time.Now(), pipeline.CPUTime()
		for i, rec := range rs.recs {
			if err := dec.Decode(rs.topics[rec.topic], rs.buf[rec.keyStart:rec.valueStart], rs.buf[rec.valueStart:rec.end], &ch); err != nil {
				return sample{}, fmt.Errorf("record %d: %w", i, err)
			}
			if i%4096 == 0 {
				p.update(int64(i))
			}
		}
		el, cpu := time.Since(start), pipeline.CPUTime()-cpu0
		n := int64(len(rs.recs))
		p.done(fmt.Sprintf("%s records in %v", count(n), el.Round(time.Millisecond)))
		return sample{value: float64(n) / el.Seconds(), events: n, cpu: cpu}, nil
	})
	if len(samples) > 0 {
		f := figureOf("decode", "drivetrain", "throughput", "events/s", true, samples)
		f.Events = int64(len(rs.recs))
		r.add(f)
	}
	return err
}

// runProcess measures the production processing step in process
// (bench/pipeline): decoding, the join rules and the Pebble state, with a
// counting sink, after a snapshot load that is not measured.
func runProcess(ctx context.Context, r *runner) error {
	p, err := r.loadedPipeline("process", asNode(r.localWorkload()))
	if err != nil {
		return err
	}
	defer p.Close()
	samples, err := r.measureSteps(ctx, p, "process")
	if len(samples) > 0 {
		r.add(figureOf("process", "drivetrain", "throughput", "events/s", true, samples))
	}
	return err
}

// loadedPipeline opens a pipeline of w and loads its snapshot (not
// measured), saying so on the progress output.
func (r *runner) loadedPipeline(suite string, w pipeline.Options) (*pipeline.Pipeline, error) {
	p, err := pipeline.Open(w)
	if err != nil {
		return nil, err
	}
	o := p.Options()
	fmt.Fprintf(r.opts.Progress, "%s: loading %s customers, %s vehicles, %s orders (not measured)\n",
		suite, count(int64(o.Customers)), count(int64(o.Vehicles)), count(int64(o.Orders)))
	if err := p.Load(); err != nil {
		return nil, errors.Join(fmt.Errorf("loading the snapshot: %w", err), p.Close())
	}
	return p, nil
}

// measureSteps measures Options.ProcessEvents records of the streaming
// mix through p, Runs times, in slices of 20,000 so that progress shows
// (each slice a measured run of the same pipeline); the time spent
// generating the records is not counted.
func (r *runner) measureSteps(ctx context.Context, p *pipeline.Pipeline, label string) ([]sample, error) {
	n := r.opts.ProcessEvents
	return r.repeat(ctx, label, func(ctx context.Context, run int) (sample, error) {
		pr := newProgress(r.opts.Progress, r.opts.Terminal, fmt.Sprintf("%s run %d", label, run+1), n)
		// Measure in slices so that progress shows; each slice is a
		// measured run of the same pipeline.
		var total pipeline.Result
		for done := int64(0); done < n; {
			if err := ctx.Err(); err != nil {
				return sample{}, err
			}
			res, err := p.Measure(min(n-done, 20_000))
			if err != nil {
				return sample{}, err
			}
			done += res.Stats.Events
			total.Stats.Events += res.Stats.Events
			total.Stats.GenerateTime += res.Stats.GenerateTime
			total.Elapsed += res.Elapsed
			total.CPU += res.CPU
			pr.update(done)
		}
		pr.done(fmt.Sprintf("%s events in %v (%v generating them, not counted)", count(total.Stats.Events),
			total.Net().Round(time.Millisecond), total.Stats.GenerateTime.Round(time.Millisecond)))
		return sample{value: total.EventsPerSec(), events: total.Stats.Events, cpu: total.CPU - total.Stats.GenerateTime}, nil
	})
}

// runSoak runs the processing step (as process does) for Options.Soak,
// reading the rate (without generating the records, as process) and
// the memory every tenth of it: the series show whether either drifts. Its figures are the median rate of the readings,
// the RSS at the end and the Go heap's growth over the second half
// (least squares, MB per minute).
func runSoak(ctx context.Context, r *runner) error {
	p, err := r.loadedPipeline("soak", asNode(r.localWorkload()))
	if err != nil {
		return err
	}
	defer p.Close()
	d := r.opts.Soak
	pr := newProgress(r.opts.Progress, r.opts.Terminal, "soak (seconds)", int64(d.Seconds()))
	var t, rate, rss, heap []float64
	var last pipeline.Sample
	cpu0 := pipeline.CPUTime()
	err = p.RunFor(d, d/10, func(s pipeline.Sample) error {
		// The rate without generating the records, as process measures.
		net := (s.Elapsed - last.Elapsed) - (s.Stats.GenerateTime - last.Stats.GenerateTime)
		t = append(t, s.Elapsed.Seconds())
		rate = append(rate, float64(s.Stats.Events-last.Stats.Events)/net.Seconds())
		rss = append(rss, pipeline.MB(s.Memory.RSS))
		heap = append(heap, pipeline.MB(s.Memory.HeapLive))
		last = s
		pr.update(int64(s.Elapsed.Seconds()))
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	cpu := pipeline.CPUTime() - cpu0 - last.Stats.GenerateTime
	pr.done(fmt.Sprintf("%s events in %v, RSS %.0f MB at the end", count(last.Stats.Events), last.Elapsed.Round(time.Second), pipeline.MB(last.Memory.RSS)))
	add := func(name, unit string, higher bool, v float64) {
		r.add(figureOf("soak", "drivetrain", name, unit, higher, []sample{{value: v, events: last.Stats.Events}}))
	}
	med, _, _ := summarize(rate)
	r.add(figureOf("soak", "drivetrain", "throughput", "events/s", true, []sample{{value: med, events: last.Stats.Events, cpu: cpu}}))
	add("RSS at the end", "MB", false, pipeline.MB(last.Memory.RSS))
	half := len(t) / 2
	add("Go heap growth, second half", "MB/min", false, 60*pipeline.Slope(t[half:], heap[half:]))
	for _, s := range []struct {
		name, unit string
		v          []float64
	}{{"rate", "events/s", rate}, {"RSS", "MB", rss}, {"Go heap live", "MB", heap}} {
		r.res.Series = append(r.res.Series, Series{Suite: "soak", System: "drivetrain", Name: s.name, Unit: s.unit, T: t, Values: s.v})
	}
	return nil
}
