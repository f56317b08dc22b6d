package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Suites lists the suites in the order a run takes them.
var Suites = []string{"decode", "process", "scale", "soak", "sink", "catchup", "rebuild", "restart", "freshness", "peers"}

// Options configure a run of the suite. The zero value runs the full
// suite on the local stack's default addresses.
type Options struct {
	// Suites to run, a subset of Suites; default all.
	Suites []string
	// Quick runs a small version of each suite (a few minutes in all).
	Quick bool
	// Runs is the number of runs whose median makes each figure; default
	// 3.
	Runs int
	// Events is the size of the workload preloaded into the topics of
	// TopicPrefix (records); default 1,000,000 (100,000 with Quick).
	Events int64
	// ProcessEvents is the number of records of each in-process run
	// (decode, process, scale, sink); default 500,000 (50,000 with Quick).
	ProcessEvents int64
	// Soak is how long the soak suite runs the processing step; default
	// 10 minutes (30 s with Quick).
	Soak time.Duration
	// Rates is the freshness suite's ladder of changes per second;
	// default 500, 1000, 2000, 4000 (500, 2000 with Quick).
	Rates []float64
	// TopicPrefix names the benchmark's topics (<prefix>.public.<table>)
	// and prefixes its consumer groups and ClickHouse databases; default
	// "drivetrain_bench". The suite never touches other topics.
	TopicPrefix string
	// Out is the directory of the results; default
	// bench/out/<UTC timestamp>.
	Out string
	// Kafka is the brokers' address list; ClickHouse the HTTP URL of
	// ClickHouse; PostgresDSN the source database (freshness); Connect
	// Kafka Connect's REST URL (freshness).
	Kafka       []string
	ClickHouse  string
	PostgresDSN string
	Connect     string
	// Drivetrain is the drivetrain binary the node suites start; default
	// this executable.
	Drivetrain string
	// PeersDir holds the peers (bench/peers); default bench/peers.
	PeersDir string
	// StackDir holds what the peers install (the Python virtual
	// environment); default .stack.
	StackDir string
	// Command is the command line, recorded in the results.
	Command string
	// Progress receives the progress lines (stderr); Terminal says
	// whether it is a terminal (lines are then rewritten in place).
	Progress io.Writer
	Terminal bool
	// Log receives the lifecycle lines of the suite.
	Log zerolog.Logger
}

// ErrUnknownSuite is wrapped by the error of a suite name not in Suites.
var ErrUnknownSuite = errors.New("unknown suite")

