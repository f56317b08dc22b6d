package actors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupConsumer is the node's membership of the consumer group: the
// client, the poll loop and the rebalance callbacks, and the partition
// actors it spawned. The callbacks run in kgo's group goroutine and,
// with BlockRebalanceOnPoll, never while the poll loop holds polled
// records (between PollRecords and AllowRebalance).
type groupConsumer struct {
	n   *Node
	e   *env
	cl  *kgo.Client // set once NewClient returns; callbacks use client()
	log zerolog.Logger
	// clp is the client as the callbacks see it: kgo may run them before
	// NewClient returns, so the first ones that get it (onAssigned,
	// onOffsetsFetched, which precede adjustOffsets) store it.
	clp atomic.Pointer[kgo.Client]

	mu       sync.Mutex
	parts    map[int32]*partEntry                 // partition actors by number
	assigned map[int32]*[3]bool                   // assigned topic partitions by number
	commits  map[tp]committed                     // the group's commits, as last fetched
	seeks    map[string]map[int32]kgo.EpochOffset // SetOffsets for the poll loop
}

type partEntry struct {
	pid  *actor.PID
	plan partitionPlan
}

type tp struct {
	topic     string
	partition int32
}

type committed struct {
	offset int64
	meta   string
}

func newGroupConsumer(n *Node, e *env) (*groupConsumer, error) {
	g := &groupConsumer{
		n: n, e: e,
		log:      n.log.With().Str("component", "group").Str("group", n.cfg.Group).Logger(),
		parts:    map[int32]*partEntry{},
		assigned: map[int32]*[3]bool{},
		commits:  map[tp]committed{},
		seeks:    map[string]map[int32]kgo.EpochOffset{},
	}
	ts := e.topics.orderStream()
	opts := append(e.kafkaOpts(n.cfg.NodeID),
		kgo.ConsumerGroup(n.cfg.Group),
		kgo.ConsumeTopics(ts[:]...),
		kgo.Balancers(copartitionBalancer{}),
		kgo.BlockRebalanceOnPoll(),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.OnPartitionsAssigned(g.onAssigned),
		kgo.OnOffsetsFetched(g.onOffsetsFetched),
		kgo.AdjustFetchOffsetsFn(g.adjustOffsets),
		kgo.OnPartitionsRevoked(g.onRevoked),
		kgo.OnPartitionsLost(g.onLost),
	)
	if d := n.cfg.SessionTimeout; d > 0 {
		opts = append(opts, kgo.SessionTimeout(d))
	}
	if !n.cfg.DynamicMembership {
		opts = append(opts, kgo.InstanceID(n.cfg.NodeID))
	}
	if d := n.cfg.HeartbeatInterval; d > 0 {
		opts = append(opts, kgo.HeartbeatInterval(d))
	}
	if d := n.cfg.RebalanceTimeout; d > 0 {
		opts = append(opts, kgo.RebalanceTimeout(d))
	} else {
		opts = append(opts, kgo.RebalanceTimeout(max(60*time.Second, 2*n.cfg.DrainTimeout)))
	}
	e.fetch = groupFetch{g}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the group consumer: %w", err)
	}
	g.cl = cl
	g.clp.Store(cl)
	return g, nil
}

// client returns the group client.
func (g *groupConsumer) client() *kgo.Client { return g.clp.Load() }

// groupFetch is the partition actors' fetchControl: the group client,
// once there is one.
type groupFetch struct{ g *groupConsumer }

func (f groupFetch) PauseFetchPartitions(tps map[string][]int32) map[string][]int32 {
	if cl := f.g.client(); cl != nil {
		return cl.PauseFetchPartitions(tps)
	}
	return nil
}

func (f groupFetch) ResumeFetchPartitions(tps map[string][]int32) {
	if cl := f.g.client(); cl != nil {
		cl.ResumeFetchPartitions(tps)
	}
}

