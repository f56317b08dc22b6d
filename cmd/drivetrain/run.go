package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/tool/observe"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

var runCommand = command{
	name:    "run",
	summary: "start a processor node: joins the cluster through the Kafka consumer group and writes facts to ClickHouse",
	run:     runRun,
}

// runConfig is the YAML config of `drivetrain run` (see config.go for the
// file, environment and flag layers).
type runConfig struct {
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
	// node's probes (a query of ClickHouse and a metadata request to
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
	// Kafka secures every Kafka connection of the node: TLS and SASL
	// (SCRAM-SHA-256/512, PLAIN).
	Kafka kafkaSecurity `yaml:"kafka"`
	// Processor configures the node: Kafka, group, state directory,
	// credits (actors.Config).
	Processor actors.Config `yaml:"processor"`
	// ClickHouse configures the output (sinks.Config).
	ClickHouse sinks.Config `yaml:"clickhouse"`
}

// runEnvAliases are the short environment variables every command reads.
var runEnvAliases = map[string]string{
	"DRIVETRAIN_KAFKA_BROKERS":  "processor.brokers",
	"DRIVETRAIN_TOPIC_PREFIX":   "processor.topic_prefix",
	"DRIVETRAIN_CLICKHOUSE_URL": "clickhouse.addr",
}

func defaultRunConfig() runConfig {
	c := runConfig{HTTPAddr: "127.0.0.1:18090", ShutdownTimeout: time.Minute, ReadyMaxLag: 100_000, ReadyMaxStall: 2 * time.Minute, ReadyMaxUnreachable: 30 * time.Second, SummaryInterval: 30 * time.Second}
	c.Processor.Brokers = []string{defaultKafka}
	c.Processor.StateDir = "drivetrain-state"
	if h, err := os.Hostname(); err == nil {
		c.Processor.NodeID = h
	}
	c.ClickHouse.Addr = defaultClickHouse
	return c
}

// nodeFlags are the flags of the commands that run a node (run, replay)
// on top of the config file and the environment.
type nodeFlags struct {
	fs                                                             *flagSet
	configPath                                                     *string
	nodeID, stateDir, httpAddr, kafka, clickhouse, database, group *string
	// pprofAddr is registered by run only: replay serves no HTTP.
	pprofAddr *string
}

func registerNodeFlags(fs *flagSet) *nodeFlags {
	return &nodeFlags{
		fs:         fs,
		configPath: fs.String("config", "", "YAML config file (see the README for its keys); environment variables DRIVETRAIN_<PATH> override it, flags override both"),
		nodeID:     fs.String("node-id", "", "node name (processor.node_id; default the host name)"),
		stateDir:   fs.String("state-dir", "", "state directory (processor.state_dir; default ./drivetrain-state)"),
		httpAddr:   fs.String("http-addr", "", "address of /metrics, /healthz, /readyz, /status (http_addr; default 127.0.0.1:18090); a client has 10s to send a request and 30s to read the answer, idle connections close after 60s; no /debug/pprof here (pprof_addr)"),
		kafka:      fs.String("kafka", "", "Kafka brokers, comma-separated (processor.brokers)"),
		clickhouse: fs.String("clickhouse", "", "ClickHouse URL (clickhouse.addr)"),
		database:   fs.String("database", "", "ClickHouse database (clickhouse.database; default drivetrain)"),
		group:      fs.String("group", "", "consumer group (processor.group; default drivetrain)"),
	}
}

