package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/tool/config"
	"github.com/drivetrain-cdc/drivetrain/tool/connect"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

var healthCommand = command{
	name:    "health",
	summary: "check PostgreSQL, Kafka, Kafka Connect and ClickHouse; one line per check with the fix for each failure",
	run:     runHealth,
}

// healthCheck is one line of `drivetrain health`.
type healthCheck struct {
	name   string
	ok     bool
	detail string // what was found
	fix    string // for a failed check: what to do
}

// orderStreamTables are co-partitioned by order id (DESIGN §3).
var orderStreamTables = []topology.Table{topology.TableOrders, topology.TableOrderItems, topology.TablePayments}

func runHealth(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.postgresFlag(&ep)
	fs.kafkaFlag(&ep)
	fs.connectFlag(&ep)
	fs.clickhouseFlag(&ep)
	fs.topicPrefixFlag(&ep)
	connector := fs.String("connector", "", "Debezium connector name (default: the built-in config's, drivetrain-postgres)")
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each service's checks")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %s", *timeout)
	}
	if *connector == "" {
		cf, err := connect.LoadFile("")
		if err != nil {
			return err
		}
		*connector = cf.Name
	}
	if len(ep.brokers()) == 0 {
		return fmt.Errorf("--kafka: no broker address given")
	}

	var checks []healthCheck
	run := func(f func(ctx context.Context) []healthCheck) {
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		checks = append(checks, f(cctx)...)
	}
	run(func(ctx context.Context) []healthCheck { return checkPostgres(ctx, ep.postgres) })
	run(func(ctx context.Context) []healthCheck { return checkKafka(ctx, ep.cfg.Kafka, ep.topicPrefix) })
	run(func(ctx context.Context) []healthCheck { return checkConnector(ctx, ep.connect, *connector) })
	run(func(ctx context.Context) []healthCheck { return checkClickHouse(ctx, ep.clickhouse) })

	failed := printChecks(a.stdout, checks)
	if failed > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("drivetrain health: %d of %d checks failed", failed, len(checks))}
	}
	return nil
}

func printChecks(w io.Writer, checks []healthCheck) (failed int) {
	for _, c := range checks {
		mark := "✓"
		if !c.ok {
			mark = "✗"
			failed++
		}
		line := mark + " " + c.name
		if c.detail != "" {
			line += ": " + c.detail
		}
		if !c.ok && c.fix != "" {
			line += " — fix: " + c.fix
		}
		fmt.Fprintln(w, line)
	}
	return failed
}

// hostOf returns host:port of a URL-like address without credentials, for
// messages (secrets never appear in output).
func hostOf(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		return u.Host
	}
	if cfg, err := pgx.ParseConfig(addr); err == nil {
		return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	}
	return "(unparsable address)"
}