func (o *Options) setDefaults() {
	if len(o.Suites) == 0 {
		o.Suites = Suites
	}
	if o.Runs == 0 {
		o.Runs = 3
	}
	if o.Events == 0 {
		o.Events = 1_000_000
		if o.Quick {
			o.Events = 100_000
		}
	}
	if o.ProcessEvents == 0 {
		o.ProcessEvents = 500_000
		if o.Quick {
			o.ProcessEvents = 50_000
		}
	}
	if o.Soak == 0 {
		o.Soak = 10 * time.Minute
		if o.Quick {
			o.Soak = 30 * time.Second
		}
	}
	if len(o.Rates) == 0 {
		o.Rates = []float64{500, 1000, 2000, 4000}
		if o.Quick {
			o.Rates = []float64{500, 2000}
		}
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = "drivetrain_bench"
	}
	if o.Out == "" {
		o.Out = filepath.Join("bench", "out", time.Now().UTC().Format("20060102T150405Z"))
	}
	if o.PeersDir == "" {
		o.PeersDir = filepath.Join("bench", "peers")
	}
	if o.StackDir == "" {
		o.StackDir = ".stack"
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Validate reports the first invalid option, by name.
func (o Options) Validate() error {
	for _, s := range o.Suites {
		if !slices.Contains(Suites, s) {
			return fmt.Errorf("%w %q (suites: %s)", ErrUnknownSuite, s, strings.Join(Suites, ", "))
		}
	}
	switch {
	case o.Runs < 0:
		return fmt.Errorf("runs: %d is negative", o.Runs)
	case o.Events < 0:
		return fmt.Errorf("events: %d is negative", o.Events)
	case o.Soak < 0:
		return fmt.Errorf("soak: %v is negative", o.Soak)
	case o.ProcessEvents < 0:
		return fmt.Errorf("process events: %d is negative", o.ProcessEvents)
	}
	for _, r := range o.Rates {
		if r <= 0 {
			return fmt.Errorf("rates: %g is not positive", r)
		}
	}
	return nil
}

// runner carries a run's options and collects its results.
type runner struct {
	opts Options
	res  *Results
	log  zerolog.Logger
	// stack is the shared state of the suites that use the local stack
	// (preloaded topics, drivetrain's facts for the peers' checks).
	stack stackState
}

// suiteFunc runs one suite, adding its figures to r.res.
type suiteFunc func(ctx context.Context, r *runner) error

var suiteFuncs = map[string]suiteFunc{
	"decode":    runDecode,
	"process":   runProcess,
	"scale":     runScale,
	"soak":      runSoak,
	"sink":      runSink,
	"catchup":   runCatchup,
	"rebuild":   runRebuild,
	"restart":   runRestart,
	"freshness": runFreshness,
	"peers":     runPeers,
}

// Run runs the suites of opts and writes results.json, report.md and the
// plots into opts.Out. A suite that fails is recorded in
// Results.Failures and the run goes on; Run returns an error only when
// nothing could be written, or when ctx was cancelled.
func Run(ctx context.Context, opts Options) (*Results, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", opts.Out, err)
	}
	r := &runner{opts: opts, log: opts.Log.With().Str("component", "bench").Logger()}
	r.res = &Results{
		Schema:  SchemaVersion,
		Started: time.Now().UTC(),
		Command: opts.Command,
		Settings: Settings{
			Suites: opts.Suites, Quick: opts.Quick, Runs: opts.Runs, Events: opts.Events,
			ProcessEvents: opts.ProcessEvents, TopicPrefix: opts.TopicPrefix,
		},
		Machine: readMachine(),
		Dir:     opts.Out,
	}
	if slices.Contains(opts.Suites, "freshness") {
		r.res.Settings.Rates = opts.Rates
	}
	if slices.Contains(opts.Suites, "soak") {
		r.res.Settings.SoakSeconds = opts.Soak.Seconds()
	}
	defer r.stack.close(opts.Progress)
	for _, name := range Suites {
		if !slices.Contains(opts.Suites, name) {
			continue
		}
		fmt.Fprintf(opts.Progress, "== %s (%d of %d suites)\n", name, position(opts.Suites, name), len(opts.Suites))
		start := time.Now()
		err := suiteFuncs[name](ctx, r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			r.fail(name, "", err)
		}
		fmt.Fprintf(opts.Progress, "== %s done in %v\n", name, time.Since(start).Round(time.Second))
		// What is measured so far is kept should a later suite not end
		// (results.json without "finished").
		if err := r.res.WriteFile(filepath.Join(opts.Out, "results.json")); err != nil {
			r.log.Warn().Err(err).Msg("writing the results so far")
		}
	}
	r.res.Finished = time.Now().UTC()
	r.res.Machine.LoadAfter = loadAverage()
	if err := r.write(); err != nil {
		return r.res, err
	}
	return r.res, nil
}

func position(list []string, name string) int {
	n := 0
	for _, s := range Suites {
		if slices.Contains(list, s) {
			n++
		}
		if s == name {
			return n
		}
	}
	return n
}

// fail records a suite's or a system's failure.
func (r *runner) fail(suite, system string, err error) {
	r.log.Error().Err(err).Str("suite", suite).Str("system", system).Msg("suite failed")
	fmt.Fprintf(r.opts.Progress, "%s: FAILED: %v\n", strings.TrimSuffix(suite+"/"+system, "/"), err)
	r.res.Failures = append(r.res.Failures, Failure{Suite: suite, System: system, Error: err.Error()})
}

// add records a figure and prints it.
func (r *runner) add(f Figure) {
	r.res.Figures = append(r.res.Figures, f)
	line := fmt.Sprintf("%s/%s %s: %s %s (min %s, max %s, %d runs)", f.Suite, f.System, f.Name,
		num(f.Median), f.Unit, num(f.Min), num(f.Max), len(f.Runs))
	if f.CPUSecondsPerMillion > 0 {
		line += fmt.Sprintf("; %.1f CPU s per million events", f.CPUSecondsPerMillion)
	}
	fmt.Fprintln(r.opts.Progress, line)
}

// repeat runs measure opts.Runs times and returns the samples.
func (r *runner) repeat(ctx context.Context, name string, measure func(ctx context.Context, run int) (sample, error)) ([]sample, error) {
	var out []sample
	for i := range r.opts.Runs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		s, err := measure(ctx, i)
		if err != nil {
			return out, fmt.Errorf("%s, run %d: %w", name, i+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// write writes results.json, report.md and the plots.
func (r *runner) write() error {
	if err := r.res.WriteFile(filepath.Join(r.opts.Out, "results.json")); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	plots, err := writePlots(r.res, r.opts.Out)
	if err != nil {
		r.fail("report", "", fmt.Errorf("plotting: %w", err))
		// Failures changed: write the results again.
		if err := r.res.WriteFile(filepath.Join(r.opts.Out, "results.json")); err != nil {
			return fmt.Errorf("writing results: %w", err)
		}
	}
	f, err := os.Create(filepath.Join(r.opts.Out, "report.md"))
	if err != nil {
		return err
	}
	writeReport(f, r.res, plots)
	return f.Close()
}

// num formats a figure for people: thousands separators above 100,
// three significant digits below.
func num(v float64) string {
	switch {
	case v >= 100 || v <= -100:
		return count(int64(v + 0.5))
	case v == 0:
		return "0"
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
