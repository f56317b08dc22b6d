package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/bench/workload"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/tool/connect"
	"github.com/drivetrain-cdc/drivetrain/tool/health"
	"github.com/drivetrain-cdc/drivetrain/tool/observe"
)

var demoCommand = command{
	name:    "demo",
	summary: "the whole pipeline on this machine: local stack, connector, a processing node and a live workload, then the sales report",
	run:     runDemo,
}

// demoNodeAddr is where the demo's node serves /status, /metrics and health.
const demoNodeAddr = "127.0.0.1:18090"

func runDemo(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.postgresFlag(&ep)
	fs.kafkaFlag(&ep)
	fs.connectFlag(&ep)
	fs.clickhouseFlag(&ep)
	fs.topicPrefixFlag(&ep)
	duration := fs.Duration("duration", time.Minute, "how long the workload runs")
	rate := fs.Float64("rate", 200, "workload changes per second")
	scale := fs.Int("scale", 1000, "catalogue size (customers; vehicles are a fifth)")
	seed := fs.Uint64("seed", 1, "workload seed")
	stackScript := fs.String("stack", "deploy/local/stack.sh", "the local stack script to run first; empty to use running services as they are")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *duration <= 0 {
		return fmt.Errorf("--duration must be positive, got %s", *duration)
	}
	if *rate <= 0 {
		return fmt.Errorf("--rate must be positive, got %v", *rate)
	}
	step := func(format string, args ...any) { fmt.Fprintf(a.stdout, "\n▶ "+format+"\n", args...) }

	stackRoot := "."
	if *stackScript != "" {
		step("starting the local stack (%s up)", *stackScript)
		cmd := exec.CommandContext(ctx, *stackScript, "up")
		cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("starting the local stack: %w", err)
		}
		stackRoot = filepath.Join(filepath.Dir(*stackScript), "..", "..")
	}
	if abs, err := filepath.Abs(stackRoot); err == nil {
		stackRoot = abs
	}

	step("registering the Debezium connector")
	cc, err := connect.NewClient(ep.connect)
	if err != nil {
		return err
	}
	cf, err := connect.LoadFile("")
	if err != nil {
		return err
	}
	if err := connect.Register(ctx, a.stdout, a.stderr, cc, cf, 3*time.Minute); err != nil {
		return err
	}

	step("starting a drivetrain node (logs in %s)", filepath.Join(stackRoot, ".stack/logs/drivetrain-node.log"))
	nodeURL := "http://" + demoNodeAddr
	if err := startDemoNode(ctx, a, stackRoot, &ep); err != nil {
		return err
	}
	// Alive is enough to start the workload: on a new database the node
	// waits for Debezium to create the topics, which the workload's first
	// changes do.
	if err := waitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, string) {
		_, err := observe.FetchStatus(ctx, nodeURL)
		return err == nil, fmt.Sprint(err)
	}); err != nil {
		return fmt.Errorf("the node did not start (see .stack/logs/drivetrain-node.log): %w", err)
	}
	dashboardURL, err := startDemoDashboard(ctx, a, stackRoot, &ep, nodeURL)
	if err != nil {
		return err
	}
	step("the sales dashboard refreshes live at %s (logs in .stack/logs/drivetrain-dashboard.log)", dashboardURL)

	step("running the workload: %s at %.0f changes/s", *duration, *rate)
	gen, err := workload.Open(ctx, ep.postgres, a.log.Level(zerolog.WarnLevel))
	if err != nil {
		return err
	}
	defer gen.Close()
	live := &demoProgress{a: a, nodeURL: nodeURL}
	rep, err := gen.Run(ctx, workload.Options{Rate: *rate, Duration: *duration, Seed: *seed, Scale: *scale, Progress: live.print, ProgressInterval: time.Second})
	live.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "workload done: %d changes in %d transactions (%.0f/s)\n", rep.Changes, rep.Transactions, rep.Rate)

	step("waiting for the node to catch up")
	var last *observe.Status
	if err := waitFor(ctx, 3*time.Minute, func(ctx context.Context) (bool, string) {
		st, err := observe.FetchStatus(ctx, nodeURL)
		if err != nil {
			return false, err.Error()
		}
		last = st
		live.line(st, nil)
		return st.Idle, fmt.Sprintf("lag %d, sink backlog %d", st.Lag, st.SinkBacklog)
	}); err != nil {
		live.finish()
		return fmt.Errorf("the node did not catch up: %w", err)
	}
	live.finish()
	if last != nil {
		f := last.Freshness
		fmt.Fprintf(a.stdout, "caught up: %d facts written; freshness (source commit → ClickHouse ack) over %d rows: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms\n",
			last.FactsWritten, f.Count, f.P50, f.P90, f.P99, f.Max)
	}

	step("sales report")
	client, err := sinks.Dial(ctx, ep.cfg.ClickHouse, a.log.Level(zerolog.WarnLevel))
	if err != nil {
		return fmt.Errorf("connecting to clickhouse: %w", err)
	}
	defer client.Close()
	for i, r := range sinks.Reports {
		rows, err := client.QueryReport(ctx, r)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		writeReportTable(a.stdout, r, rows)
	}

	chHost := health.HostOf(ep.clickhouse)
	fmt.Fprintf(a.stdout, `
Everything keeps running: PostgreSQL, Kafka, Kafka Connect, ClickHouse, the drivetrain node and the dashboard.
  sales dashboard:   %s
  query ClickHouse:  curl -s 'http://%s/' --data-binary 'SELECT * FROM drivetrain.sales_facts_current LIMIT 5 FORMAT PrettyCompact'
                     clickhouse-client --port 19000 --query 'SELECT count() FROM drivetrain.sales_facts_current'
  reports:           bin/drivetrain report [--format csv|json] [--sql]
  node status:       curl -s %s/status
  more changes:      bin/drivetrain generate --duration 5m --rate 500
  stop everything:   make stack-down
`, dashboardURL, chHost, nodeURL)
	return nil
}

