package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Deps are what a node needs besides its Config: the logger, the output
// writers and options for its clients.
type Deps struct {
	// Log is the root logger. The node logs through child loggers with
	// component (and topic, partition, table) fields.
	Log zerolog.Logger
	// Facts writes sales_facts. Required.
	Facts Writer[topology.Fact]
	// Mirrors writes the mirror tables, one writer per source table.
	// Required for all five.
	Mirrors map[topology.Table]Writer[topology.Mirror]
	// Retryable tells transient write errors, which are retried with
	// backoff, from permanent ones, which stop the node. nil: no error is
	// retryable. cmd passes sinks.IsRetryable.
	Retryable func(error) bool
	// KafkaOpts are added to every Kafka client the node makes (TLS,
	// SASL, a dialer).
	KafkaOpts []kgo.Opt
	// State configures the state store (Config.StateNoSync,
	// StateCheckpointWrite, StateDimensionCacheBytes and
	// StateOrderCacheBytes override its fields); tests set FS to
	// vfs.NewMem().
	State state.Options
	// Clock returns the emission clock of fact versions in Unix
	// nanoseconds; default the wall clock.
	Clock func() uint64
}

// Node is one processor process: it opens the state store, starts the
// sink, dead-letter and global-table actors, waits for the global tables'
// bootstrap, then joins the consumer group and runs a partition actor per
// assigned partition number. See the package doc. Safe for concurrent
// use; Run may be called once.
type Node struct {
	cfg     Config
	deps    Deps
	log     zerolog.Logger
	metrics metrics

	progress progressBoard
	// board is the commit board of the running node (nil before Run),
	// which Stats reads for the global tables' progress.
	board atomic.Pointer[commitBoard]

	ran    atomic.Bool
	ready  atomic.Bool
	killed atomic.Bool
	mu     sync.Mutex
	cancel context.CancelCauseFunc
	group  *groupConsumer

	// store is the state store while it is open (set and cleared by Run),
	// for StateMetrics and StateUsage.
	storeMu sync.RWMutex
	store   *state.Store
}

// NewNode validates cfg (with defaults applied) and deps and returns a
// node ready to Run. It does no I/O.
func NewNode(cfg Config, deps Deps) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Facts == nil {
		return nil, errors.New("creating a processor node: Deps.Facts is nil")
	}
	for _, t := range topology.Tables {
		if deps.Mirrors[t] == nil {
			return nil, fmt.Errorf("creating a processor node: Deps.Mirrors has no writer for %s", t)
		}
	}
	if deps.Retryable == nil {
		deps.Retryable = func(error) bool { return false }
	}
	if deps.Clock == nil {
		deps.Clock = func() uint64 { return uint64(time.Now().UnixNano()) }
	}
	return &Node{cfg: cfg, deps: deps, log: deps.Log.With().Str("node", cfg.NodeID).Logger()}, nil
}

// env is what the actors of a node share: configuration, the actor
// system's root context, the state store and the PIDs of the long-lived
// actors. It is filled in by Run before the actors that read a field
// start, and not changed after.
type env struct {
	cfg             Config
	log             zerolog.Logger
	topics          topics
	root            *actor.RootContext
	store           *state.Store
	sinks           [numOutputs]*actor.PID
	dlq             *actor.PID
	globals         map[topology.Table]*actor.PID
	fetch           fetchControl
	board           *commitBoard
	progress        *progressBoard
	metrics         *metrics
	goroutines      *sync.WaitGroup
	retryable       func(error) bool
	clock           func() uint64
	fail            func(error)
	orderPartitions int32
	dlqLimit        int // the dead-letter topic's max.message.bytes
	baseOpts        []kgo.Opt
	nextSource      atomic.Int32
	// queued counts the records the poll loop handed to partition actors
	// and they have not processed yet; dequeued wakes the poll loop when
	// it waits for that count to drop (see groupConsumer.poll).
	queued   atomic.Int64
	dequeued chan struct{}
	// failed is set once a fatal error stops the node: draining is then
	// pointless (a sink may never acknowledge again).
	failed atomic.Bool
}

// recordsDone records that a partition actor processed n records.
func (e *env) recordsDone(n int) {
	if e.queued.Add(-int64(n)) <= e.maxQueued() {
		select {
		case e.dequeued <- struct{}{}:
		default:
		}
	}
}