// load returns the effective config (defaults, file, environment, flags)
// and a name for where it came from, for error messages.
func (f *nodeFlags) load() (runConfig, string, error) {
	cfg := defaultRunConfig()
	where := "config"
	if *f.configPath != "" {
		where = "config " + *f.configPath
		if err := loadYAML(*f.configPath, &cfg); err != nil {
			return cfg, where, err
		}
	}
	if err := envOverrides(&cfg, runEnvAliases); err != nil {
		return cfg, where, err
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	apply := func(flag string, dst *string, v string) {
		if set[flag] {
			*dst = v
		}
	}
	apply("node-id", &cfg.Processor.NodeID, *f.nodeID)
	apply("state-dir", &cfg.Processor.StateDir, *f.stateDir)
	apply("http-addr", &cfg.HTTPAddr, *f.httpAddr)
	if f.pprofAddr != nil {
		apply("pprof-addr", &cfg.PprofAddr, *f.pprofAddr)
	}
	apply("clickhouse", &cfg.ClickHouse.Addr, *f.clickhouse)
	apply("database", &cfg.ClickHouse.Database, *f.database)
	apply("group", &cfg.Processor.Group, *f.group)
	if set["kafka"] {
		cfg.Processor.Brokers = (&endpoints{kafka: *f.kafka}).brokers()
	}
	if err := cfg.ClickHouse.Validate(); err != nil {
		return cfg, where, fmt.Errorf("%s: clickhouse: %w", where, err)
	}
	if cfg.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(observe.PprofListenAddr(cfg.PprofAddr)); err != nil {
			return cfg, where, fmt.Errorf("%s: pprof_addr %q is not host:port or :port", where, cfg.PprofAddr)
		}
		if observe.PprofListenAddr(cfg.PprofAddr) == cfg.HTTPAddr {
			return cfg, where, fmt.Errorf("%s: pprof_addr must differ from http_addr (%s): profiles are not served with /metrics", where, cfg.HTTPAddr)
		}
	}
	if cfg.ShutdownTimeout <= 0 {
		return cfg, where, fmt.Errorf("%s: shutdown_timeout must be positive, got %s", where, cfg.ShutdownTimeout)
	}
	if _, err := cfg.Kafka.opts(); err != nil {
		return cfg, where, fmt.Errorf("%s: %w", where, err)
	}
	return cfg, where, nil
}