func checkPostgres(ctx context.Context, dsn string) []healthCheck {
	where := hostOf(dsn)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return []healthCheck{{name: "PostgreSQL reachable", detail: fmt.Sprintf("%s: %v", where, redactErr(err, dsn)),
			fix: "start it (make stack-up) or set --postgres / DRIVETRAIN_POSTGRES_DSN"}}
	}
	defer conn.Close(context.Background())
	var version, walLevel string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('wal_level')").Scan(&version, &walLevel); err != nil {
		return []healthCheck{{name: "PostgreSQL reachable", detail: fmt.Sprintf("%s: %v", where, err)}}
	}
	checks := []healthCheck{{name: "PostgreSQL reachable", ok: true, detail: where + ", PostgreSQL " + version}}
	checks = append(checks, healthCheck{name: "PostgreSQL wal_level is logical", ok: walLevel == "logical", detail: "wal_level=" + walLevel,
		fix: "set wal_level = logical in postgresql.conf and restart PostgreSQL"})

	names := make([]string, len(topology.Tables))
	for i, t := range topology.Tables {
		names[i] = t.String()
	}
	identity := map[string]string{}
	rows, err := conn.Query(ctx, `SELECT c.relname, c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY($1)`, names)
	if err == nil {
		for rows.Next() {
			var name, ident string
			if err = rows.Scan(&name, &ident); err != nil {
				break
			}
			identity[name] = ident
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		return append(checks, healthCheck{name: "PostgreSQL tables", detail: err.Error()})
	}
	var missing, notFull []string
	for _, n := range names {
		switch ident, ok := identity[n]; {
		case !ok:
			missing = append(missing, n)
		case ident != "f":
			notFull = append(notFull, n)
		}
	}
	if len(missing) > 0 {
		checks = append(checks, healthCheck{name: "PostgreSQL schema", detail: "missing tables: " + strings.Join(missing, ", "),
			fix: "apply deploy/postgres/schema.sql (psql -f deploy/postgres/schema.sql)"})
	} else {
		checks = append(checks, healthCheck{name: "PostgreSQL schema", ok: true, detail: "the five tables exist"})
	}
	if len(missing) == 0 {
		c := healthCheck{name: "PostgreSQL replica identity FULL", ok: len(notFull) == 0, detail: "all five tables"}
		if len(notFull) > 0 {
			c.detail = "not FULL: " + strings.Join(notFull, ", ")
			c.fix = "ALTER TABLE <table> REPLICA IDENTITY FULL for each (deploy/postgres/schema.sql does it)"
		}
		checks = append(checks, c)
	}

	published := map[string]bool{}
	rows, err = conn.Query(ctx, `SELECT tablename FROM pg_publication_tables WHERE pubname = 'drivetrain' AND schemaname = 'public'`)
	if err == nil {
		for rows.Next() {
			var t string
			if err = rows.Scan(&t); err != nil {
				break
			}
			published[t] = true
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		return append(checks, healthCheck{name: "PostgreSQL publication drivetrain", detail: err.Error()})
	}
	var unpublished []string
	for _, n := range names {
		if !published[n] {
			unpublished = append(unpublished, n)
		}
	}
	pc := healthCheck{name: "PostgreSQL publication drivetrain", ok: len(unpublished) == 0, detail: "covers the five tables"}
	if len(unpublished) > 0 {
		pc.detail = "does not cover: " + strings.Join(unpublished, ", ")
		pc.fix = "CREATE PUBLICATION drivetrain FOR TABLE customers, vehicles, orders, order_items, payments (or ALTER PUBLICATION … ADD TABLE)"
	}
	return append(checks, pc)
}

// redactErr removes the DSN's password from an error message.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	if cfg, perr := pgx.ParseConfig(dsn); perr == nil && cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "****")
	}
	return msg
}

func checkKafka(ctx context.Context, kafka config.Kafka, prefix string) []healthCheck {
	where := strings.Join(kafka.Brokers, ",")
	opts, err := kafka.ClientOpts()
	if err != nil {
		return []healthCheck{{name: "Kafka reachable", detail: err.Error(), fix: "check the kafka section of the configuration"}}
	}
	cl, err := kgo.NewClient(append(opts, kgo.DialTimeout(3*time.Second))...)
	if err != nil {
		return []healthCheck{{name: "Kafka reachable", detail: err.Error(), fix: "check --kafka / DRIVETRAIN_KAFKA_BROKERS"}}
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return []healthCheck{{name: "Kafka reachable", detail: fmt.Sprintf("%s: %v", where, err),
			fix: "start it (make stack-up) or set --kafka / DRIVETRAIN_KAFKA_BROKERS"}}
	}
	checks := []healthCheck{{name: "Kafka reachable", ok: true, detail: fmt.Sprintf("%s, %d broker(s), cluster %s", where, len(meta.Brokers), meta.Cluster)}}

	topics := make([]string, len(topology.Tables))
	for i, t := range topology.Tables {
		topics[i] = prefix + ".public." + t.String()
	}
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return append(checks, healthCheck{name: "Kafka topics", detail: err.Error()})
	}
	var missing []string
	for _, t := range topics {
		if d, ok := details[t]; !ok || d.Err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return append(checks, healthCheck{name: "Kafka topics", detail: "missing: " + strings.Join(missing, ", "),
			fix: "register the connector (drivetrain connector register); Debezium creates each topic with the first change of its table"})
	}
	checks = append(checks, healthCheck{name: "Kafka topics", ok: true, detail: "the five " + prefix + ".public.* topics exist"})

	counts := map[int][]string{}
	for _, t := range orderStreamTables {
		name := prefix + ".public." + t.String()
		n := len(details[name].Partitions)
		counts[n] = append(counts[n], fmt.Sprintf("%s=%d", t, n))
	}
	cp := healthCheck{name: "Kafka co-partitioning", ok: len(counts) == 1}
	var parts []string
	for _, v := range counts {
		parts = append(parts, v...)
	}
	sort.Strings(parts)
	cp.detail = "partitions " + strings.Join(parts, ", ")
	if !cp.ok {
		cp.fix = "orders, order_items and payments need the same partition count (and the connector's partition.topic.num); recreate the topics with equal counts"
	}
	checks = append(checks, cp)

	cfgs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return append(checks, healthCheck{name: "Kafka compaction", detail: err.Error()})
	}
	var notCompacted []string
	for _, rc := range cfgs {
		if rc.Err != nil {
			notCompacted = append(notCompacted, rc.Name+" ("+rc.Err.Error()+")")
			continue
		}
		policy := ""
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" {
				policy = c.MaybeValue()
			}
		}
		if !strings.Contains(policy, "compact") {
			notCompacted = append(notCompacted, rc.Name+" (cleanup.policy="+policy+")")
		}
	}
	sort.Strings(notCompacted)
	cc := healthCheck{name: "Kafka compaction", ok: len(notCompacted) == 0, detail: "cleanup.policy=compact on the five topics"}
	if !cc.ok {
		cc.detail = "not compacted: " + strings.Join(notCompacted, ", ")
		cc.fix = "kafka-configs --alter --entity-type topics --entity-name <topic> --add-config cleanup.policy=compact (state rebuilds read compacted topics from the start)"
	}
	return append(checks, cc)
}

