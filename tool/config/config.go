// Package config is the configuration of every drivetrain command: one
// schema (Config), read in layers of increasing precedence: the defaults,
// the YAML file of --config, DRIVETRAIN_* environment variables, and the
// command's flags (Load). Every command reads the same keys; a command
// uses the sections it needs (run: all of them; status: kafka and
// processor's topic prefix and group; report: clickhouse) and ignores
// the others, but a key no command knows fails every command.
//
// One key sets one thing: the Kafka brokers and security of every Kafka
// client are the kafka section's, the ClickHouse sink's batches are
// clickhouse.batch. processor.brokers and processor.sink_batch, which
// would set those a second time, are refused with a message naming the
// key to use instead.
//
// The environment variable of a key is DRIVETRAIN_ followed by the key's
// path in upper case with "_" between the parts (kafka.sasl.user is
// DRIVETRAIN_KAFKA_SASL_USER). Two keys also have a short name, read
// when the long one is unset: DRIVETRAIN_CLICKHOUSE_URL (clickhouse.addr)
// and DRIVETRAIN_TOPIC_PREFIX (processor.topic_prefix); both set to
// different values is an error. Lists are comma-separated, durations are
// Go durations ("200ms", "1m"); an empty variable counts as unset.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/state"
)

// Defaults that point at the local stack of deploy/local.
const (
	DefaultKafkaBrokers = "127.0.0.1:19092"
	DefaultClickHouse   = "http://127.0.0.1:18123"
	DefaultPostgresDSN  = "postgres://drivetrain:drivetrain@127.0.0.1:15432/ecommerce?sslmode=disable"
	DefaultConnectURL   = "http://127.0.0.1:18083"
	DefaultClientID     = "drivetrain"
	DefaultStateDir     = "drivetrain-state"
	DefaultHTTPAddr     = "127.0.0.1:18090"
)

// Config is the configuration of every command. Default returns it with
// every default set; Load layers a file, the environment and flags on
// top. The top-level keys above the sections configure `drivetrain run`.
type Config struct {
	// HTTPAddr serves /healthz, /readyz, /status and /metrics. Default
	// 127.0.0.1:18090 (loopback). Clients have 10 s to send a request and
	// 30 s to read the answer; idle keep-alive connections are closed
	// after 60 s.
	HTTPAddr string `yaml:"http_addr"`
	// PprofAddr, when set, serves Go's /debug/pprof profiles on an address
	// of their own; default "" (off). A bare port (":6060") listens on
	// 127.0.0.1 only. Profiles and traces are refused above 60 seconds.
	PprofAddr string `yaml:"pprof_addr"`
	// ReadyMaxLag is the consumer lag (records of the order-stream topics
	// not yet committed) above which /readyz reports not ready. Default
	// 100000.
	ReadyMaxLag int64 `yaml:"ready_max_lag"`
	// ReadyMaxStall is how long a partition may have work (rows not yet
	// acknowledged, records or refreshes waiting) without progress (no
	// acknowledgement) before /readyz reports the node not ready: a sink
	// that takes nothing, an actor stuck on a batch. Default 2m; 0: never.
	ReadyMaxStall time.Duration `yaml:"ready_max_stall"`
	// ReadyMaxUnreachable is how long ClickHouse or Kafka may fail the
	// node's probes (a query of ClickHouse and an ApiVersions request to
	// Kafka, every 5 s) before /readyz reports the node not ready; it is
	// ready again at the first probe that succeeds. Default 30s; 0: never.
	ReadyMaxUnreachable time.Duration `yaml:"ready_max_unreachable"`
	// SummaryInterval is how often the node logs its one-line summary
	// (events consumed, rows written, lag, backlog, freshness, dead
	// letters). Default 30s; negative: never.
	SummaryInterval time.Duration `yaml:"summary_interval"`
	// ShutdownTimeout bounds a graceful shutdown (stop intake, flush the
	// sinks, commit, leave the group) after SIGTERM or SIGINT; a second
	// signal aborts at once. Default 60s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`

	// Kafka is how every Kafka client of every command connects: brokers,
	// TLS, SASL, client id.
	Kafka Kafka `yaml:"kafka"`
	// ClickHouse is the output (run, replay) and what report and health
	// read; its batch settings size the sink actors' batches too.
	ClickHouse sinks.Config `yaml:"clickhouse"`
	// Postgres is the source database (generate, health, demo).
	Postgres Postgres `yaml:"postgres"`
	// Connect is the Kafka Connect worker (connector, health, demo).
	Connect Connect `yaml:"connect"`
	// Processor configures a node (actors.Config): topic prefix and
	// consumer group (which status, health and replay read too), state,
	// credits, timeouts. Its brokers are kafka.brokers and its sink
	// batches clickhouse.batch; Load copies them in.
	Processor actors.Config `yaml:"processor"`
}