// maxQueued bounds the records waiting in partition actors' mailboxes.
func (e *env) maxQueued() int64 { return 2 * int64(e.cfg.MaxPollRecords) }

// fetchControl pauses and resumes fetching (the group client).
type fetchControl interface {
	PauseFetchPartitions(map[string][]int32) map[string][]int32
	ResumeFetchPartitions(map[string][]int32)
}

// kafkaOpts returns the options of a new client named id.
func (e *env) kafkaOpts(id string) []kgo.Opt {
	return append(slices.Clone(e.baseOpts), kgo.ClientID(id))
}

// Run runs the node until ctx ends (then it drains, commits what the
// sinks acknowledged and returns nil) or a fatal error (returned). See
// the package doc for the shutdown order.
func (n *Node) Run(ctx context.Context) (err error) {
	if !n.ran.CompareAndSwap(false, true) {
		return errors.New("running a processor node: Run called twice")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	n.mu.Lock()
	n.cancel = cancel
	n.mu.Unlock()
	if n.killed.Load() {
		return nil
	}

	var goroutines sync.WaitGroup
	var failOnce sync.Once
	e := &env{
		cfg:        n.cfg,
		log:        n.log,
		topics:     newTopics(n.cfg.TopicPrefix),
		board:      n.newBoard(),
		progress:   &n.progress,
		metrics:    &n.metrics,
		goroutines: &goroutines,
		retryable:  n.deps.Retryable,
		clock:      n.deps.Clock,
		globals:    map[topology.Table]*actor.PID{},
		dequeued:   make(chan struct{}, 1),
		baseOpts: append([]kgo.Opt{
			kgo.SeedBrokers(n.cfg.Brokers...),
			kgo.WithLogger(kgoLogger{n.log.With().Str("component", "kafka").Logger()}),
		}, n.deps.KafkaOpts...),
	}
	e.fail = func(err error) {
		failOnce.Do(func() {
			e.failed.Store(true)
			if !n.killed.Load() {
				n.log.Error().Err(err).Msg("stopping the node")
			}
			cancel(err)
		})
	}
	defer goroutines.Wait()

	opts := n.deps.State
	opts.NoSync = n.cfg.StateNoSync
	opts.CheckpointWrite = n.cfg.StateCheckpointWrite
	if n.cfg.StateDimensionCacheBytes != 0 {
		opts.DimensionCacheBytes = n.cfg.StateDimensionCacheBytes
	}
	if n.cfg.StateOrderCacheBytes != 0 {
		opts.OrderCacheBytes = n.cfg.StateOrderCacheBytes
	}
	if n.cfg.CheckpointInterval > 0 {
		opts.PartitionStageBytes = n.cfg.CheckpointBytes
	}
	if opts.Logger == nil {
		opts.Logger = pebbleLogger{n.log.With().Str("component", "pebble").Logger()}
	}
	store, err := state.Open(n.cfg.StateDir, opts)
	if err != nil {
		return fmt.Errorf("running a processor node: %w", err)
	}
	e.store = store
	n.setStore(store)
	defer func() {
		// The goroutines the actors started (global readers, catch-ups,
		// sink writers) read the store: it closes after they are done.
		goroutines.Wait()
		n.setStore(nil)
		if n.killed.Load() {
			// A crash loses what was staged since the last checkpoint.
			store.DropStaged()
		}
		if cerr := store.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if n.cfg.CheckpointInterval > 0 {
		// Stopped before the deferred wait for the goroutines.
		cctx, stop := context.WithCancel(ctx)
		defer stop()
		goroutines.Add(1)
		go func() {
			defer goroutines.Done()
			n.checkpoints(cctx, e)
		}()
	}

	admin, err := kgo.NewClient(e.kafkaOpts(n.cfg.NodeID + "-admin")...)
	if err != nil {
		return fmt.Errorf("running a processor node: creating a Kafka client: %w", err)
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	// startErr is the error of a start-up step: a cancellation (or a
	// kill) while starting is no failure.
	startErr := func(err error) error {
		if ctx.Err() != nil {
			return n.result(ctx, nil)
		}
		return fmt.Errorf("running a processor node: %w", err)
	}
	layout, err := n.waitTopics(ctx, adm, &e.topics)
	if err != nil {
		if ctx.Err() != nil {
			return n.result(ctx, nil)
		}
		return startErr(err)
	}
	e.orderPartitions = layout.orderPartitions
	created, err := ensureDLQ(ctx, adm, n.cfg.DLQTopic)
	if err != nil {
		return startErr(err)
	}
	e.dlqLimit = dlqMessageLimit(ctx, adm, n.cfg.DLQTopic)
	sent := map[dlKey]struct{}{}
	if !created {
		if sent, err = deadLettered(ctx, e, adm); err != nil {
			return startErr(err)
		}
	}
	resume, starts, ends, err := n.globalStart(ctx, adm, e, layout)
	if err != nil {
		return startErr(err)
	}

	prod, err := kgo.NewClient(append(e.kafkaOpts(n.cfg.NodeID+"-dlq"), kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytes(int32(e.dlqLimit)))...)
	if err != nil {
		return fmt.Errorf("running a processor node: creating the dead-letter producer: %w", err)
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), n.cfg.DrainTimeout)
		defer cancel()
		if !n.killed.Load() {
			_ = prod.Flush(fctx)
		}
		prod.Close()
	}()

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return newSlogLogger(n.log.With().Str("component", "protoactor").Logger())
	}))
	defer system.Shutdown()
	e.root = system.Root.WithGuardian(supervisor(e))
	var pids []*actor.PID
	spawn := func(a actor.Actor) *actor.PID {
		pid := e.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a }))
		pids = append(pids, pid)
		return pid
	}
	defer func() {
		for i := len(pids) - 1; i >= 0; i-- {
			_ = e.root.StopFuture(pids[i]).Wait()
		}
	}()

	e.sinks[outFacts] = spawn(newFactSink(e, n.deps.Facts))
	for _, t := range topology.Tables {
		e.sinks[mirrorOutput(t)] = spawn(newMirrorSink(e, t, n.deps.Mirrors[t]))
	}
	e.dlq = spawn(&dlqActor{env: e, p: prod, sent: sent})

	booted := make(chan topology.Table, 2)
	for _, t := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		e.globals[t] = spawn(newGlobalActor(e, t, resume[t], starts[t], ends[t], func() { booted <- t }))
	}
	for range e.globals {
		select {
		case <-booted:
		case <-ctx.Done():
			return n.result(ctx, nil)
		}
	}
	n.log.Info().Int32("partitions", e.orderPartitions).Msg("global tables bootstrapped; joining the consumer group")
	n.ready.Store(true)
	defer n.ready.Store(false)

	g, err := newGroupConsumer(n, e)
	if err != nil {
		return fmt.Errorf("running a processor node: %w", err)
	}
	n.mu.Lock()
	n.group = g
	n.mu.Unlock()
	g.poll(ctx)

	// Shutdown: polling stopped; leaving the group revokes every
	// partition, which drains and commits it (unless killed).
	g.close()
	if !n.killed.Load() && !e.failed.Load() {
		n.drainGlobals(e)
	}
	return n.result(ctx, nil)
}

