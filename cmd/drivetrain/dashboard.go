package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/tool/dashboard"
)

var dashboardCommand = command{
	name:    "dashboard",
	summary: "serve the sales dashboard: web pages over ClickHouse that refresh live",
	run:     runDashboard,
}

func runDashboard(ctx context.Context, a *app, c command, args []string) error {
	c.summary += `.

Pages: sales now, products, customers and regions, inventory, transactions
(with a search by order id or customer email), history (by day, week or
month, against the period before) and pipeline freshness. They read the
queries of deploy/clickhouse/queries.sql (built into the binary) and
re-read them every --refresh without reloading. The server starts whether
or not ClickHouse answers, and the pages say when it does not.`
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.clickhouseFlag(&ep)
	var database, suffix string
	fs.keyString(&database, "database", "clickhouse.database", "ClickHouse database holding drivetrain's tables (empty: drivetrain)")
	fs.keyString(&suffix, "table-suffix", "clickhouse.table_suffix", "read the tables <name>_<suffix> (as written by a replay into new tables)")
	listen := fs.String("listen", dashboard.DefaultListen, "address to serve the dashboard on (loopback by default: the dashboard has no login)")
	refresh := fs.Duration("refresh", 5*time.Second, "how often open pages read their figures again (1s to 1h)")
	var nodes []string
	fs.Func("node", "base URL of a drivetrain node's status server (its http_addr, e.g. http://127.0.0.1:18090), shown on the pipeline page; repeat or comma-separate for several", func(s string) error {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				nodes = append(nodes, n)
			}
		}
		return nil
	})
	if err := fs.parse(args); err != nil {
		return err
	}
	if len(fs.args()) > 0 {
		return fmt.Errorf("unexpected argument %q (see 'drivetrain dashboard --help')", fs.args()[0])
	}
	cfg := dashboard.Config{
		Listen:     *listen,
		Refresh:    *refresh,
		Nodes:      nodes,
		ClickHouse: ep.cfg.ClickHouse, // the clickhouse section: address, credentials, TLS, database, suffix
	}
	// Connection lines are Info; the dashboard's own lifecycle stays visible.
	s, err := dashboard.Open(cfg, a.log.Level(max(a.log.GetLevel(), zerolog.InfoLevel)))
	if err != nil {
		return flagError(err)
	}
	defer s.Close()
	fmt.Fprintf(a.stdout, "drivetrain dashboard: %s (reading %s)\n", s.URL(), s.Source())
	return s.Run(ctx)
}

// flagError names the flag of a dashboard.Config field in its error.
func flagError(err error) error {
	msg := err.Error()
	for field, flag := range map[string]string{
		"listen:": "--listen:", "refresh:": "--refresh:", "nodes:": "--node:",
		"clickhouse.database:": "--database:", "clickhouse.table_suffix:": "--table-suffix:",
	} {
		if strings.HasPrefix(msg, field) {
			return fmt.Errorf("%s%s", flag, strings.TrimPrefix(msg, field))
		}
	}
	return err
}

// demoDashboardAddr is where `drivetrain demo` serves the dashboard.
const demoDashboardAddr = dashboard.DefaultListen

// startDemoDashboard starts `drivetrain dashboard` as a background process
// that outlives the demo (its pid in .stack/run/drivetrain-dashboard.pid,
// which `stack.sh down` stops), showing the demo node on its pipeline
// page, unless a dashboard already answers on demoDashboardAddr. It
// returns the dashboard's address once it answers.
func startDemoDashboard(ctx context.Context, a *app, root string, ep *endpoints, nodeURL string) (string, error) {
	base := "http://" + demoDashboardAddr
	alive := func(ctx context.Context) (bool, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return false, err.Error()
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	}
	if ok, _ := alive(ctx); ok {
		fmt.Fprintf(a.stdout, "a dashboard already serves %s; using it\n", demoDashboardAddr)
		return base + "/", nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the drivetrain binary: %w", err)
	}
	for _, d := range []string{".stack/logs", ".stack/run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", err
		}
	}
	logPath := filepath.Join(root, ".stack/logs/drivetrain-dashboard.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	defer logf.Close()
	cmd := exec.Command(self, "dashboard", "--listen", demoDashboardAddr, "--node", nodeURL)
	cmd.Env = append(os.Environ(), "DRIVETRAIN_CLICKHOUSE_URL="+ep.clickhouse)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting drivetrain dashboard: %w", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	if err := os.WriteFile(filepath.Join(root, ".stack/run/drivetrain-dashboard.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := waitFor(ctx, time.Minute, alive); err != nil {
		return "", fmt.Errorf("the dashboard did not start (see %s): %w", logPath, err)
	}
	return base + "/", nil
}
