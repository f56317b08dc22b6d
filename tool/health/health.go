// Package health is what `drivetrain health` checks: PostgreSQL (reachable,
// wal_level, schema, replica identity, publication), Kafka (reachable,
// topics, co-partitioning, compaction), the Debezium connector in Kafka
// Connect, ClickHouse, and the consumer group's lag. Each check is a line
// with what was found and, when it fails, the fix.
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/tool/config"
	"github.com/drivetrain-cdc/drivetrain/tool/connect"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Check is one line of `drivetrain health`.
type Check struct {
	Name   string
	OK     bool
	Detail string // what was found
	Fix    string // for a failed check: what to do
}

// Write prints one line per check, ✓ or ✗, with the fix of each failed
// one, and returns how many failed.
func Write(w io.Writer, checks []Check) (failed int) {
	for _, c := range checks {
		mark := "✓"
		if !c.OK {
			mark = "✗"
			failed++
		}
		line := mark + " " + c.Name
		if c.Detail != "" {
			line += ": " + c.Detail
		}
		if !c.OK && c.Fix != "" {
			line += " — fix: " + c.Fix
		}
		fmt.Fprintln(w, line)
	}
	return failed
}

// orderStreamTables are co-partitioned by order id.
var orderStreamTables = []topology.Table{topology.TableOrders, topology.TableOrderItems, topology.TablePayments}

func topicOf(prefix string, t topology.Table) string { return prefix + ".public." + t.String() }

// HostOf returns host:port of a URL-like address without credentials, for
// messages (secrets never appear in output).
func HostOf(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		return u.Host
	}
	if cfg, err := pgx.ParseConfig(addr); err == nil {
		return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	}
	return "(unparsable address)"
}