// supervisor is the strategy of every actor of a node. Its decider stops
// the failing actor and the node, whatever the panic: no panic is
// transient (transient errors are retried where they happen, by the sink
// actors and the Kafka clients), and restarting an actor would lose the
// acknowledgements it tracks. Errors from the state store (a corrupt or
// failed store) are named as such. See the package doc, "Supervision".
func supervisor(e *env) actor.SupervisorStrategy {
	return actor.NewOneForOneStrategy(0, 0, func(reason any) actor.Directive {
		switch r := reason.(type) {
		case error:
			if errors.Is(r, state.ErrCorrupt) || errors.Is(r, state.ErrFailed) {
				e.fail(fmt.Errorf("%w: state store: %w", ErrActorFailed, r))
			} else {
				e.fail(fmt.Errorf("%w: %w", ErrActorFailed, r))
			}
		default:
			e.fail(fmt.Errorf("%w: %v", ErrActorFailed, r))
		}
		return actor.StopDirective
	})
}

// result is Run's error: the cause of a fatal stop, nil for a
// cancellation of the caller's context or a kill.
func (n *Node) result(ctx context.Context, err error) error {
	if err != nil {
		return err
	}
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, context.Canceled) || errors.Is(cause, errKilled) {
		return nil
	}
	return cause
}

var errKilled = errors.New("node killed")

