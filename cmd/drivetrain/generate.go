package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/drivetrain-cdc/drivetrain/bench/workload"
)

// defaultGenerateDuration applies when neither --duration nor --changes is
// given.
const defaultGenerateDuration = time.Minute

var generateCommand = command{
	name:    "generate",
	summary: "write a realistic car e-commerce workload into PostgreSQL (catalogue, then a rate-limited mix of changes)",
	run:     runGenerate,
}

func runGenerate(ctx context.Context, a *app, c command, args []string) error {
	c.summary += `.

The catalogue (about --scale customers and --scale/5 vehicles, some with
features documents large enough to be TOASTed) is topped up only when the
tables hold fewer rows. Each operation of the mix is one transaction. The
end summary counts, per table, the rows inserted, updated and deleted by
committed transactions: one Debezium event each. A transaction that
PostgreSQL rejects for the data it meets (rows written by others: a numeric
overflow, a check, foreign key or unique violation) is rolled back, skipped
and counted in the summary, unless --strict; serialization failures and
deadlocks are retried. Progress goes to stderr, the summary to stdout.
Needs the schema of deploy/postgres/schema.sql.`
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.postgresFlag(&ep)
	var (
		opts    workload.Options
		scale   int
		workers int
		asJSON  bool
	)
	fs.Float64Var(&opts.Rate, "rate", 100, "target changes per second; a change is one inserted, updated or deleted row (one Debezium event); 0 runs as fast as possible")
	fs.DurationVar(&opts.Duration, "duration", 0, "run the mix this long, e.g. 30s or 10m (with neither --duration nor --changes: 1m; --duration 0 alone: until interrupted)")
	fs.Int64Var(&opts.Changes, "changes", 0, "stop after exactly this many row changes of the mix (seeding excluded); with --duration too, stop at whichever comes first")
	fs.Uint64Var(&opts.Seed, "seed", 1, "random seed: the same seed against the same starting database produces the same sequence of operations")
	fs.IntVar(&scale, "scale", workload.DefaultScale, "catalogue size: about this many customers and a fifth as many vehicles")
	fs.IntVar(&workers, "workers", workload.DefaultWorkers, "connections running transactions concurrently (operations on the same rows still commit in order)")
	fs.BoolVar(&opts.Strict, "strict", false, "stop at the first transaction PostgreSQL rejects instead of skipping data errors (numeric overflow, check, foreign key or unique violations); serialization failures and deadlocks are still retried")
	fs.BoolVar(&asJSON, "json", false, "print the final report as JSON instead of a table")
	if err := fs.parse(args); err != nil {
		return err
	}
	if len(fs.args()) > 0 {
		return fmt.Errorf("unexpected argument %q (see 'drivetrain generate --help')", fs.args()[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["duration"] && !set["changes"] {
		opts.Duration = defaultGenerateDuration
	}
	if scale < 1 {
		return fmt.Errorf("--scale must be at least 1 (got %d)", scale)
	}
	if workers < 1 {
		return fmt.Errorf("--workers must be at least 1 (got %d)", workers)
	}
	opts.Scale, opts.Workers = scale, workers
	if err := opts.Validate(); err != nil {
		return err
	}

	g, err := workload.Open(ctx, ep.postgres, a.log)
	if err != nil {
		return err
	}
	defer g.Close()
	pp := newProgressPrinter(a.stderr)
	opts.Progress = pp.print
	rep, err := g.Run(ctx, opts)
	pp.finish()
	if rep != nil {
		if werr := writeGenerateReport(a.stdout, rep, asJSON); werr != nil && err == nil {
			err = fmt.Errorf("writing the report: %w", werr)
		}
	}
	return err
}

func writeGenerateReport(w io.Writer, rep *workload.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// progressPrinter shows progress on stderr: rewritten in place about every
// second on a terminal, a plain line every five seconds otherwise.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	last     time.Time
	inPlace  bool
	interval time.Duration
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, interval: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.interval = true, 0
		}
	}
	return p
}

func (p *progressPrinter) print(pr workload.Progress) {
	now := time.Now()
	if !p.tty && now.Sub(p.last) < p.interval {
		return
	}
	p.last = now
	var line string
	switch pr.Phase {
	case "seeding":
		line = fmt.Sprintf("seeding: %d rows inserted, %s", pr.Changes, pr.Elapsed.Round(time.Second))
	default:
		limit := ""
		switch {
		case pr.Limit > 0 && pr.Duration > 0:
			limit = fmt.Sprintf(" (of %d changes or %s)", pr.Limit, pr.Duration)
		case pr.Limit > 0:
			limit = fmt.Sprintf(" (%.0f%% of %d)", 100*float64(pr.Changes)/float64(pr.Limit), pr.Limit)
		case pr.Duration > 0:
			limit = fmt.Sprintf(" of %s", pr.Duration)
		}
		line = fmt.Sprintf("running: %d changes in %d transactions, %.0f changes/s, %s elapsed%s",
			pr.Changes, pr.Transactions, pr.Rate, pr.Elapsed.Round(time.Second), limit)
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.inPlace = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// finish ends the line being rewritten in place.
func (p *progressPrinter) finish() {
	if p.inPlace {
		fmt.Fprintln(p.w)
		p.inPlace = false
	}
}
