package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/sinks"
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
	database := fs.String("database", sinks.DefaultDatabase, "ClickHouse database holding drivetrain's tables")
	suffix := fs.String("table-suffix", "", "read the tables <name>_<suffix> (as written by a replay into new tables)")
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
		ClickHouse: sinks.Config{Addr: ep.clickhouse, Database: *database, TableSuffix: *suffix},
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