// checkpoints writes a checkpoint every CheckpointInterval until ctx ends
// (Close writes the last one): every partition's and the global tables'
// staged state, with the offsets it reflects (state.Store.Flush). It
// runs beside the actors, which keep applying records meanwhile, each
// partition waiting only while its own stage is written.
func (n *Node) checkpoints(ctx context.Context, e *env) {
	t := time.NewTicker(n.cfg.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		if err := e.store.Flush(); err != nil {
			e.fail(fmt.Errorf("writing a checkpoint of the state: %w", err))
			return
		}
		n.metrics.checkpoints.Add(1)
		n.metrics.checkpointNanos.Add(int64(time.Since(start)))
	}
}

// kill stops the node as a crash would: no draining, no commits, the
// state store closed as it is. Tests use it.
func (n *Node) kill() {
	n.killed.Store(true)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cancel != nil {
		n.cancel(errKilled)
	}
}

// drainGlobals waits (up to DrainTimeout) for the global actors' rows to
// be acknowledged, so that their stored offsets are as far as possible.
func (n *Node) drainGlobals(e *env) {
	var dones []chan struct{}
	for _, pid := range e.globals {
		done := make(chan struct{})
		e.root.Send(pid, &drain{done: done})
		dones = append(dones, done)
	}
	timeout := time.NewTimer(n.cfg.DrainTimeout)
	defer timeout.Stop()
	for _, d := range dones {
		select {
		case <-d:
		case <-timeout.C:
			n.log.Warn().Dur("timeout", n.cfg.DrainTimeout).Msg("global tables not drained in time; their last records will be read again")
			return
		}
	}
}

// layout is what the start-up check learns about the source topics.
type layout struct {
	orderPartitions int32
	global          map[topology.Table][]int32
}

// errKafkaUnavailable marks a failure to reach Kafka at start, which the
// node retries (not ready meanwhile) rather than exiting.
var errKafkaUnavailable = errors.New("kafka unavailable")

// waitTopics runs checkTopics until Kafka answers and the source topics
// exist: an unreachable Kafka is retried until ctx ends, missing topics for
// at most Config.TopicWait (see there); it logs every 30s while it waits.
func (n *Node) waitTopics(ctx context.Context, adm *kadm.Client, t *topics) (layout, error) {
	start := time.Now()
	var logged time.Time
	for {
		l, err := checkTopics(ctx, adm, t)
		switch {
		case err == nil, ctx.Err() != nil:
			return l, err
		case errors.Is(err, errKafkaUnavailable):
		case !errors.Is(err, ErrMissingTopic) || n.cfg.TopicWait < 0 ||
			(n.cfg.TopicWait > 0 && time.Since(start) >= n.cfg.TopicWait):
			return l, err
		}
		if time.Since(logged) >= 30*time.Second {
			logged = time.Now()
			if errors.Is(err, errKafkaUnavailable) {
				n.log.Warn().Err(err).Msg("kafka unreachable; retrying")
			} else {
				n.log.Warn().Err(err).Msg("waiting for the source topics (Debezium creates each with the first change of its table)")
			}
		}
		select {
		case <-ctx.Done():
			return l, err
		case <-time.After(2 * time.Second):
		}
	}
}

// checkTopics checks that the five source topics exist and that the three
// order-stream topics have equal partition counts (docs/design.md, Topics, keys and partitioning).
func checkTopics(ctx context.Context, adm *kadm.Client, t *topics) (layout, error) {
	var l layout
	names := make([]string, 0, len(topology.Tables))
	for _, tab := range topology.Tables {
		names = append(names, t.of(tab))
	}
	td, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return l, fmt.Errorf("listing the source topics: %w: %w", errKafkaUnavailable, err)
	}
	var missing []string
	for _, name := range names {
		if d, ok := td[name]; !ok || d.Err != nil || len(d.Partitions) == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return l, fmt.Errorf("%w: %v; register the Debezium connector (drivetrain connector register), which creates "+
			"them, or create them compacted with equal partition counts for the order-stream topics, "+
			"or set the topic prefix the connector uses", ErrMissingTopic, missing)
	}
	counts := map[string]int32{}
	for _, name := range t.orderStream() {
		counts[name] = int32(len(td[name].Partitions))
	}
	for _, c := range counts {
		if c != counts[t.of(topology.TableOrders)] {
			return l, copartitionCountError(counts)
		}
	}
	l.orderPartitions = counts[t.of(topology.TableOrders)]
	l.global = map[topology.Table][]int32{}
	for _, tab := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		ps := td[t.of(tab)].Partitions.Numbers()
		slices.Sort(ps)
		l.global[tab] = ps
	}
	return l, nil
}

