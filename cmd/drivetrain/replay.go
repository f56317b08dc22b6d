package main

import (
	"context"
	"strings"

	"github.com/drivetrain-cdc/drivetrain/tool/replay"
)

var replayCommand = command{
	name: "replay",
	summary: "rebuild a node's state from the earliest offsets into a new state directory, re-emitting every fact " +
		"(into the same tables, or with --into-new-tables into fresh ones swapped in when caught up), " +
		"then hand the replayed offsets to the consumer group so nodes started on that directory go on from there",
	run: runReplay,
}

func runReplay(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	nf := registerNodeFlags(fs)
	intoNew := fs.Bool("into-new-tables", false, "write into sales_facts_<suffix> and mirror copies, and once caught up and handed over "+
		"swap them in with one RENAME TABLE; the old tables are kept as <name>_old_<suffix> (the suffix is r<unix time of the start>)")
	dropOld := fs.Bool("drop-old", false, "with --into-new-tables: drop the old tables after the swap instead of keeping them")
	force := fs.Bool("force", false, "replay while live nodes are members of the group. Kafka takes the replayed offsets only "+
		"while the group has no member, so without --force replay refuses to start, naming the members; with --force it replays beside them "+
		"(they keep writing the live tables), and once caught up keeps following the topics and waits: stop the nodes (SIGTERM) "+
		"and it hands over, swaps the tables (--into-new-tables), and tells you to start the nodes on the new --state-dir. "+
		"Into the live tables, a replay waits (up to a minute) for the clock to pass the fact versions the stopped nodes reserved before it writes or hands over, so that newer rows win")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, _, err := nf.load()
	if err != nil {
		return err
	}
	return replay.Run(ctx, replay.Options{
		Config:        cfg,
		IntoNewTables: *intoNew,
		DropOld:       *dropOld,
		Force:         *force,
		Command:       "drivetrain replay " + strings.Join(args, " "),
		Out:           a.stdout,
		Log:           a.log,
	})
}