// poll is the poll loop: it hands each partition number's records to its
// actor, commits what the actors published every CommitInterval, and
// lets rebalances through between polls. It returns when ctx ends.
func (g *groupConsumer) poll(ctx context.Context) {
	interval := g.n.cfg.CommitInterval
	last := time.Now()
	for ctx.Err() == nil {
		// The actors process records at their pace; the poll loop waits
		// rather than queue more than maxQueued records in mailboxes.
		for g.e.queued.Load() > g.e.maxQueued() && ctx.Err() == nil {
			select {
			case <-g.e.dequeued:
			case <-ctx.Done():
			case <-time.After(interval):
				g.commitDirty(ctx)
			}
		}
		pctx, cancel := context.WithTimeout(ctx, interval)
		fs := g.cl.PollRecords(pctx, g.n.cfg.MaxPollRecords)
		cancel()
		if fs.IsClientClosed() {
			break
		}
		fs.EachError(func(topic string, p int32, err error) {
			switch {
			case errors.Is(err, kerr.FencedInstanceID):
				g.e.fail(fmt.Errorf("another live node of group %s joined with node_id %q (the group.instance.id of static membership): give every node its own node_id: %w",
					g.n.cfg.Group, g.n.cfg.NodeID, err))
			case !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled):
				g.log.Warn().Err(err).Str("topic", topic).Int32("partition", p).Msg("fetch error")
			}
		})
		byNum := map[int32][]*kgo.Record{}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				byNum[p.Partition] = append(byNum[p.Partition], p.Records...)
				g.e.metrics.consumed(p.Topic, len(p.Records))
			}
		})
		g.mu.Lock()
		for num, recs := range byNum {
			if e := g.parts[num]; e != nil {
				g.e.queued.Add(int64(len(recs)))
				g.e.root.Send(e.pid, &recordsFetched{records: recs})
			}
		}
		if len(g.seeks) > 0 {
			g.cl.SetOffsets(g.seeks)
			g.seeks = map[string]map[int32]kgo.EpochOffset{}
		}
		g.mu.Unlock()
		if ctx.Err() == nil && time.Since(last) >= interval {
			last = time.Now()
			g.commitDirty(ctx)
		}
		g.cl.AllowRebalance()
	}
	g.cl.AllowRebalance()
}

// commitDirty commits, asynchronously, what changed on the board for the
// partitions this member owns. It holds g.mu from reading the board until
// the commit is issued, and the revoke callback takes g.mu before it
// drains a partition: so a commit of a partition is always issued before
// the revoke's final one (kgo keeps commits in order), never after the
// partition was released to another member.
func (g *groupConsumer) commitDirty(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	entries := g.e.board.takeDirty(func(n int32) bool { return g.parts[n] != nil })
	if len(entries) == 0 {
		return
	}
	g.commit(ctx, entries, false)
}

// commit commits entries with their metadata, synchronously or not.
func (g *groupConsumer) commit(ctx context.Context, entries map[int32]boardEntry, sync bool) {
	offsets := map[string]map[int32]kgo.EpochOffset{}
	meta := map[tp]string{}
	ts := g.e.topics.orderStream()
	for num, e := range entries {
		for i, topic := range ts {
			if offsets[topic] == nil {
				offsets[topic] = map[int32]kgo.EpochOffset{}
			}
			offsets[topic][num] = kgo.EpochOffset{Epoch: -1, Offset: e.offsets[i]}
			meta[tp{topic, num}] = e.meta
		}
	}
	cctx := kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				if m, ok := meta[tp{t.Topic, t.Partitions[j].Partition}]; ok {
					t.Partitions[j].Metadata = &m
				}
			}
		}
		return nil
	})
	onDone := func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err == nil && resp != nil {
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil && err == nil {
						err = fmt.Errorf("%s partition %d: %w", t.Topic, p.Partition, perr)
					}
				}
			}
		}
		if err != nil {
			if !sync {
				g.e.board.redirty(entries)
			}
			if !errors.Is(err, context.Canceled) {
				g.log.Warn().Err(err).Msg("committing offsets")
			}
			return
		}
		g.log.Debug().Interface("offsets", offsets).Msg("committed")
		// The partitions may emit up to the reservations now committed.
		for _, e := range entries {
			if e.pid != nil && e.version > 0 {
				g.e.root.Send(e.pid, &reservationCommitted{version: e.version})
			}
		}
	}
	if sync {
		g.client().CommitOffsetsSync(cctx, offsets, onDone)
	} else {
		g.client().CommitOffsets(cctx, offsets, onDone)
	}
}

