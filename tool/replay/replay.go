// Package replay rebuilds a node's state from the earliest offsets of the
// source topics, as `drivetrain replay` does, and hands the result to the
// live consumer group.
//
// A replay runs a node of its own (group <group>-replay-<suffix>, node id
// <node_id>-replay) on a new state directory until it has processed every
// record below the end offsets listed when it started: rows written, and
// their offsets committed to its own group. Its rows go to the live tables
// (where they converge by version) or, with IntoNewTables, to
// <name>_<suffix> copies.
//
// The handover commits the replay group's offsets, with their metadata
// (the fact-version reservation), to the live group, so that nodes
// started on the new state directory go on from there. Kafka accepts
// offset commits from outside a group only while the group has no member,
// so the handover waits for the group to be empty: without Force a replay
// refuses to start while the group has members; with Force it replays
// beside them, keeps its node following the topics once caught up, and
// hands over as soon as the operator has stopped them. Then, with
// IntoNewTables, one RENAME TABLE swaps the copies in and keeps the old
// tables as <name>_old_<suffix> (or drops them, DropOld).
//
// Offsets handed over that are older than the live group's (nodes ran on
// after the replay caught up) only make the next nodes emit those records
// again: harmless, ClickHouse keeps the highest version of every row.
// Versions: the group's nodes may have written rows with fact versions up
// to the reservation in their commit metadata, ahead of the wall clock.
// A replay into the live tables waits, before it replays into a group
// without members and before it hands over, until the clock has passed
// that reservation (at most a minute), so that its rows and those of the
// nodes started after it supersede theirs. New tables hold only the
// replay's rows, whose reservations the handover carries: no wait.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/tool/config"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Options configure a replay.
type Options struct {
	// Config is the configuration of the node being rebuilt: its
	// processor (group, topic prefix, state directory: a new, empty one),
	// ClickHouse and Kafka sections.
	Config config.Config
	// IntoNewTables writes into <name>_<suffix> copies swapped in at the
	// end; DropOld (with IntoNewTables) drops the old tables after the
	// swap instead of keeping them as <name>_old_<suffix>.
	IntoNewTables, DropOld bool
	// Force replays while the group has members, and waits at the end
	// for it to have none before handing over.
	Force bool
	// Command is the command line that started the replay, for messages
	// that name a command to run.
	Command string
	// Out receives progress lines and the result.
	Out io.Writer
	// Log is the replay node's logger.
	Log zerolog.Logger
	// Poll is how often progress is read and printed; default 1s.
	Poll time.Duration
	// Now is the clock of the suffix; default time.Now.
	Now func() time.Time
}

// Tables are the output tables, by base name, in the order they are
// renamed.
var Tables = []string{"sales_facts", "customers", "vehicles", "orders", "order_items", "payments"}

// LiveGroupError is returned, before anything is replayed, when the group
// has members and Force is not set.
type LiveGroupError struct {
	Group   string
	Members []string // client ids
	Command string   // the command to run instead
}

func (e *LiveGroupError) Error() string {
	return fmt.Sprintf("group %s has %d live member(s) (%s) holding its partitions, and Kafka takes the replay's offsets only from outside a group without members: "+
		"stop those nodes first (SIGTERM: they leave the group), or run %s to replay beside them and hand over once they are stopped",
		e.Group, len(e.Members), strings.Join(e.Members, ", "), e.Command)
}