// Postgres is the source database.
type Postgres struct {
	// DSN is a PostgreSQL connection string (URL or key=value form).
	// Default: the local stack's database.
	DSN string `yaml:"dsn"`
}

// Connect is the Kafka Connect worker running the Debezium connector.
type Connect struct {
	// URL is the worker's REST URL. Default: the local stack's.
	URL string `yaml:"url"`
}

// Default returns the configuration with every default set: the local
// stack's addresses, the node id the host name.
func Default() Config {
	c := Config{
		HTTPAddr:            DefaultHTTPAddr,
		ReadyMaxLag:         100_000,
		ReadyMaxStall:       2 * time.Minute,
		ReadyMaxUnreachable: 30 * time.Second,
		SummaryInterval:     30 * time.Second,
		ShutdownTimeout:     time.Minute,
		Kafka:               Kafka{Brokers: []string{DefaultKafkaBrokers}, ClientID: DefaultClientID},
		Postgres:            Postgres{DSN: DefaultPostgresDSN},
		Connect:             Connect{URL: DefaultConnectURL},
	}
	c.ClickHouse.Addr = DefaultClickHouse
	c.Processor.TopicPrefix = actors.DefaultTopicPrefix
	c.Processor.Group = actors.DefaultGroup
	c.Processor.StateDir = DefaultStateDir
	if h, err := os.Hostname(); err == nil && h != "" {
		c.Processor.NodeID = h
	}
	return c
}

// Validate reports the first invalid value, naming its key. It reads no
// file (TLS certificates and password files are read when a client is
// made).
func (c Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.ClickHouse.Validate(); err != nil {
		return clickhouseError(err)
	}
	switch {
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("shutdown_timeout must be positive, got %s", c.ShutdownTimeout)
	case c.ReadyMaxStall < 0:
		return fmt.Errorf("ready_max_stall must not be negative, got %s", c.ReadyMaxStall)
	case c.ReadyMaxUnreachable < 0:
		return fmt.Errorf("ready_max_unreachable must not be negative, got %s", c.ReadyMaxUnreachable)
	case c.Postgres.DSN == "":
		return errors.New("postgres.dsn must not be empty")
	case c.Connect.URL == "":
		return errors.New("connect.url must not be empty")
	case !c.Processor.StateCheckpointWrite.Valid():
		return fmt.Errorf("processor.state_checkpoint_write: %q is not one of %s", c.Processor.StateCheckpointWrite, state.CheckpointWritesText())
	}
	return nil
}

// clickhouseError names the key of a sinks.Config validation error, which
// names the Go field ("invalid clickhouse config: TableSuffix: …" becomes
// "clickhouse.table_suffix: …").
func clickhouseError(err error) error {
	rest, ok := strings.CutPrefix(err.Error(), sinks.ErrInvalidConfig.Error()+": ")
	if !ok {
		return fmt.Errorf("clickhouse: %w", err)
	}
	field, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return fmt.Errorf("clickhouse: %w", err)
	}
	parts := strings.Split(strings.TrimSuffix(field, "."), ".")
	for i, p := range parts {
		parts[i] = snake(p)
	}
	key := "clickhouse." + strings.Join(parts, ".")
	for _, k := range Keys() {
		if k == key || strings.HasPrefix(k, key+".") {
			return fmt.Errorf("%s: %s", key, msg)
		}
	}
	return fmt.Errorf("clickhouse: %w", err)
}

// snake turns a Go field name into its key: CatchUpDelay is
// catch_up_delay, CAFile ca_file, TLS tls.
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		upper := unicode.IsUpper(c)
		if upper && i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