// onAssigned records the newly assigned topic partitions. Registering
// it also makes kgo run the assign phase (offset fetch, adjustOffsets)
// while the poll loop is not holding records.
func (g *groupConsumer) onAssigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	g.clp.CompareAndSwap(nil, cl)
	g.mu.Lock()
	defer g.mu.Unlock()
	for topic, ps := range assigned {
		i := g.e.topics.index(topic)
		if i < 0 {
			continue
		}
		for _, p := range ps {
			a := g.assigned[p]
			if a == nil {
				a = &[3]bool{}
				g.assigned[p] = a
			}
			a[i] = true
		}
	}
	g.log.Info().Interface("assigned", assigned).Msg("partitions assigned")
}

// onOffsetsFetched keeps the committed offsets and their metadata, which
// kgo's offset handling does not expose, for adjustOffsets.
func (g *groupConsumer) onOffsetsFetched(_ context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
	g.clp.CompareAndSwap(nil, cl)
	g.mu.Lock()
	defer g.mu.Unlock()
	record := func(topic string, p int32, offset int64, meta *string) {
		c := committed{offset: offset}
		if meta != nil {
			c.meta = *meta
		}
		g.commits[tp{topic, p}] = c
	}
	for _, grp := range resp.Groups {
		for _, t := range grp.Topics {
			for _, p := range t.Partitions {
				record(t.Topic, p.Partition, p.Offset, p.Metadata)
			}
		}
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			record(t.Topic, p.Partition, p.Offset, p.Metadata)
		}
	}
	return nil
}

// adjustOffsets runs after the committed offsets of newly assigned
// partitions are fetched and before consuming starts: for each partition
// number whose three topic partitions are now assigned, it decides where
// to start from the stored state and the commits (partitionPlan), spawns
// the partition actor, and returns the start offsets.
func (g *groupConsumer) adjustOffsets(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	if g.n.killed.Load() {
		return offsets, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	ts := g.e.topics.orderStream()
	nums := map[int32]bool{}
	for topic, ps := range offsets {
		if g.e.topics.index(topic) < 0 {
			continue
		}
		for p := range ps {
			nums[p] = true
		}
	}
	// The end offsets of the order-stream topics, listed once for every
	// partition number of this assignment.
	var ends kadm.ListedOffsets
	listEnds := func() (kadm.ListedOffsets, error) {
		if ends != nil {
			return ends, nil
		}
		l, err := kadm.NewClient(g.client()).ListEndOffsets(ctx, ts[:]...)
		if err == nil {
			err = l.Error()
		}
		if err == nil {
			ends = l
		}
		return l, err
	}
	for num := range nums {
		a := g.assigned[num]
		if a == nil || !a[0] || !a[1] || !a[2] {
			// The leader split the number's topic partitions (a member
			// with another balancer?): wait for the rest, not consuming.
			g.log.Warn().Int32("partition", num).Msg("only some of the partition's topics are assigned; waiting for the rest")
			g.client().PauseFetchPartitions(g.numberTPs(num))
			continue
		}
		if g.parts[num] != nil {
			continue
		}
		plan, err := g.plan(num, listEnds)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err // the session ended; kgo joins again
			}
			g.e.fail(err)
			return offsets, nil
		}
		for i, topic := range ts {
			at := kgo.NewOffset().At(plan.start[i]).WithEpoch(-1)
			if _, ok := offsets[topic][num]; ok {
				offsets[topic][num] = at
			} else {
				// Assigned in an earlier round: rewind it from the poll loop.
				if g.seeks[topic] == nil {
					g.seeks[topic] = map[int32]kgo.EpochOffset{}
				}
				g.seeks[topic][num] = kgo.EpochOffset{Epoch: -1, Offset: plan.start[i]}
			}
		}
		g.client().ResumeFetchPartitions(g.numberTPs(num))
		pid := g.e.root.Spawn(actor.PropsFromProducer(func() actor.Actor { return newPartitionActor(g.e, plan) }))
		g.parts[num] = &partEntry{pid: pid, plan: plan}
	}
	return offsets, nil
}