// ensureDLQ creates the dead-letter topic when it is missing.
func ensureDLQ(ctx context.Context, adm *kadm.Client, topic string) (created bool, err error) {
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return false, fmt.Errorf("looking up the dead-letter topic %s: %w", topic, err)
	}
	if d, ok := td[topic]; ok && d.Err == nil && len(d.Partitions) > 0 {
		return false, nil
	}
	// Room for the largest record a source topic may hold (Kafka's
	// default message.max.bytes is 1 MiB; a record with a large JSONB
	// document can exceed it on a broker configured for it).
	resp, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(dlqMaxMessageBytes))}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return false, fmt.Errorf("creating the dead-letter topic %s (create it, or set DLQTopic to an existing one): %w", topic, err)
	}
	// Created now, here or by another node: it holds nothing yet.
	return true, nil
}

// dlqMessageLimit returns the dead-letter topic's max.message.bytes, or
// Kafka's default when it cannot be read.
func dlqMessageLimit(ctx context.Context, adm *kadm.Client, topic string) int {
	const kafkaDefault = 1048588
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return kafkaDefault
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		return kafkaDefault
	}
	for _, c := range rc.Configs {
		if c.Key == "max.message.bytes" && c.Value != nil {
			if n, err := strconv.Atoi(*c.Value); err == nil && n > 0 {
				return n
			}
		}
	}
	return kafkaDefault
}

// globalStart returns, per global table, where its actor resumes (the
// stored acknowledged offsets), the first offsets of its partitions and
// the end offsets it bootstraps to.
func (n *Node) globalStart(ctx context.Context, adm *kadm.Client, e *env, l layout) (resume, starts, ends map[topology.Table]positions, err error) {
	resume, starts, ends = map[topology.Table]positions{}, map[topology.Table]positions{}, map[topology.Table]positions{}
	for tab, parts := range l.global {
		topic := e.topics.of(tab)
		listed, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = listed.Error()
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("listing the end offsets of %s: %w", topic, err)
		}
		first, err := adm.ListStartOffsets(ctx, topic)
		if err == nil {
			err = first.Error()
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("listing the start offsets of %s: %w", topic, err)
		}
		r, st, en := positions{}, positions{}, positions{}
		for _, p := range parts {
			next, _, err := e.store.GlobalOffset(topic, p)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("reading the stored offsets of %s: %w", topic, err)
			}
			r[p] = next
			if o, ok := first.Lookup(topic, p); ok {
				st[p] = o.Offset
			}
			if o, ok := listed.Lookup(topic, p); ok {
				en[p] = o.Offset
				if next > o.Offset {
					return nil, nil, nil, fmt.Errorf("%w: the state in %s has read %s partition %d up to offset %d, beyond its end %d: "+
						"the topics were recreated; remove the state directory (or point StateDir at a new one) to rebuild it",
						ErrStaleState, n.cfg.StateDir, topic, p, next, o.Offset)
				}
			}
		}
		resume[tab], starts[tab], ends[tab] = r, st, en
	}
	return resume, starts, ends, nil
}

// Ready reports whether the node has bootstrapped the global tables and
// takes part in the consumer group (for a readiness probe).
func (n *Node) Ready() bool { return n.ready.Load() }

// setStore publishes the open state store (nil: closed) to StateMetrics
// and StateUsage; clearing it waits for the calls in progress.
func (n *Node) setStore(s *state.Store) {
	n.storeMu.Lock()
	n.store = s
	n.storeMu.Unlock()
}

// StateMetrics returns the Pebble metrics of the node's state store; ok
// is false while the store is not open (before Run opened it, after it
// closed it).
func (n *Node) StateMetrics() (m state.Metrics, ok bool) {
	n.storeMu.RLock()
	defer n.storeMu.RUnlock()
	if n.store == nil {
		return m, false
	}
	return n.store.Metrics(), true
}

// StateUsage returns the estimated disk usage of the state store's global
// range and of each order-stream partition with state (see state.Usage);
// ok is false while the store is not open.
func (n *Node) StateUsage() (u state.Usage, ok bool, err error) {
	n.storeMu.RLock()
	defer n.storeMu.RUnlock()
	if n.store == nil {
		return u, false, nil
	}
	u, err = n.store.Usage()
	return u, true, err
}

