package main

import (
	"context"
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
	"github.com/drivetrain-cdc/drivetrain/tool/config"
	"github.com/drivetrain-cdc/drivetrain/tool/observe"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

var runCommand = command{
	name:    "run",
	summary: "start a processor node: joins the cluster through the Kafka consumer group and writes facts to ClickHouse",
	run:     runRun,
}

// runConfig is the configuration of `drivetrain run` and `replay`: the
// one every command reads (tool/config).
type runConfig = config.Config

func runRun(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	nf := registerNodeFlags(fs)
	printConfig := fs.Bool("print-config", false, "print the effective config (secrets masked) and exit")
	var pprofAddr, readyMaxUnreachable string
	fs.keyString(&pprofAddr, "pprof-addr", "pprof_addr", "serve Go's /debug/pprof profiles on this address, off by default; "+
		"a bare :port listens on 127.0.0.1 only; profiles and traces are refused above 60s; never the http-addr")
	fs.keyString(&readyMaxUnreachable, "ready-max-unreachable", "ready_max_unreachable", "/readyz fails once ClickHouse or Kafka have failed the node's probes (every 5s) "+
		"for this long, and succeeds again at their first answer; /healthz stays a liveness check; 0: never")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, where, err := nf.load()
	if err != nil {
		return err
	}
	if *printConfig {
		out, err := cfg.Effective().MaskedYAML()
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
	facts := observe.NewFactCounter(schema.FactWriter(), prom)
	mirrors := map[topology.Table]actors.Writer[topology.Mirror]{}
	counters := map[string]*observe.MirrorCounter{}
	for _, t := range topology.Tables {
		mc := observe.NewMirrorCounter(schema.MirrorWriter(t), t.String(), prom)
		mirrors[t], counters[t.String()] = mc, mc
	}
	kafkaOpts, err := cfg.Kafka.SecurityOpts()
	if err != nil {
		return err
	}
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
	// The client of the lag watcher and the Kafka probe, named after the
	// node like its other clients.
	kcl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Processor.Brokers...), kgo.ClientID(cfg.Processor.NodeID + "-observe")}, kafkaOpts...)...)
	if err != nil {
		return fmt.Errorf("creating a Kafka client: %w", err)
	}
	defer kcl.Close()
	adm := kadm.NewClient(kcl)
	lag := observe.NewLagWatcher(adm, groupID, streamTopics, globalTopics)
	go lag.Run(ctx)
	probes := observe.NewProber(5*time.Second, observe.ClickHouseProbe(client), observe.KafkaProbe(kcl))
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