func (g *groupConsumer) numberTPs(num int32) map[string][]int32 {
	m := map[string][]int32{}
	for _, topic := range g.e.topics.orderStream() {
		m[topic] = []int32{num}
	}
	return m
}

// plan decides how partition num starts. Records below the group's
// committed offsets are already reflected in the sinks; the local state
// reflects the records below its stored offsets. Fetching starts at the
// lower of the two: below the committed offset the partition only
// rebuilds state (state behind: an earlier ownership, or no state);
// above it, it emits (state ahead: records processed but not
// acknowledged before a crash are applied and emitted again). State
// whose offsets lie beyond a topic's end belongs to an earlier
// incarnation of the topics: it is dropped and rebuilt.
func (g *groupConsumer) plan(num int32, listEnds func() (kadm.ListedOffsets, error)) (partitionPlan, error) {
	p := partitionPlan{n: num}
	part := g.e.store.Partition(num)
	stored, err := part.Offsets()
	if err != nil {
		return p, fmt.Errorf("reading the stored offsets of partition %d: %w", num, err)
	}
	ts := g.e.topics.orderStream()
	quiet := !g.e.cfg.EmitEveryRecord
	var ends kadm.ListedOffsets
	if len(stored) > 0 || quiet {
		ends, err = listEnds()
		if err != nil {
			return p, fmt.Errorf("listing the end offsets of partition %d: %w", num, err)
		}
		for _, o := range stored {
			if e, ok := ends.Lookup(o.Topic, o.Partition); ok && o.Partition == num && o.Next > e.Offset {
				g.log.Warn().Int32("partition", num).Str("topic", o.Topic).Int64("stored", o.Next).Int64("end", e.Offset).
					Msg("state is ahead of the topic's end (were the topics recreated?): dropping it and rebuilding")
				if err := g.e.store.DropPartition(num); err != nil {
					return p, fmt.Errorf("dropping the state of partition %d: %w", num, err)
				}
				stored = nil
				break
			}
		}
	}
	for i, topic := range ts {
		var s int64
		for _, o := range stored {
			if o.Topic == topic && o.Partition == num {
				s = o.Next
			}
		}
		var c int64
		if cm, ok := g.commits[tp{topic, num}]; ok && cm.offset >= 0 {
			c = cm.offset
			// A commit at offset 0 acknowledged nothing: a partition
			// commits its fact-version reservation before it emits
			// (see reservationLease), offsets unchanged.
			p.hasCommit = p.hasCommit || c > 0
			if !p.progressOK {
				p.progress, p.progressOK = parseProgress(cm.meta)
			}
		}
		p.committed[i] = c
		p.start[i] = min(s, c)
	}
	if !quiet {
		return p, nil
	}
	// A partition with commits starts quietly only behind by more than
	// quietMinBacklog records: after a short absence, its rows would
	// wait for the state of the orders it touched for no gain.
	var backlog int64
	for i, topic := range ts {
		if e, ok := ends.Lookup(topic, num); ok {
			backlog += max(e.Offset-p.committed[i], 0)
		}
	}
	if p.hasCommit && backlog < g.e.cfg.quietBacklog() {
		return p, nil
	}
	for i, topic := range ts {
		if e, ok := ends.Lookup(topic, num); ok && e.Offset > p.committed[i] {
			p.quietTo[i] = e.Offset
			p.quiet = true
		}
	}
	return p, nil
}

