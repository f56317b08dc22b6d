package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/drivetrain-cdc/drivetrain/tool/bench"
)

var benchCommand = command{
	name:    "bench",
	args:    "[compare A.json B.json]",
	summary: "run the benchmark suite (drivetrain and its peers on the same topics), or compare two results files",
	run:     runBench,
}

func runBench(ctx context.Context, a *app, c command, args []string) error {
	if len(args) > 0 && args[0] == "compare" {
		return runBenchCompare(a, args[1:])
	}
	c.summary += `.

Suites (bench/README.md says what each measures): ` + strings.Join(bench.Suites, ", ") + `.
The suites that need the local stack prepare their topics themselves
(<prefix>.public.<table>, reused when they hold the workload asked for)
and use ClickHouse databases and consumer groups named after the prefix.
Progress goes to stderr; results.json, report.md and the plots go to --out.`
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.kafkaFlag(&ep)
	fs.clickhouseFlag(&ep)
	fs.postgresFlag(&ep)
	fs.connectFlag(&ep)
	var (
		opts   bench.Options
		suites string
		rates  string
	)
	fs.StringVar(&suites, "suites", "", "comma-separated suites to run (default all: "+strings.Join(bench.Suites, ",")+")")
	fs.BoolVar(&opts.Quick, "quick", false, "a small version of every suite (minutes, not an hour)")
	fs.IntVar(&opts.Runs, "runs", 3, "runs per figure: the figure is their median, with min and max")
	fs.Int64Var(&opts.Events, "events", 0, "records preloaded into the benchmark topics (default 1,000,000; 100,000 with --quick)")
	fs.Int64Var(&opts.ProcessEvents, "process-events", 0, "records per run of the in-process suites decode, process, scale, sink (default 500,000; 50,000 with --quick)")
	fs.DurationVar(&opts.Soak, "soak", 0, "how long the soak suite runs the processing step (default 10m; 30s with --quick)")
	fs.StringVar(&rates, "rates", "", "freshness ladder, changes/s, comma-separated (default 500,1000,2000,4000; 500,2000 with --quick)")
	fs.StringVar(&opts.TopicPrefix, "prefix", "drivetrain_bench", "topic prefix of the benchmark topics, also of its consumer groups and ClickHouse databases")
	fs.StringVar(&opts.Out, "out", "", "output directory (default bench/out/<UTC timestamp>)")
	fs.StringVar(&opts.Drivetrain, "drivetrain", "", "drivetrain binary the node suites start (default this one)")
	fs.StringVar(&opts.PeersDir, "peers-dir", "bench/peers", "directory of the peers' sources")
	fs.StringVar(&opts.StackDir, "stack-dir", ".stack", "directory where the peers' environments are installed")
	if err := fs.parse(args); err != nil {
		return err
	}
	if len(fs.args()) > 0 {
		return fmt.Errorf("unexpected argument %q (see 'drivetrain bench --help')", fs.args()[0])
	}
	if suites != "" {
		opts.Suites = strings.Split(suites, ",")
	}
	for _, s := range strings.Split(rates, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("--rates: %q is not a number", s)
		}
		opts.Rates = append(opts.Rates, v)
	}
	if opts.Runs < 1 {
		return fmt.Errorf("--runs must be at least 1 (got %d)", opts.Runs)
	}
	opts.Kafka, opts.ClickHouse, opts.PostgresDSN, opts.Connect = ep.brokers(), ep.clickhouse, ep.postgres, ep.connect
	opts.Command = "drivetrain bench " + strings.Join(args, " ")
	opts.Progress, opts.Log = a.stderr, a.log
	if f, ok := a.stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			opts.Terminal = true
		}
	}
	res, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}
	bench.Table(a.stdout, res)
	fmt.Fprintf(a.stdout, "\nresults in %s\n", res.Dir)
	if len(res.Failures) > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("drivetrain bench: %d suite(s) or peer(s) failed (see report.md)", len(res.Failures))}
	}
	return nil
}

func runBenchCompare(a *app, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("compare takes two results.json files (got %d arguments)", len(args))
	}
	ra, err := bench.ReadResults(args[0])
	if err != nil {
		return err
	}
	rb, err := bench.ReadResults(args[1])
	if err != nil {
		return err
	}
	bench.Compare(a.stdout, ra, rb)
	return nil
}