func checkConnector(ctx context.Context, base, name string) []healthCheck {
	cc, err := connect.NewClient(base)
	if err != nil {
		return []healthCheck{{name: "Kafka Connect reachable", detail: err.Error()}}
	}
	st, err := cc.Status(ctx, name)
	switch {
	case errors.Is(err, connect.ErrNotFound):
		return []healthCheck{
			{name: "Kafka Connect reachable", ok: true, detail: hostOf(base)},
			{name: "Debezium connector " + name, detail: "not registered", fix: "drivetrain connector register"},
		}
	case err != nil:
		return []healthCheck{{name: "Kafka Connect reachable", detail: err.Error(), fix: "start it (make stack-up) or set --connect / DRIVETRAIN_CONNECT_URL"}}
	}
	c := healthCheck{name: "Debezium connector " + name, ok: st.Running(), detail: st.Describe()}
	if !c.ok {
		c.fix = "see 'drivetrain connector status' for the error trace; 'drivetrain connector register' restarts a failed connector"
	}
	return []healthCheck{{name: "Kafka Connect reachable", ok: true, detail: hostOf(base)}, c}
}

func checkClickHouse(ctx context.Context, addr string) []healthCheck {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return []healthCheck{{name: "ClickHouse reachable", detail: fmt.Sprintf("%q is not a URL", addr), fix: "set --clickhouse to http(s)://host:port or clickhouse://host:port"}}
	}
	fix := "start it (make stack-up) or set --clickhouse / DRIVETRAIN_CLICKHOUSE_URL"
	var version string
	switch u.Scheme {
	case "http", "https":
		version, err = clickhouseHTTPVersion(ctx, u)
	case "clickhouse":
		version, err = clickhouseNativeVersion(ctx, u)
	default:
		return []healthCheck{{name: "ClickHouse reachable", detail: "unsupported scheme " + u.Scheme, fix: "use http(s):// or clickhouse://"}}
	}
	if err != nil {
		return []healthCheck{{name: "ClickHouse reachable", detail: fmt.Sprintf("%s: %v", u.Host, err), fix: fix}}
	}
	return []healthCheck{{name: "ClickHouse reachable", ok: true, detail: u.Host + ", ClickHouse " + version}}
}

func clickhouseHTTPVersion(ctx context.Context, u *url.URL) (string, error) {
	q := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/", RawQuery: url.Values{"query": {"SELECT version()"}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.String(), nil)
	if err != nil {
		return "", err
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return strings.TrimSpace(string(body)), nil
}

func clickhouseNativeVersion(ctx context.Context, u *url.URL) (string, error) {
	opts := ch.Options{Address: u.Host, DialTimeout: 3 * time.Second}
	if u.User != nil {
		opts.User = u.User.Username()
		opts.Password, _ = u.User.Password()
	}
	client, err := ch.Dial(ctx, opts)
	if err != nil {
		return "", err
	}
	defer client.Close()
	if err := client.Ping(ctx); err != nil {
		return "", err
	}
	s := client.ServerInfo()
	return fmt.Sprintf("%d.%d.%d", s.Major, s.Minor, s.Patch), nil
}