// Stats are a node's counters.
type Stats struct {
	// InflightRows is the number of rows handed to the sinks and not yet
	// acknowledged; MaxInflightRows the most there ever were.
	InflightRows, MaxInflightRows int64
	// BufferedRows is the number of rows the sink actors hold (open
	// batches and writes in flight).
	BufferedRows int64
	// Snapshots is the number of global tables whose mirror rows the
	// node, as the mirror writer of a group that never committed
	// partition 0, has still to send from its state; the node is not
	// idle before it is 0.
	Snapshots int64
	// BootstrapSkipped counts the records of the global tables that a
	// bootstrap from nothing, reading newest first, checked (for the
	// dead-letter topic) but did not apply: a later record of the same
	// row replaced them.
	BootstrapSkipped int64
	// RowsEmitted counts the rows the actors handed to the sinks;
	// RowsWritten the rows the sinks wrote (after coalescing).
	RowsEmitted, RowsWritten int64
	// DeadLetters counts the records sent to the dead-letter topic, by
	// kind.
	DeadLetters map[string]int64
	// Consumed counts the records fetched, by topic.
	Consumed map[string]int64
	// Checkpoints counts the checkpoints of the state written
	// (Config.CheckpointInterval); CheckpointTime is their total
	// duration.
	Checkpoints    int64
	CheckpointTime time.Duration
	// GlobalDone is, per global topic (customers, vehicles) and
	// partition, the next offset below which every record is fully
	// processed: applied to the state, its mirror rows acknowledged by
	// the sinks, and the facts it changes in every partition the node
	// owns re-emitted and acknowledged. The end offset minus GlobalDone
	// is the node's lag on a global topic. Empty before the global
	// tables' actors start.
	GlobalDone map[string]map[int32]int64
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	m := &n.metrics
	s := Stats{
		InflightRows:     m.inflightRows.Load(),
		MaxInflightRows:  m.inflightRows.high.Load(),
		BufferedRows:     m.sinkRows.Load(),
		Snapshots:        m.snapshots.Load(),
		BootstrapSkipped: m.bootstrapSkipped.Load(),
		RowsEmitted:      m.rowsEmitted.Load(),
		RowsWritten:      m.rowsWritten.Load(),
		Checkpoints:      m.checkpoints.Load(),
		CheckpointTime:   time.Duration(m.checkpointNanos.Load()),
		DeadLetters:      map[string]int64{},
		Consumed:         map[string]int64{},
	}
	m.mu.Lock()
	maps.Copy(s.DeadLetters, m.deadLetters)
	acked := maps.Clone(m.globalAcked)
	m.mu.Unlock()
	s.GlobalDone = n.globalDone(acked)
	m.consumedBy.Range(func(k, v any) bool {
		s.Consumed[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return s
}

// globalDone returns Stats.GlobalDone from the global actors' acknowledged
// positions and the progress of the partitions on the commit board.
func (n *Node) globalDone(acked map[topology.Table]positions) map[string]map[int32]int64 {
	out := map[string]map[int32]int64{}
	b := n.board.Load()
	tp := newTopics(n.cfg.TopicPrefix)
	for t, p := range acked {
		done := p.clone()
		if b != nil {
			if low, ok := b.globalLow(t); ok {
				for part, next := range done {
					done[part] = min(next, low[part])
				}
			}
		}
		out[tp.of(t)] = done
	}
	return out
}

// consumed counts n records fetched from topic.
func (m *metrics) consumed(topic string, n int) {
	c, ok := m.consumedBy.Load(topic)
	if !ok {
		c, _ = m.consumedBy.LoadOrStore(topic, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(int64(n))
}

// metrics are the node's counters, updated by its actors.
type metrics struct {
	inflightRows gauge
	// snapshots counts the global tables whose mirror rows are still to
	// be sent from the state (see globalActor).
	snapshots atomic.Int64
	// bootstrapSkipped counts the global records a bootstrap read newest
	// first did not apply (backward.go).
	bootstrapSkipped atomic.Int64
	sinkRows         atomic.Int64
	// checkpoints counts the checkpoints written, checkpointNanos their
	// total duration.
	checkpoints, checkpointNanos atomic.Int64
	rowsEmitted                  atomic.Int64
	rowsWritten                  atomic.Int64
	mu                           sync.Mutex
	deadLetters                  map[string]int64
	// globalAcked is, per global table, the next offsets whose records'
	// mirror rows the sinks acknowledged (the global actor's position).
	globalAcked map[topology.Table]positions
	consumedBy  sync.Map // topic → *atomic.Int64
}

// globalAck records how far global table t's mirror rows are acknowledged.
func (m *metrics) globalAck(t topology.Table, p positions) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.globalAcked == nil {
		m.globalAcked = map[topology.Table]positions{}
	}
	m.globalAcked[t] = p.clone()
}

func (m *metrics) deadLetter(kind string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deadLetters == nil {
		m.deadLetters = map[string]int64{}
	}
	m.deadLetters[kind]++
}

// gauge is an atomic value that remembers its highest.
type gauge struct {
	atomic.Int64
	high atomic.Int64
}

func (g *gauge) Add(d int64) int64 {
	v := g.Int64.Add(d)
	for {
		h := g.high.Load()
		if v <= h || g.high.CompareAndSwap(h, v) {
			return v
		}
	}
}

// newBoard returns a new commit board, the one Stats reads.
func (n *Node) newBoard() *commitBoard {
	b := newCommitBoard()
	n.board.Store(b)
	return b
}

// commitBoard is where partition actors publish what may be committed:
// per partition number, the next offsets of its three topics and the
// commit metadata. The poll loop and the revoke callback read it. Safe
// for concurrent use.
type commitBoard struct {
	mu sync.Mutex
	m  map[int32]*boardEntry
	// progress holds, per partition the node runs (from its start to its
	// stop, published or not), what its facts in the sinks reflect of the
	// global tables (partitionActor.progress); Stats.GlobalDone reads it.
	progress map[int32]globalProgress
}

type boardEntry struct {
	offsets [3]int64
	meta    string
	dirty   bool
	// version is the fact-version reservation meta carries, pid the
	// partition actor told once a commit of it succeeded.
	version uint64
	pid     *actor.PID
}

func newCommitBoard() *commitBoard {
	return &commitBoard{m: map[int32]*boardEntry{}, progress: map[int32]globalProgress{}}
}

func (b *commitBoard) set(n int32, offsets [3]int64, version uint64, meta string, pid *actor.PID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.m[n]
	if e == nil {
		e = &boardEntry{}
		b.m[n] = e
	}
	if e.offsets != offsets || e.meta != meta {
		e.offsets, e.meta, e.dirty = offsets, meta, true
	}
	e.version, e.pid = version, pid
}

// setProgress records partition n's progress over the global tables;
// dropProgress forgets it (the partition stopped).
func (b *commitBoard) setProgress(n int32, g globalProgress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.progress[n] = g
}

func (b *commitBoard) dropProgress(n int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.progress, n)
}

// globalLow returns, for global table t, the lowest progress of the
// partitions the node runs (a partition missing from one counts as 0),
// and whether it runs any.
func (b *commitBoard) globalLow(t topology.Table) (positions, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var low positions
	for _, g := range b.progress {
		p := *g.of(t)
		if low == nil {
			low = p.clone()
			if low == nil {
				low = positions{}
			}
			continue
		}
		low = low.minWith(p)
	}
	return low, low != nil
}

// takeDirty returns the entries changed since the last take, of the
// given partitions, and marks them clean.
func (b *commitBoard) takeDirty(owned func(int32) bool) map[int32]boardEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[int32]boardEntry{}
	for n, e := range b.m {
		if e.dirty && owned(n) {
			out[n] = *e
			e.dirty = false
		}
	}
	return out
}

// redirty marks entries dirty again after a failed commit, unless they
// changed since.
func (b *commitBoard) redirty(entries map[int32]boardEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for n, old := range entries {
		if e := b.m[n]; e != nil && e.offsets == old.offsets && e.meta == old.meta {
			e.dirty = true
		}
	}
}

// take returns the entries of the given partitions (dirty or not) and
// removes them.
func (b *commitBoard) take(ns []int32) map[int32]boardEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[int32]boardEntry{}
	for _, n := range ns {
		if e := b.m[n]; e != nil {
			out[n] = *e
			delete(b.m, n)
		}
	}
	return out
}

func (b *commitBoard) remove(ns []int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range ns {
		delete(b.m, n)
	}
}
