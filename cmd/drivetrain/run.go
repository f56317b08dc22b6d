package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/sinks"
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
	c := runConfig{HTTPAddr: "127.0.0.1:18090", ShutdownTimeout: time.Minute, ReadyMaxLag: 100_000, ReadyMaxStall: 2 * time.Minute, SummaryInterval: 30 * time.Second}
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
		if _, _, err := net.SplitHostPort(pprofListenAddr(cfg.PprofAddr)); err != nil {
			return cfg, where, fmt.Errorf("%s: pprof_addr %q is not host:port or :port", where, cfg.PprofAddr)
		}
		if pprofListenAddr(cfg.PprofAddr) == cfg.HTTPAddr {
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
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, where, err := nf.load()
	if err != nil {
		return err
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
	srvStatus := &nodeStatusSource{id: cfg.Processor.NodeID}
	prom := newNodeMetrics(srvStatus.metrics, cfg.Processor.StateDir)
	srv := newStatusServer(srvStatus.get, prom.handler())
	ln, err := srv.listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	var pp *pprofServer
	var pln net.Listener
	if cfg.PprofAddr != "" {
		pp = newPprofServer()
		if pln, err = pp.listen(cfg.PprofAddr); err != nil {
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
	go func() { _ = srv.serve(ctx, ln) }()
	if pp != nil {
		ev := log.Info()
		if !isLoopback(pln.Addr().String()) {
			ev = log.Warn().Str("risk", "profiles and traces reveal the process's memory and code paths to whoever reaches this address")
		}
		ev.Str("addr", pln.Addr().String()).Msg("serving /debug/pprof (pprof_addr)")
		go func() { _ = pp.serve(ctx, pln) }()
	}

	client, err := dialClickHouse(ctx, cfg.ClickHouse, srvStatus, log)
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
	facts := &factCounter{w: schema.FactWriter(), freshness: newHistogram(), now: time.Now, since: time.Now().UnixMicro(),
		insert: prom.insertObserver("sales_facts"), promFreshness: prom.freshness}
	mirrors := map[topology.Table]actors.Writer[topology.Mirror]{}
	counters := map[string]*mirrorCounter{}
	for _, t := range topology.Tables {
		mc := &mirrorCounter{w: schema.MirrorWriter(t), insert: prom.insertObserver(t.String())}
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
	var streamTopics []string
	for _, t := range orderStreamTables {
		streamTopics = append(streamTopics, prefix+".public."+t.String())
	}
	lag, lagClient, err := newLagWatcher(append([]kgo.Opt{kgo.SeedBrokers(cfg.Processor.Brokers...)}, kafkaOpts...), groupID, streamTopics)
	if err != nil {
		return fmt.Errorf("creating a Kafka client: %w", err)
	}
	defer lagClient.Close()
	go lag.run(ctx)
	srvStatus.set(node, facts, counters, lag, cfg.ReadyMaxLag, cfg.ReadyMaxStall)
	if cfg.SummaryInterval > 0 {
		go logSummaries(ctx, log, cfg.SummaryInterval, srvStatus.get)
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
func dialClickHouse(ctx context.Context, cfg sinks.Config, st *nodeStatusSource, log zerolog.Logger) (*sinks.Client, error) {
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
		st.setReason("clickhouse unreachable: " + err.Error())
		log.Warn().Err(err).Dur("retry_in", backoff).Msg("clickhouse unreachable; retrying")
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// nodeStatusSource feeds /status and /readyz from the node once it exists.
type nodeStatusSource struct {
	id      string
	mu      sync.Mutex
	node    *actors.Node
	facts   *factCounter
	mirrors map[string]*mirrorCounter
	lag     *lagWatcher
	maxLag  int64
	// maxStall: see runConfig.ReadyMaxStall.
	maxStall time.Duration
	reason   string
}

func (s *nodeStatusSource) set(n *actors.Node, facts *factCounter, mirrors map[string]*mirrorCounter, lag *lagWatcher, maxLag int64, maxStall time.Duration) {
	s.mu.Lock()
	s.node, s.facts, s.mirrors, s.lag, s.maxLag, s.maxStall, s.reason = n, facts, mirrors, lag, maxLag, maxStall, ""
	s.mu.Unlock()
}

func (s *nodeStatusSource) setReason(r string) {
	s.mu.Lock()
	s.reason = r
	s.mu.Unlock()
}

func (s *nodeStatusSource) get() nodeStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := nodeStatus{Node: s.id, Reason: s.reason}
	if s.node == nil {
		if st.Reason == "" {
			st.Reason = "starting"
		}
		return st
	}
	ns := s.node.Stats()
	st.SinkBacklog = ns.InflightRows + ns.BufferedRows
	st.DLQ = ns.DeadLetters
	st.Consumed = ns.Consumed
	st.Bootstrapped = s.node.Ready()
	st.FactsWritten = s.facts.written.Load()
	st.Freshness = s.facts.freshness.summary()
	st.RowsWritten = map[string]int64{"sales_facts": st.FactsWritten}
	for t, c := range s.mirrors {
		st.RowsWritten[t] = c.written.Load()
	}
	lag, measured, lastCommit, err := s.lag.snapshot()
	st.Lag, st.LastCommit = lag, lastCommit
	st.State = nodeState(s.node)
	if s.maxStall > 0 {
		st.Stalled = s.node.Stalled(s.maxStall)
	}
	switch {
	case !st.Bootstrapped:
		st.Reason = "bootstrapping the global tables or joining the group"
	case err != nil:
		st.Reason = "measuring consumer lag: " + err.Error()
	case !measured:
		st.Reason = "measuring consumer lag"
	case lag > s.maxLag:
		st.Reason = fmt.Sprintf("consumer lag %d above %d", lag, s.maxLag)
	case len(st.Stalled) > 0:
		st.Reason = fmt.Sprintf("partitions %v have had work and made no progress for over %v (is ClickHouse taking rows?)", st.Stalled, s.maxStall)
	default:
		st.Ready = true
	}
	// A global table bootstrapped from nothing sends its mirror rows once
	// bootstrapped; between two chunks nothing may be in flight.
	st.Idle = st.Ready && lag == 0 && st.SinkBacklog == 0 && ns.Snapshots == 0
	return st
}

// logSummaries logs one line per interval with the node's figures.
func logSummaries(ctx context.Context, log zerolog.Logger, every time.Duration, status func() nodeStatus) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := status()
		var consumed, written, dlq int64
		for _, v := range st.Consumed {
			consumed += v
		}
		for _, v := range st.RowsWritten {
			written += v
		}
		for _, v := range st.DLQ {
			dlq += v
		}
		log.Info().Bool("ready", st.Ready).Bool("idle", st.Idle).Int64("consumed", consumed).Int64("rows_written", written).
			Int64("facts_written", st.FactsWritten).Int64("lag", st.Lag).Int64("sink_backlog", st.SinkBacklog).
			Int64("dead_letters", dlq).Float64("freshness_p99_ms", st.Freshness.P99).Msg("summary")
	}
}
