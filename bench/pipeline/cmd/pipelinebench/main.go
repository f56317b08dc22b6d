// Command pipelinebench runs drivetrain's in-process pipeline benchmark
// (package bench/pipeline) outside go test: a measured run of -events
// records, or with -soak a long run that samples memory every -sample and
// fits the heap's growth. See the package doc of bench/pipeline for the
// command lines and the results.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/drivetrain-cdc/drivetrain/bench/pipeline"
	"github.com/drivetrain-cdc/drivetrain/state"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "pipelinebench: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pipelinebench", flag.ContinueOnError)
	var (
		opts       pipeline.Options
		events     = fs.Int64("events", 2_000_000, "streaming records to measure")
		soak       = fs.Duration("soak", 0, "run this long instead of -events, sampling memory (default $PIPELINE_SOAK)")
		sample     = fs.Duration("sample", 10*time.Second, "sampling interval of -soak")
		csvPath    = fs.String("csv", "bench/out/pipeline-soak.csv", "where -soak writes its samples")
		cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of the measured phase to this file")
		memProfile = fs.String("memprofile", "", "write a heap profile at the end to this file")
		name       = fs.String("name", "Pipeline", "benchmark name of the benchstat line")
		blockCache = fs.Int64("block-cache-mb", 0, "Pebble block cache in MiB (0: state's default, 16)")
		dimCache   = fs.Int64("dim-cache-mb", 0, "state's dimension cache in MiB (0: its default, 512; negative: off)")
		orderCache = fs.Int64("order-cache-mb", 0, "state's cache of order views and indexes per partition in MiB (0: its default, 32; negative: off)")
	)
	fs.IntVar(&opts.Customers, "customers", pipeline.DefaultCustomers, "customers in the snapshot")
	fs.IntVar(&opts.Vehicles, "vehicles", pipeline.DefaultVehicles, "vehicles in the snapshot")
	fs.IntVar(&opts.Orders, "orders", pipeline.DefaultOrders, "base orders in the snapshot (negative: none)")
	fs.IntVar(&opts.Partitions, "partitions", pipeline.DefaultPartitions, "order-stream partitions")
	fs.IntVar(&opts.Group, "group", pipeline.DefaultGroup, "records per state batch")
	fs.IntVar(&opts.Window, "window", pipeline.DefaultWindow, "recent orders the updates pick from")
	fs.BoolVar(&opts.SchemasOff, "schemas-off", false, "records without the schema envelope")
	fs.BoolVar(&opts.Sync, "sync", false, "sync every state commit")
	fs.DurationVar(&opts.CheckpointInterval, "checkpoint-interval", 5*time.Second, "stage state batches and write a checkpoint at this interval, as a node does (processor.checkpoint_interval); 0: commit every batch")
	checkpointWrite := fs.String("checkpoint-write", string(state.CheckpointWAL), "how checkpoints reach the disk, as a node's processor.state_checkpoint_write: "+
		"wal (a batch per stage through Pebble's write-ahead log), flush (no write-ahead log; each checkpoint flushes the memtables, commits included) "+
		"or ingest (an sstable per stage, ingested; commits through the log)")
	fs.BoolVar(&opts.PhaseTiming, "phase-timing", false, "time the processing step apart from the commits")
	fs.BoolVar(&opts.TraceStore, "trace-store", false, "count and time the join rules' calls into state")
	fs.Uint64Var(&opts.Seed, "seed", 1, "workload seed")
	fs.StringVar(&opts.Dir, "dir", "", "state directory (default a temporary one, removed at exit)")
	if env := os.Getenv("PIPELINE_SOAK"); env != "" {
		d, err := time.ParseDuration(env)
		if err != nil {
			return fmt.Errorf("PIPELINE_SOAK: %q is not a duration", env)
		}
		*soak = d
	}
	// Parse errors are returned as one line; -h prints the flags.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: pipelinebench [flags]")
			fs.PrintDefaults()
		}
		return err
	}
	opts.BlockCacheBytes, opts.DimensionCacheBytes, opts.OrderCacheBytes = *blockCache<<20, *dimCache<<20, *orderCache<<20
	opts.CheckpointWrite = state.CheckpointWrite(*checkpointWrite)
	switch {
	case !opts.CheckpointWrite.Valid() || opts.CheckpointWrite == "":
		return fmt.Errorf("-checkpoint-write: %q is not one of %s", *checkpointWrite, state.CheckpointWritesText())
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *events <= 0 && *soak <= 0:
		return fmt.Errorf("-events: %d is not positive", *events)
	case *soak < 0:
		return fmt.Errorf("-soak: %v is negative", *soak)
	case *sample <= 0:
		return fmt.Errorf("-sample: %v is not positive", *sample)
	case *blockCache < 0:
		return fmt.Errorf("-block-cache-mb: %d is negative", *blockCache)
	}

	p, err := pipeline.Open(opts)
	if err != nil {
		return err
	}
	defer p.Close()
	o := p.Options()
	fmt.Fprintf(stdout, "# GOMAXPROCS %d, %s; checkpoints every %v, written by %s\n", runtime.GOMAXPROCS(0), loadAverage(), o.CheckpointInterval, o.CheckpointWrite)
	fmt.Fprintf(stdout, "# loading %d customers, %d vehicles, %d base orders into %s\n", o.Customers, o.Vehicles, o.Orders, p.Dir())
	start := time.Now()
	if err := p.Load(); err != nil {
		return err
	}
	runtime.GC()
	m := pipeline.ReadMemory()
	fmt.Fprintf(stdout, "# loaded in %v: RSS %.0f MB (peak %.0f MB), Go heap live %.0f MB; pebble wrote WAL %.0f MB, tables %.0f MB\n",
		time.Since(start).Round(time.Millisecond), pipeline.MB(m.RSS), pipeline.MB(m.HWM), pipeline.MB(m.HeapLive),
		pipeline.MB(p.DiskWrites().WAL), pipeline.MB(p.DiskWrites().Tables))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("starting CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer writeHeapProfile(*memProfile)
	}
	if *soak > 0 {
		return runSoak(p, *soak, *sample, *csvPath, stdout)
	}
	trace0 := p.Trace()
	res, err := p.Measure(*events)
	if err != nil {
		return err
	}
	res.Write(stdout)
	if o.TraceStore {
		fmt.Fprintln(stdout, "state calls of the measured run:")
		tr := p.Trace()
		for op := range tr.Calls {
			tr.Calls[op] -= trace0.Calls[op]
			tr.Time[op] -= trace0.Time[op]
		}
		tr.Write(stdout, res.Stats.Events)
	}
	cs := p.Store().CacheStats()
	fmt.Fprintf(stdout, "# state caches since open: dimensions %d hits, %d misses, %d entries; order views %d hits, %d misses, %d entries, %d bytes; index reads from memory %d\n",
		cs.Hits, cs.Misses, cs.Entries, cs.OrderHits, cs.OrderMisses, cs.OrderEntries, cs.OrderBytes, cs.IndexHits)
	fmt.Fprintf(stdout, "# %s\n", loadAverage())
	schemas := "on"
	if o.SchemasOff {
		schemas = "off"
	}
	// One line benchstat reads; ns/op is per record, generation excluded.
	fmt.Fprintf(stdout, "Benchmark%s/schemas=%s/group=%d %d %.1f ns/op %.0f cpu-ns/op %.0f events/s %.2f allocs/op %.0f B/op %.1f rss-MB %.1f heap-MB %.2f w-amp\n",
		*name, schemas, o.Group, res.Stats.Events, res.PerEvent(float64(res.Net().Nanoseconds())),
		res.PerEvent(float64(res.CPU.Nanoseconds())), res.EventsPerSec(),
		res.PerEvent(float64(res.Allocs)), res.PerEvent(float64(res.AllocBytes)),
		pipeline.MB(res.Memory.RSS), pipeline.MB(res.Memory.HeapLive), res.Disk.WriteAmp())
	return nil
}