// Run replays, hands over and swaps as Options say; it returns nil once
// done. Interrupted (ctx ends), it stops its node and leaves the replay's
// group and state directory as they are, saying so.
func Run(ctx context.Context, o Options) error {
	if o.DropOld && !o.IntoNewTables {
		return errors.New("--drop-old goes with --into-new-tables")
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := o.Config
	if entries, err := os.ReadDir(cfg.Processor.StateDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("processor.state_dir %s is not empty: replay builds a new state directory (give --state-dir a new path)", cfg.Processor.StateDir)
	}
	group := cmp(cfg.Processor.Group, actors.DefaultGroup)
	prefix := cmp(cfg.Processor.TopicPrefix, actors.DefaultTopicPrefix)
	clientOpts, err := cfg.Kafka.ClientOpts()
	if err != nil {
		return err
	}
	nodeOpts, err := cfg.Kafka.SecurityOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(clientOpts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	members, err := groupMembers(ctx, adm, group)
	if err != nil {
		return err
	}
	if len(members) > 0 && !o.Force {
		return &LiveGroupError{Group: group, Members: members, Command: forceCommand(o.Command)}
	}
	if len(members) == 0 && !o.IntoNewTables {
		// The group's nodes are stopped: the replay's rows must supersede
		// theirs in the live tables.
		if err := waitPastReservations(ctx, adm, group, o); err != nil {
			return err
		}
	}
	topics := make([]string, len(topology.Tables))
	for i, t := range topology.Tables {
		topics[i] = prefix + ".public." + t.String()
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("listing start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("listing end offsets: %w", err)
	}

	suffix := fmt.Sprintf("r%d", o.Now().Unix())
	tmpGroup := group + "-replay-" + suffix
	cfg.Processor.Group = tmpGroup
	cfg.Processor.NodeID += "-replay"
	chCfg := cfg.ClickHouse
	if o.IntoNewTables {
		chCfg.TableSuffix = suffix
	}
	client, err := sinks.Dial(ctx, chCfg, o.Log)
	if err != nil {
		return fmt.Errorf("connecting to clickhouse: %w", err)
	}
	defer client.Close()
	schema, err := client.EnsureSchema(ctx)
	if err != nil {
		return fmt.Errorf("preparing clickhouse tables: %w", err)
	}
	mirrors := map[topology.Table]actors.Writer[topology.Mirror]{}
	for _, t := range topology.Tables {
		mirrors[t] = schema.MirrorWriter(t)
	}
	node, err := actors.NewNode(cfg.Processor, actors.Deps{Log: o.Log, Facts: schema.FactWriter(), Mirrors: mirrors, Retryable: sinks.IsRetryable, KafkaOpts: nodeOpts})
	if err != nil {
		return err
	}
	nctx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- node.Run(nctx) }()
	interrupted := func() error {
		return fmt.Errorf("replay interrupted before the handover; its group %s and state %s are left as they are (delete the group with kafka-consumer-groups --delete --group %s)",
			tmpGroup, cfg.Processor.StateDir, tmpGroup)
	}

	fmt.Fprintf(o.Out, "replaying %s.public.* from the earliest offsets into state %s (group %s), tables %s\n",
		prefix, cfg.Processor.StateDir, tmpGroup, tableNames(client.Database(), chCfg.TableSuffix))
	p := &progress{out: o.Out, prefix: prefix, topics: topics, starts: starts, ends: ends, began: time.Now()}
	waiting := false
	for {
		select {
		case err := <-runErr:
			if err == nil {
				err = errors.New("the replay node stopped before the handover")
			}
			return fmt.Errorf("replaying: %w", err)
		case <-ctx.Done():
			stop()
			<-runErr
			return interrupted()
		case <-time.After(o.Poll):
		}
		committed, err := adm.FetchOffsets(ctx, tmpGroup)
		if err != nil {
			continue // the group appears with the replay node's first commit
		}
		if !p.report(node, committed) {
			continue
		}
		members, err := groupMembers(ctx, adm, group)
		if err != nil {
			continue
		}
		if len(members) == 0 {
			break
		}
		if !waiting {
			waiting = true
			fmt.Fprintf(o.Out, "caught up with the offsets listed at the start; the replay node follows the topics until group %s has no member: "+
				"stop its nodes (%s) to hand over\n", group, strings.Join(members, ", "))
		}
	}
	stop()
	if err := <-runErr; err != nil {
		return fmt.Errorf("stopping the replay node: %w", err)
	}

	// Hand the replayed position to the live group, so nodes started on
	// the new state directory go on from there.
	offsets, err := adm.FetchOffsets(ctx, tmpGroup)
	if err == nil {
		err = offsets.Error()
	}
	if err != nil {
		return fmt.Errorf("reading the replay's offsets: %w", err)
	}
	if err := handOver(ctx, adm, group, offsets.Offsets(), o); err != nil {
		if ctx.Err() != nil {
			return interrupted()
		}
		return err
	}
	handed := map[string]int64{}
	offsets.Offsets().Each(func(off kadm.Offset) {
		handed[strings.TrimPrefix(off.Topic, prefix+".public.")] += off.At
	})
	if _, err := adm.DeleteGroups(ctx, tmpGroup); err != nil {
		o.Log.Warn().Err(err).Str("group", tmpGroup).Msg("deleting the replay's group")
	}

	if o.IntoNewTables {
		if err := Swap(ctx, client, suffix, o.DropOld); err != nil {
			return err
		}
		old := "kept as <name>_old_" + suffix
		if o.DropOld {
			old = "dropped"
		}
		fmt.Fprintf(o.Out, "swapped in the replayed tables; the old ones are %s\n", old)
	}
	fmt.Fprintf(o.Out, "replay done in %s; start the nodes with --state-dir %s: group %s continues from the replayed offsets (orders %d, order_items %d, payments %d, summed over partitions)\n",
		time.Since(p.began).Round(time.Second), cfg.Processor.StateDir, group, handed["orders"], handed["order_items"], handed["payments"])
	return nil
}

// handOver commits offsets to group, into the live tables once past the
// group's reservations. Kafka refuses a commit from outside a group with
// members (UNKNOWN_MEMBER_ID): a node started meanwhile is waited out as
// before.
func handOver(ctx context.Context, adm *kadm.Client, group string, offsets kadm.Offsets, o Options) error {
	if !o.IntoNewTables {
		if err := waitPastReservations(ctx, adm, group, o); err != nil {
			return err
		}
	}
	told := false
	for {
		resp, err := adm.CommitOffsets(ctx, group, offsets)
		if err == nil {
			err = resp.Error()
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, kerr.UnknownMemberID) && !errors.Is(err, kerr.IllegalGeneration) && !errors.Is(err, kerr.RebalanceInProgress) {
			return fmt.Errorf("committing the replayed offsets to group %s: %w", group, err)
		}
		members, merr := groupMembers(ctx, adm, group)
		if merr == nil && !told {
			told = true
			fmt.Fprintf(o.Out, "group %s has members again (%s): waiting for it to have none to hand over\n", group, strings.Join(members, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// maxReservationWait bounds waitPastReservations: a node reserves
// versions at most a minute ahead of its clock (the actors package's
// reservation lease); more than this is another machine's clock, which
// waiting would not fix.
const maxReservationWait = 2 * time.Minute

// waitPastReservations waits until the wall clock passes the highest
// fact version group's commits reserved (their metadata's version=…, see
// the actors package's commit metadata). The group's nodes may have
// written rows with versions up to that reservation, ahead of the wall
// clock; the replay's node and the nodes started on its state take their
// versions from the wall clock and the replay's own reservations, so
// their rows would otherwise lose to older ones for up to that long.
func waitPastReservations(ctx context.Context, adm *kadm.Client, group string, o Options) error {
	committed, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the offsets of group %s: %w", group, err)
	}
	wait := reservationWait(committed, o.Now())
	if wait <= 0 {
		return nil
	}
	fmt.Fprintf(o.Out, "waiting %s for the clock to pass the fact versions group %s reserved, so that the rows written from here on supersede its nodes' rows\n",
		wait.Round(time.Millisecond), group)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

// reservationWait returns how long until now passes the highest version
// reserved in committed's metadata, at most maxReservationWait.
func reservationWait(committed kadm.OffsetResponses, now time.Time) time.Duration {
	var highest uint64
	committed.Each(func(r kadm.OffsetResponse) {
		if v, ok := actors.ReservedVersion(r.Metadata); ok {
			highest = max(highest, v)
		}
	})
	if highest <= uint64(now.UnixNano()) {
		return 0
	}
	return min(time.Duration(highest-uint64(now.UnixNano())), maxReservationWait)
}

// groupMembers returns the client ids of group's members, sorted; none
// for a group that does not exist.
func groupMembers(ctx context.Context, adm *kadm.Client, group string) ([]string, error) {
	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("describing group %s: %w", group, err)
	}
	g, ok := groups[group]
	if !ok {
		return nil, nil
	}
	if g.Err != nil && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("describing group %s: %w", group, g.Err)
	}
	var ids []string
	for _, m := range g.Members {
		ids = append(ids, m.ClientID)
	}
	slices.Sort(ids)
	return ids, nil
}

// forceCommand returns command with --force added.
func forceCommand(command string) string {
	if command == "" {
		command = "drivetrain replay"
	}
	if strings.Contains(command, " --force") {
		return "'" + command + "'"
	}
	if rest, ok := strings.CutPrefix(command, "drivetrain replay"); ok {
		return "'drivetrain replay --force" + rest + "'"
	}
	return "'" + command + " --force'"
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func tableNames(db, suffix string) string {
	if suffix == "" {
		return db + ".* (the live tables)"
	}
	return db + ".*_" + suffix
}

// Swap renames, in one RENAME statement, every live output table to
// <name>_old_<suffix> and every replayed <name>_<suffix> to <name>, then
// drops the old ones if dropOld. The view sales_facts_current reads
// sales_facts by name, so it follows; the replay's own view
// (sales_facts_current_<suffix>) is dropped first.
func Swap(ctx context.Context, c *sinks.Client, suffix string, dropOld bool) error {
	if err := sinks.CheckName("replay table suffix", sinks.Suffix, suffix); err != nil {
		return err
	}
	db := c.Database() // checked by sinks.Dial
	if err := c.Exec(ctx, "DROP TABLE IF EXISTS "+db+"."+sinks.FactsViewTable+"_"+suffix); err != nil {
		return fmt.Errorf("dropping the replay's view: %w", err)
	}
	if err := c.Exec(ctx, SwapSQL(db, suffix)); err != nil {
		return fmt.Errorf("swapping in the replayed tables: %w", err)
	}
	if dropOld {
		for _, t := range Tables {
			if err := c.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s_old_%s", db, t, suffix)); err != nil {
				return fmt.Errorf("dropping the old %s: %w", t, err)
			}
		}
	}
	return nil
}

// SwapSQL is the RENAME TABLE statement of Swap: db and suffix must be
// checked names.
func SwapSQL(db, suffix string) string {
	var pairs []string
	for _, t := range Tables {
		pairs = append(pairs,
			fmt.Sprintf("%s.%s TO %s.%s_old_%s", db, t, db, t, suffix),
			fmt.Sprintf("%s.%s_%s TO %s.%s", db, t, suffix, db, t))
	}
	return "RENAME TABLE " + strings.Join(pairs, ", ")
}