// onRevoked drains the revoked partitions' actors (they stop taking
// input and wait for the sinks to acknowledge what they sent, up to
// DrainTimeout), commits what was acknowledged, stops them, and only
// then returns, letting the rebalance proceed.
func (g *groupConsumer) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if g.n.killed.Load() {
		return
	}
	entries := g.release(revoked)
	if len(entries) == 0 {
		return
	}
	g.log.Info().Interface("revoked", revoked).Msg("draining revoked partitions")
	dones := map[int32]chan struct{}{}
	for num, e := range entries {
		done := make(chan struct{})
		dones[num] = done
		g.e.root.Send(e.pid, &drain{done: done})
	}
	wait := g.n.cfg.DrainTimeout
	if g.e.failed.Load() {
		wait = 0 // a sink may never acknowledge again; commit what it did
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for num, done := range dones {
		select {
		case <-done:
		case <-timeout.C:
			if !g.e.failed.Load() {
				g.log.Warn().Int32("partition", num).Dur("timeout", wait).
					Msg("sinks did not acknowledge in time; committing what they did")
			}
			timeout.Reset(0)
		case <-ctx.Done():
		}
	}
	nums := slices.Collect(maps.Keys(entries))
	final := g.e.board.take(nums)
	if len(final) > 0 {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.n.cfg.DrainTimeout)
		g.commit(cctx, final, true)
		cancel()
	}
	g.stop(entries)
	g.e.board.remove(nums)
}

// onLost stops the lost partitions' actors without committing: another
// member may own them already.
func (g *groupConsumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	entries := g.release(lost)
	if len(entries) == 0 {
		return
	}
	g.log.Warn().Interface("lost", lost).Msg("partitions lost; stopping their actors without committing")
	g.stop(entries)
	g.e.board.remove(slices.Collect(maps.Keys(entries)))
}

// release forgets the given topic partitions and returns the actors of
// the numbers that lost any of them.
func (g *groupConsumer) release(tps map[string][]int32) map[int32]*partEntry {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[int32]*partEntry{}
	for topic, ps := range tps {
		i := g.e.topics.index(topic)
		if i < 0 {
			continue
		}
		for _, p := range ps {
			if a := g.assigned[p]; a != nil {
				a[i] = false
				if !a[0] && !a[1] && !a[2] {
					delete(g.assigned, p)
				}
			}
			if e := g.parts[p]; e != nil {
				out[p] = e
				delete(g.parts, p)
			}
		}
	}
	return out
}

// leave sends LeaveGroup for the node's instance id.
func (g *groupConsumer) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), g.n.cfg.DrainTimeout)
	defer cancel()
	cl, err := kgo.NewClient(g.e.kafkaOpts(g.n.cfg.NodeID + "-leave")...)
	if err != nil {
		g.log.Warn().Err(err).Msg("leaving the group")
		return
	}
	defer cl.Close()
	resps, err := kadm.NewClient(cl).LeaveGroup(ctx, kadm.LeaveGroup(g.n.cfg.Group).InstanceIDs(g.n.cfg.NodeID).Reason("node stopping"))
	if err == nil {
		err = resps.Error()
	}
	if err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		g.log.Warn().Err(err).Msg("leaving the group: the node's partitions move once its session times out")
	}
}

func (g *groupConsumer) stop(entries map[int32]*partEntry) {
	for _, e := range entries {
		_ = g.e.root.StopFuture(e.pid).Wait()
	}
}

// close leaves the group (which revokes, drains and commits every
// partition, unless the node was killed) and stops what is left. A static
// member's client does not send LeaveGroup when it closes (so that a
// restart finds its assignment): a graceful stop sends it for the node's
// instance id, so that the other nodes take its partitions at once.
func (g *groupConsumer) close() {
	g.cl.CloseAllowingRebalance()
	if !g.n.cfg.DynamicMembership && !g.n.killed.Load() {
		g.leave()
	}
	g.mu.Lock()
	rest := g.parts
	g.parts = map[int32]*partEntry{}
	g.mu.Unlock()
	g.stop(rest)
}