// Postgres checks the source database: reachable, wal_level=logical, the
// five tables, replica identity FULL, the drivetrain publication.
func Postgres(ctx context.Context, dsn string) []Check {
	where := HostOf(dsn)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return []Check{{Name: "PostgreSQL reachable", Detail: fmt.Sprintf("%s: %v", where, redactErr(err, dsn)),
			Fix: "start it (make stack-up) or set --postgres / DRIVETRAIN_POSTGRES_DSN"}}
	}
	defer conn.Close(context.Background())
	var version, walLevel string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('wal_level')").Scan(&version, &walLevel); err != nil {
		return []Check{{Name: "PostgreSQL reachable", Detail: fmt.Sprintf("%s: %v", where, err)}}
	}
	checks := []Check{{Name: "PostgreSQL reachable", OK: true, Detail: where + ", PostgreSQL " + version}}
	checks = append(checks, Check{Name: "PostgreSQL wal_level is logical", OK: walLevel == "logical", Detail: "wal_level=" + walLevel,
		Fix: "set wal_level = logical in postgresql.conf and restart PostgreSQL"})

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
		return append(checks, Check{Name: "PostgreSQL tables", Detail: err.Error()})
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
		checks = append(checks, Check{Name: "PostgreSQL schema", Detail: "missing tables: " + strings.Join(missing, ", "),
			Fix: "apply deploy/postgres/schema.sql (psql -f deploy/postgres/schema.sql)"})
	} else {
		checks = append(checks, Check{Name: "PostgreSQL schema", OK: true, Detail: "the five tables exist"})
	}
	if len(missing) == 0 {
		c := Check{Name: "PostgreSQL replica identity FULL", OK: len(notFull) == 0, Detail: "all five tables"}
		if len(notFull) > 0 {
			c.Detail = "not FULL: " + strings.Join(notFull, ", ")
			c.Fix = "ALTER TABLE <table> REPLICA IDENTITY FULL for each (deploy/postgres/schema.sql does it)"
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
		return append(checks, Check{Name: "PostgreSQL publication drivetrain", Detail: err.Error()})
	}
	var unpublished []string
	for _, n := range names {
		if !published[n] {
			unpublished = append(unpublished, n)
		}
	}
	pc := Check{Name: "PostgreSQL publication drivetrain", OK: len(unpublished) == 0, Detail: "covers the five tables"}
	if len(unpublished) > 0 {
		pc.Detail = "does not cover: " + strings.Join(unpublished, ", ")
		pc.Fix = "CREATE PUBLICATION drivetrain FOR TABLE customers, vehicles, orders, order_items, payments (or ALTER PUBLICATION … ADD TABLE)"
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

// Kafka checks the brokers (reachable through kafka's TLS and SASL), the
// five <prefix>.public.* topics, co-partitioning and compaction.
func Kafka(ctx context.Context, kafka config.Kafka, prefix string) []Check {
	where := strings.Join(kafka.Brokers, ",")
	opts, err := kafka.ClientOpts()
	if err != nil {
		return []Check{{Name: "Kafka reachable", Detail: err.Error(), Fix: "check the kafka section of the configuration"}}
	}
	cl, err := kgo.NewClient(append(opts, kgo.DialTimeout(3*time.Second))...)
	if err != nil {
		return []Check{{Name: "Kafka reachable", Detail: err.Error(), Fix: "check --kafka / DRIVETRAIN_KAFKA_BROKERS"}}
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return []Check{{Name: "Kafka reachable", Detail: fmt.Sprintf("%s: %v", where, err),
			Fix: "start it (make stack-up) or set --kafka / DRIVETRAIN_KAFKA_BROKERS"}}
	}
	checks := []Check{{Name: "Kafka reachable", OK: true, Detail: fmt.Sprintf("%s, %d broker(s), cluster %s", where, len(meta.Brokers), meta.Cluster)}}

	topics := make([]string, len(topology.Tables))
	for i, t := range topology.Tables {
		topics[i] = topicOf(prefix, t)
	}
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return append(checks, Check{Name: "Kafka topics", Detail: err.Error()})
	}
	var missing []string
	for _, t := range topics {
		if d, ok := details[t]; !ok || d.Err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return append(checks, Check{Name: "Kafka topics", Detail: "missing: " + strings.Join(missing, ", "),
			Fix: "register the connector (drivetrain connector register); Debezium creates each topic with the first change of its table"})
	}
	checks = append(checks, Check{Name: "Kafka topics", OK: true, Detail: "the five " + prefix + ".public.* topics exist"})

	counts := map[int][]string{}
	for _, t := range orderStreamTables {
		name := topicOf(prefix, t)
		n := len(details[name].Partitions)
		counts[n] = append(counts[n], fmt.Sprintf("%s=%d", t, n))
	}
	cp := Check{Name: "Kafka co-partitioning", OK: len(counts) == 1}
	var parts []string
	for _, v := range counts {
		parts = append(parts, v...)
	}
	sort.Strings(parts)
	cp.Detail = "partitions " + strings.Join(parts, ", ")
	if !cp.OK {
		cp.Fix = "orders, order_items and payments need the same partition count (and the connector's partition.topic.num); recreate the topics with equal counts"
	}
	checks = append(checks, cp)

	cfgs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return append(checks, Check{Name: "Kafka compaction", Detail: err.Error()})
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
	cc := Check{Name: "Kafka compaction", OK: len(notCompacted) == 0, Detail: "cleanup.policy=compact on the five topics"}
	if !cc.OK {
		cc.Detail = "not compacted: " + strings.Join(notCompacted, ", ")
		cc.Fix = "kafka-configs --alter --entity-type topics --entity-name <topic> --add-config cleanup.policy=compact (state rebuilds read compacted topics from the start)"
	}
	return append(checks, cc)
}

// Connector checks that Kafka Connect answers at base and that connector
// name and its tasks run.
func Connector(ctx context.Context, base, name string) []Check {
	cc, err := connect.NewClient(base)
	if err != nil {
		return []Check{{Name: "Kafka Connect reachable", Detail: err.Error()}}
	}
	st, err := cc.Status(ctx, name)
	switch {
	case errors.Is(err, connect.ErrNotFound):
		return []Check{
			{Name: "Kafka Connect reachable", OK: true, Detail: HostOf(base)},
			{Name: "Debezium connector " + name, Detail: "not registered", Fix: "drivetrain connector register"},
		}
	case err != nil:
		return []Check{{Name: "Kafka Connect reachable", Detail: err.Error(), Fix: "start it (make stack-up) or set --connect / DRIVETRAIN_CONNECT_URL"}}
	}
	c := Check{Name: "Debezium connector " + name, OK: st.Running(), Detail: st.Describe()}
	if !c.OK {
		c.Fix = "see 'drivetrain connector status' for the error trace; 'drivetrain connector register' restarts a failed connector"
	}
	return []Check{{Name: "Kafka Connect reachable", OK: true, Detail: HostOf(base)}, c}
}

// ClickHouse checks that the server of cfg (the clickhouse section: URL,
// user, TLS) answers, and reports its version.
func ClickHouse(ctx context.Context, cfg sinks.Config) []Check {
	fix := "start it (make stack-up) or set clickhouse.addr (--clickhouse, DRIVETRAIN_CLICKHOUSE_URL)"
	where := HostOf(cfg.Addr)
	c, err := sinks.Dial(ctx, cfg, zerolog.Nop())
	if err != nil {
		return []Check{{Name: "ClickHouse reachable", Detail: fmt.Sprintf("%s: %v", where, err), Fix: fix}}
	}
	defer c.Close()
	return []Check{{Name: "ClickHouse reachable", OK: true, Detail: where + ", ClickHouse " + c.ServerVersion().String()}}
}

// ConsumerLag checks group's lag on the order-stream topics (end offset
// minus committed offset, or minus the log start where the group committed
// nothing) against maxLag, the threshold of the nodes' /readyz
// (ready_max_lag). A group that never committed and has no member passes:
// no node has started yet. The global tables are not committed by the
// group: each node's lag on them is on its /status.
func ConsumerLag(ctx context.Context, kafka config.Kafka, group, prefix string, maxLag int64) []Check {
	name := "Kafka consumer group " + group
	opts, err := kafka.ClientOpts()
	if err != nil {
		return []Check{{Name: name, Detail: err.Error(), Fix: "check the kafka section of the configuration"}}
	}
	cl, err := kgo.NewClient(append(opts, kgo.DialTimeout(3*time.Second))...)
	if err != nil {
		return []Check{{Name: name, Detail: err.Error()}}
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics := make([]string, len(orderStreamTables))
	for i, t := range orderStreamTables {
		topics[i] = topicOf(prefix, t)
	}
	l, err := measureLag(ctx, adm, group, topics)
	if err != nil {
		return []Check{{Name: name, Detail: err.Error()}}
	}
	c := Check{Name: name, OK: l.total <= maxLag}
	switch {
	case l.members == 0 && !l.committed:
		// Before the first node starts there is nothing to be behind:
		// the check passes, saying so.
		c.OK = true
		c.Detail = fmt.Sprintf("no node has joined yet (nothing committed); %d records waiting", l.total)
	case l.members == 0:
		c.Detail = fmt.Sprintf("no live member, lag %d", l.total)
	default:
		c.Detail = fmt.Sprintf("%d member(s), lag %d", l.members, l.total)
	}
	c.Detail += fmt.Sprintf(" (ready_max_lag %d)", maxLag)
	if !c.OK {
		if l.members == 0 {
			c.Fix = fmt.Sprintf("start the nodes (drivetrain run, processor.group %s)", group)
		} else {
			c.Fix = "the nodes fall behind: see 'drivetrain status --nodes …' for the partitions behind and each node's reason; add nodes or check ClickHouse"
		}
	}
	return []Check{c}
}

type groupLag struct {
	total     int64
	members   int
	committed bool
}

func measureLag(ctx context.Context, adm *kadm.Client, group string, topics []string) (groupLag, error) {
	var l groupLag
	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return l, fmt.Errorf("describing the group: %w", err)
	}
	if g, ok := groups[group]; ok && g.Err == nil {
		l.members = len(g.Members)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return l, fmt.Errorf("listing start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return l, fmt.Errorf("listing end offsets: %w", err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil // a group that never committed
	}
	if err != nil {
		return l, fmt.Errorf("fetching the group's offsets: %w", err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		at := int64(0)
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok {
			at = s.Offset
		}
		if c, ok := committed.Lookup(o.Topic, o.Partition); ok && c.Err == nil && c.At >= 0 {
			at, l.committed = c.At, true
		}
		l.total += max(o.Offset-at, 0)
	})
	return l, nil
}