func runSoak(p *pipeline.Pipeline, d, every time.Duration, csvPath string, stdout io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(csvPath), 0o755); err != nil {
		return fmt.Errorf("-csv: %w", err)
	}
	f, err := os.Create(csvPath)
	if err != nil {
		return fmt.Errorf("-csv: %w", err)
	}
	defer f.Close()
	fmt.Fprintln(f, pipeline.CSVHeader)
	fmt.Fprintf(stdout, "# soak for %v, a sample every %v into %s\n%s\n", d, every, csvPath, pipeline.CSVHeader)
	var samples []pipeline.Sample
	err = p.RunFor(d, every, func(s pipeline.Sample) error {
		samples = append(samples, s)
		line := s.CSV()
		fmt.Fprintln(stdout, line)
		_, err := fmt.Fprintln(f, line)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s\n", loadAverage())
	writeGrowth(stdout, samples)
	return f.Close()
}

// writeGrowth fits the heap and RSS series over the whole run and over
// its second half (after the caches have filled).
func writeGrowth(w io.Writer, samples []pipeline.Sample) {
	fit := func(from int, get func(pipeline.Sample) int64) (slope, first, last float64) {
		var x, y []float64
		for _, s := range samples[from:] {
			x = append(x, s.Elapsed.Minutes())
			y = append(y, pipeline.MB(get(s)))
		}
		return pipeline.Slope(x, y), y[0], y[len(y)-1]
	}
	series := []struct {
		name string
		get  func(pipeline.Sample) int64
	}{
		{"heap live", func(s pipeline.Sample) int64 { return s.Memory.HeapLive }},
		{"heap in use", func(s pipeline.Sample) int64 { return s.Memory.HeapObjects }},
		{"RSS", func(s pipeline.Sample) int64 { return s.Memory.RSS }},
	}
	for _, half := range []struct {
		name string
		from int
	}{{"whole run", 0}, {"second half", len(samples) / 2}} {
		if len(samples)-half.from < 2 {
			continue
		}
		var parts []string
		for _, s := range series {
			slope, first, last := fit(half.from, s.get)
			parts = append(parts, fmt.Sprintf("%s %+.2f MB/min (%.0f → %.0f MB)", s.name, slope, first, last))
		}
		fmt.Fprintf(w, "# growth, %s: %s\n", half.name, strings.Join(parts, "; "))
	}
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pipelinebench: -memprofile: %v\n", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "pipelinebench: writing heap profile: %v\n", err)
	}
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "load average unknown"
	}
	return "load average " + strings.Join(f[:3], " ")
}