// startDemoNode starts `drivetrain run` as a background process that
// outlives the demo (its pid in .stack/run/drivetrain-node.pid, which
// `stack.sh down` stops), unless one already answers on demoNodeAddr.
func startDemoNode(ctx context.Context, a *app, root string, ep *endpoints) error {
	if _, err := observe.FetchStatus(ctx, "http://"+demoNodeAddr); err == nil {
		fmt.Fprintf(a.stdout, "a node already serves %s; using it\n", demoNodeAddr)
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the drivetrain binary: %w", err)
	}
	for _, d := range []string{".stack/logs", ".stack/run", ".stack/drivetrain"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	logf, err := os.OpenFile(filepath.Join(root, ".stack/logs/drivetrain-node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	// The node reads the demo's configuration: its file, the environment
	// it inherits, and the demo's addresses as flags.
	args := []string{"run",
		"--node-id", "demo-1",
		"--state-dir", filepath.Join(root, ".stack/drivetrain/demo-1"),
		"--http-addr", demoNodeAddr,
		"--kafka", ep.kafka, "--clickhouse", ep.clickhouse, "--topic-prefix", ep.topicPrefix}
	if ep.configPath != "" {
		args = append(args, "--config", ep.configPath)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting drivetrain run: %w", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return os.WriteFile(filepath.Join(root, ".stack/run/drivetrain-node.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// waitFor polls cond every 500ms until it holds, ctx ends or timeout
// passes; the error carries cond's last explanation.
func waitFor(ctx context.Context, timeout time.Duration, cond func(ctx context.Context) (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	why := ""
	for {
		ok, w := cond(ctx)
		if ok {
			return nil
		}
		why = w
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("not after %s: %s", timeout, why)
			}
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// demoProgress prints one live line: the generator's changes and the
// node's figures.
type demoProgress struct {
	a        *app
	nodeURL  string
	inPlace  bool
	lastLine time.Time
}

func (p *demoProgress) print(pr workload.Progress) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, _ := observe.FetchStatus(ctx, p.nodeURL)
	p.line(st, &pr)
}

func (p *demoProgress) line(st *observe.Status, pr *workload.Progress) {
	var parts []string
	if pr != nil {
		if pr.Phase == "seeding" {
			parts = append(parts, fmt.Sprintf("seeding %d rows", pr.Changes))
		} else {
			parts = append(parts, fmt.Sprintf("%s changes %d (%.0f/s)", pr.Elapsed.Round(time.Second), pr.Changes, pr.Rate))
		}
	}
	if st != nil {
		var consumed int64
		for _, n := range st.Consumed {
			consumed += n
		}
		parts = append(parts, fmt.Sprintf("events %d", consumed), fmt.Sprintf("facts %d", st.FactsWritten),
			fmt.Sprintf("lag %d", st.Lag), fmt.Sprintf("freshness p99 %.0f ms", st.Freshness.P99))
	}
	line := strings.Join(parts, " · ")
	if isTerminal(p.a.stdout) {
		fmt.Fprintf(p.a.stdout, "\r\033[K%s", line)
		p.inPlace = true
		return
	}
	if time.Since(p.lastLine) >= 5*time.Second {
		p.lastLine = time.Now()
		fmt.Fprintln(p.a.stdout, line)
	}
}

func (p *demoProgress) finish() {
	if p.inPlace {
		fmt.Fprintln(p.a.stdout)
		p.inPlace = false
	}
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