func runRun(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	nf := registerNodeFlags(fs)
	printConfig := fs.Bool("print-config", false, "print the effective config (secrets masked) and exit")
	nf.pprofAddr = fs.String("pprof-addr", "", "serve Go's /debug/pprof profiles on this address, off by default (pprof_addr); "+
		"a bare :port listens on 127.0.0.1 only; profiles and traces are refused above 60s; never the http-addr")
	readyMaxUnreachable := fs.Duration("ready-max-unreachable", 0, "/readyz fails once ClickHouse or Kafka have failed the node's probes (every 5s) "+
		"for this long, and succeeds again at their first answer; /healthz stays a liveness check (ready_max_unreachable; default 30s; 0: never)")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, where, err := nf.load()
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "ready-max-unreachable" {
			cfg.ReadyMaxUnreachable = *readyMaxUnreachable
		}
	})
	if cfg.ReadyMaxUnreachable < 0 {
		return fmt.Errorf("%s: ready_max_unreachable must not be negative, got %s", where, cfg.ReadyMaxUnreachable)
	}
	if *printConfig {
		shown := cfg
		shown.Processor = cfg.Processor.WithDefaults()
		shown.ClickHouse = cfg.ClickHouse.WithDefaults()
		if shown.Processor.SinkBatch == (sinks.BatchConfig{}) {
			shown.Processor.SinkBatch = shown.ClickHouse.Batch
		}
		out, err := maskedYAML(&shown)
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(out)
		return err
	}

	log := a.log
	status := observe.NewSource(cfg.Processor.NodeID, observe.Readiness{
		MaxLag: cfg.ReadyMaxLag, MaxStall: cfg.ReadyMaxStall, MaxUnreachable: cfg.ReadyMaxUnreachable,
	})
	prom := observe.NewMetrics(status.Snapshot, cfg.Processor.StateDir)
	srv := observe.NewServer(status.Status, prom.Handler())
	ln, err := srv.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	var pp *observe.PprofServer
	var pln net.Listener
	if cfg.PprofAddr != "" {
		pp = observe.NewPprofServer()
		if pln, err = pp.Listen(cfg.PprofAddr); err != nil {
			_ = ln.Close()
			return err
		}
	}

	// Signals: the first stops the node gracefully within
	// ShutdownTimeout; a second one aborts.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			log.Info().Str("signal", s.String()).Dur("timeout", cfg.ShutdownTimeout).Msg("shutting down: stopping intake, flushing sinks, committing, leaving the group (a second signal aborts)")
			cancel()
		case <-ctx.Done():
			return
		}
		select {
		case s := <-sigs:
			log.Error().Str("signal", s.String()).Msg("second signal: aborting without flushing")
			os.Exit(130)
		case <-time.After(cfg.ShutdownTimeout):
			log.Error().Dur("timeout", cfg.ShutdownTimeout).Msg("graceful shutdown took too long: aborting")
			os.Exit(1)
		}
	}()
	go func() { _ = srv.Serve(ctx, ln) }()
	if pp != nil {
		ev := log.Info()
		if !observe.IsLoopback(pln.Addr().String()) {
			ev = log.Warn().Str("risk", "profiles and traces reveal the process's memory and code paths to whoever reaches this address")
		}
		ev.Str("addr", pln.Addr().String()).Msg("serving /debug/pprof (pprof_addr)")
		go func() { _ = pp.Serve(ctx, pln) }()
	}

	client, err := dialClickHouse(ctx, cfg.ClickHouse, status, log)
	if err != nil {
		return err
	}
	if client == nil {
		return nil // stopped while waiting
	}
	defer client.Close()
	schema, err := client.EnsureSchema(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("preparing clickhouse tables: %w", err)
	}
	if cfg.Processor.SinkBatch == (sinks.BatchConfig{}) {
		cfg.Processor.SinkBatch = cfg.ClickHouse.Batch
	}
	facts := observe.NewFactCounter(schema.FactWriter(), prom)
	mirrors := map[topology.Table]actors.Writer[topology.Mirror]{}
	counters := map[string]*observe.MirrorCounter{}
	for _, t := range topology.Tables {
		mc := observe.NewMirrorCounter(schema.MirrorWriter(t), t.String(), prom)
		mirrors[t], counters[t.String()] = mc, mc
	}
	kafkaOpts, _ := cfg.Kafka.opts() // validated by load
	node, err := actors.NewNode(cfg.Processor, actors.Deps{
		Log:       log,
		Facts:     facts,
		Mirrors:   mirrors,
		Retryable: sinks.IsRetryable,
		KafkaOpts: kafkaOpts,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	prefix := cfg.Processor.TopicPrefix
	if prefix == "" {
		prefix = actors.DefaultTopicPrefix
	}
	groupID := cfg.Processor.Group
	if groupID == "" {
		groupID = actors.DefaultGroup
	}
	var streamTopics, globalTopics []string
	for _, t := range topology.Tables {
		if t.Global() {
			globalTopics = append(globalTopics, prefix+".public."+t.String())
		} else {
			streamTopics = append(streamTopics, prefix+".public."+t.String())
		}
	}
	kcl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Processor.Brokers...)}, kafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("creating a Kafka client: %w", err)
	}
	defer kcl.Close()
	adm := kadm.NewClient(kcl)
	lag := observe.NewLagWatcher(adm, groupID, streamTopics, globalTopics)
	go lag.Run(ctx)
	probes := observe.NewProber(5*time.Second,
		observe.Probe{Name: "clickhouse", Check: func(ctx context.Context) error {
			_, err := client.Query(ctx, "SELECT toString(1)", 1)
			return err
		}},
		observe.Probe{Name: "kafka", Check: func(ctx context.Context) error {
			_, err := adm.BrokerMetadata(ctx)
			return err
		}})
	go probes.Run(ctx)
	status.Attach(observe.Figures{Node: node, Facts: facts, Mirrors: counters, Lag: lag, Probes: probes})
	if cfg.SummaryInterval > 0 {
		go observe.LogSummaries(ctx, log, cfg.SummaryInterval, status.Status)
	}
	log.Info().Str("clickhouse", client.String()).Str("http", ln.Addr().String()).Strs("brokers", cfg.Processor.Brokers).Msg("node starting")
	if err := node.Run(ctx); err != nil {
		return err
	}
	log.Info().Msg("node stopped")
	return nil
}

// dialClickHouse connects, retrying with backoff while the server is
// unreachable (reported on /readyz); a configuration or authentication
// error stops at once. It returns nil, nil when ctx ends first.
func dialClickHouse(ctx context.Context, cfg sinks.Config, st *observe.Source, log zerolog.Logger) (*sinks.Client, error) {
	backoff := 200 * time.Millisecond
	for {
		client, err := sinks.Dial(ctx, cfg, log)
		if err == nil {
			return client, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if !sinks.IsRetryable(err) {
			return nil, fmt.Errorf("connecting to clickhouse: %w", err)
		}
		st.SetReason("clickhouse unreachable: " + err.Error())
		log.Warn().Err(err).Dur("retry_in", backoff).Msg("clickhouse unreachable; retrying")
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
