package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

var replayCommand = command{
	name: "replay",
	summary: "rebuild a node's state from the earliest offsets into a new state directory, re-emitting every fact " +
		"(into the same tables, or with --into-new-tables into fresh ones swapped in when caught up)",
	run: runReplay,
}

// replayTables are the output tables, by base name, in the order they are
// renamed.
var replayTables = []string{"sales_facts", "customers", "vehicles", "orders", "order_items", "payments"}

func runReplay(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	nf := registerNodeFlags(fs)
	intoNew := fs.Bool("into-new-tables", false, "write sales_facts_<suffix> and mirror copies, then swap them in by name when caught up (the old tables are kept as <name>_old_<suffix>)")
	dropOld := fs.Bool("drop-old", false, "with --into-new-tables: drop the old tables after the swap")
	force := fs.Bool("force", false, "run even while live nodes of the group hold its partitions")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, where, err := nf.load()
	if err != nil {
		return err
	}
	if *dropOld && !*intoNew {
		return errors.New("--drop-old goes with --into-new-tables")
	}
	if entries, err := os.ReadDir(cfg.Processor.StateDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s: processor.state_dir %s is not empty: replay builds a new state directory (give --state-dir a new path)", where, cfg.Processor.StateDir)
	}
	group := cfg.Processor.Group
	if group == "" {
		group = actors.DefaultGroup
	}
	prefix := cfg.Processor.TopicPrefix
	if prefix == "" {
		prefix = actors.DefaultTopicPrefix
	}
	kafkaOpts, err := cfg.Kafka.SecurityOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Processor.Brokers...)}, kafkaOpts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describing group %s: %w", group, err)
	}
	if g, ok := groups[group]; ok && len(g.Members) > 0 && !*force {
		return fmt.Errorf("group %s has %d live member(s) holding its partitions: stop the nodes first, or pass --force", group, len(g.Members))
	}
	var topics []string
	for _, t := range topology.Tables {
		topics = append(topics, prefix+".public."+t.String())
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("listing start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("listing end offsets: %w", err)
	}

	suffix := fmt.Sprintf("r%d", time.Now().Unix())
	tmpGroup := group + "-replay-" + suffix
	cfg.Processor.Group = tmpGroup
	cfg.Processor.NodeID += "-replay"
	chCfg := cfg.ClickHouse
	if *intoNew {
		chCfg.TableSuffix = suffix
	}
	client, err := sinks.Dial(ctx, chCfg, a.log)
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
	node, err := actors.NewNode(cfg.Processor, actors.Deps{Log: a.log, Facts: schema.FactWriter(), Mirrors: mirrors, Retryable: sinks.IsRetryable, KafkaOpts: kafkaOpts})
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	nctx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- node.Run(nctx) }()

	fmt.Fprintf(a.stdout, "replaying %s.public.* from the earliest offsets into state %s (group %s), tables %s\n",
		prefix, cfg.Processor.StateDir, tmpGroup, tableNames(client.Database(), chCfg.TableSuffix))
	began := time.Now()
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok {
			total += o.Offset - s.Offset
		}
	})
	done := false
	for !done {
		select {
		case err := <-runErr:
			if err == nil {
				err = errors.New("the replay node stopped before catching up")
			}
			return fmt.Errorf("replaying: %w", err)
		case <-ctx.Done():
			stop()
			<-runErr
			return fmt.Errorf("replay interrupted; its group %s and state %s are left as they are", tmpGroup, cfg.Processor.StateDir)
		case <-time.After(time.Second):
		}
		committed, err := adm.FetchOffsets(ctx, tmpGroup)
		if err != nil {
			continue
		}
		st := node.Stats()
		var doneAll int64
		var lines []string
		// Caught up once the rows of every record below the end offsets
		// listed at start are acknowledged (the group's commits say so)
		// and the global tables' mirror rows are sent: the database may go
		// on writing, and the node with it, meanwhile.
		caughtUp := node.Ready() && st.Snapshots == 0
		for _, topic := range topics {
			var topicDone, topicTotal int64
			ends.Each(func(o kadm.ListedOffset) {
				if o.Topic != topic {
					return
				}
				s, _ := starts.Lookup(o.Topic, o.Partition)
				topicTotal += o.Offset - s.Offset
				if strings.HasSuffix(topic, ".customers") || strings.HasSuffix(topic, ".vehicles") {
					return // global tables: counted below
				}
				at := s.Offset
				if c, ok := committed.Lookup(o.Topic, o.Partition); ok && c.At > at {
					at = c.At
				}
				if at < o.Offset {
					caughtUp = false
				}
				topicDone += min(at, o.Offset) - s.Offset
			})
			if strings.HasSuffix(topic, ".customers") || strings.HasSuffix(topic, ".vehicles") {
				topicDone = min(st.Consumed[topic], topicTotal)
				if node.Ready() {
					topicDone = topicTotal // bootstrapped to the end offsets seen at start
				}
			}
			doneAll += topicDone
			lines = append(lines, fmt.Sprintf("%s %d/%d", topic[len(prefix)+len(".public."):], topicDone, topicTotal))
		}
		elapsed := time.Since(began).Seconds()
		rate := float64(doneAll) / elapsed
		eta := "-"
		if rate > 0 && doneAll < total {
			eta = (time.Duration(float64(total-doneAll)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(a.stdout, "%s · overall %d/%d (%.0f%%) · %.0f events/s · ETA %s\n",
			strings.Join(lines, " · "), doneAll, total, 100*float64(doneAll)/float64(max(total, 1)), rate, eta)
		done = caughtUp
	}
	stop()
	if err := <-runErr; err != nil {
		return fmt.Errorf("stopping the replay node: %w", err)
	}

	// Hand the replayed position to the real group, so nodes started on the
	// new state directory go on from there.
	offsets, err := adm.FetchOffsets(ctx, tmpGroup)
	if err != nil {
		return fmt.Errorf("reading the replay's offsets: %w", err)
	}
	if err := adm.CommitAllOffsets(ctx, group, offsets.Offsets()); err != nil {
		return fmt.Errorf("committing the replayed offsets to group %s: %w", group, err)
	}
	handed := map[string]int64{}
	offsets.Offsets().Each(func(o kadm.Offset) {
		handed[strings.TrimPrefix(o.Topic, prefix+".public.")] += o.At
	})
	if _, err := adm.DeleteGroups(ctx, tmpGroup); err != nil {
		a.log.Warn().Err(err).Str("group", tmpGroup).Msg("deleting the replay's group")
	}

	if *intoNew {
		if err := swapTables(ctx, client, suffix, *dropOld); err != nil {
			return err
		}
		old := "kept as <name>_old_" + suffix
		if *dropOld {
			old = "dropped"
		}
		fmt.Fprintf(a.stdout, "swapped in the replayed tables; the old ones are %s\n", old)
	}
	fmt.Fprintf(a.stdout, "replay done in %s; start the nodes with --state-dir %s: group %s continues from the replayed offsets (orders %d, order_items %d, payments %d, summed over partitions)\n",
		time.Since(began).Round(time.Second), cfg.Processor.StateDir, group, handed["orders"], handed["order_items"], handed["payments"])
	return nil
}

func tableNames(db, suffix string) string {
	if suffix == "" {
		return db + ".* (the live tables)"
	}
	return db + ".*_" + suffix
}

// swapTables renames, in one RENAME statement, every live output table to
// <name>_old_<suffix> and every replayed <name>_<suffix> to <name>; the
// view sales_facts_current reads sales_facts by name, so it follows.
func swapTables(ctx context.Context, c *sinks.Client, suffix string, dropOld bool) error {
	db := c.Database() // checked by sinks.Dial
	if err := sinks.CheckName("replay table suffix", sinks.Suffix, suffix); err != nil {
		return err
	}
	var pairs []string
	for _, t := range replayTables {
		pairs = append(pairs,
			fmt.Sprintf("%s.%s TO %s.%s_old_%s", db, t, db, t, suffix),
			fmt.Sprintf("%s.%s_%s TO %s.%s", db, t, suffix, db, t))
	}
	if err := c.Exec(ctx, "DROP TABLE IF EXISTS "+db+"."+sinks.FactsViewTable+"_"+suffix); err != nil {
		return fmt.Errorf("dropping the replay's view: %w", err)
	}
	if err := c.Exec(ctx, "RENAME TABLE "+strings.Join(pairs, ", ")); err != nil {
		return fmt.Errorf("swapping in the replayed tables: %w", err)
	}
	if dropOld {
		for _, t := range replayTables {
			if err := c.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s_old_%s", db, t, suffix)); err != nil {
				return fmt.Errorf("dropping the old %s: %w", t, err)
			}
		}
	}
	return nil
}
