package replay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/tool/config"
)

func TestSwapSQL(t *testing.T) {
	assert.Equal(t, "RENAME TABLE "+
		"d.sales_facts TO d.sales_facts_old_r1, d.sales_facts_r1 TO d.sales_facts, "+
		"d.customers TO d.customers_old_r1, d.customers_r1 TO d.customers, "+
		"d.vehicles TO d.vehicles_old_r1, d.vehicles_r1 TO d.vehicles, "+
		"d.orders TO d.orders_old_r1, d.orders_r1 TO d.orders, "+
		"d.order_items TO d.order_items_old_r1, d.order_items_r1 TO d.order_items, "+
		"d.payments TO d.payments_old_r1, d.payments_r1 TO d.payments", SwapSQL("d", "r1"))
}

func TestForceCommand(t *testing.T) {
	tests := []struct{ in, want string }{
		{"drivetrain replay --state-dir /s", "'drivetrain replay --force --state-dir /s'"},
		{"drivetrain replay ", "'drivetrain replay --force '"},
		{"", "'drivetrain replay --force'"},
		{"drivetrain replay --force --state-dir /s", "'drivetrain replay --force --state-dir /s'"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, forceCommand(tt.in), tt.in)
	}
}

// TestRefusesBeforeReplaying: with a live member in the group and no
// --force, Run stops before it creates a group, a table or a state
// directory, naming the members and the command to run.
func TestRefusesBeforeReplaying(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "p.public.orders"))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	member, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ClientID("node-a"),
		kgo.ConsumerGroup("g"), kgo.ConsumeTopics("p.public.orders"))
	require.NoError(t, err)
	defer member.Close()
	adm := kadm.NewClient(member)
	require.Eventually(t, func() bool {
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		member.PollFetches(pctx)
		ids, err := groupMembers(ctx, adm, "g")
		return err == nil && len(ids) == 1
	}, 20*time.Second, 10*time.Millisecond, "the member joins")

	cfg := config.Default()
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Processor.Group, cfg.Processor.TopicPrefix = "g", "p"
	cfg.Processor.StateDir = filepath.Join(t.TempDir(), "new")
	cfg.ClickHouse.Addr = "http://127.0.0.1:1" // never dialled
	var out bytes.Buffer
	err = Run(ctx, Options{Config: cfg, Command: "drivetrain replay --state-dir " + cfg.Processor.StateDir, Out: &out, Log: zerolog.Nop()})
	var live *LiveGroupError
	require.True(t, errors.As(err, &live), "%v", err)
	assert.Equal(t, []string{"node-a"}, live.Members)
	assert.Contains(t, err.Error(), "group g has 1 live member(s) (node-a)")
	assert.Contains(t, err.Error(), "run 'drivetrain replay --force --state-dir "+cfg.Processor.StateDir+"' to replay beside them")
	assert.Empty(t, out.String(), "nothing replayed")
	_, statErr := os.Stat(cfg.Processor.StateDir)
	assert.True(t, os.IsNotExist(statErr), "no state directory")
	groups, err := adm.ListGroups(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"g"}, groups.Groups(), "no replay group")

	err = Run(ctx, Options{Config: cfg, DropOld: true, Out: &out})
	assert.EqualError(t, err, "--drop-old goes with --into-new-tables")
	require.NoError(t, os.MkdirAll(filepath.Join(cfg.Processor.StateDir, "x"), 0o755))
	err = Run(ctx, Options{Config: cfg, Out: &out})
	assert.ErrorContains(t, err, "processor.state_dir "+cfg.Processor.StateDir+" is not empty")
}

// fakeFigures is a replay node's figures.
type fakeFigures struct {
	ready bool
	stats actors.Stats
}

func (f *fakeFigures) Ready() bool         { return f.ready }
func (f *fakeFigures) Stats() actors.Stats { return f.stats }

func TestProgress(t *testing.T) {
	listed := func(offsets map[string]map[int32]int64) kadm.ListedOffsets {
		l := kadm.ListedOffsets{}
		for topic, parts := range offsets {
			l[topic] = map[int32]kadm.ListedOffset{}
			for p, o := range parts {
				l[topic][p] = kadm.ListedOffset{Topic: topic, Partition: p, Offset: o}
			}
		}
		return l
	}
	var out bytes.Buffer
	p := &progress{out: &out, prefix: "p", topics: []string{"p.public.customers", "p.public.orders"},
		starts: listed(map[string]map[int32]int64{"p.public.customers": {0: 0}, "p.public.orders": {0: 5, 1: 0}}),
		ends:   listed(map[string]map[int32]int64{"p.public.customers": {0: 10}, "p.public.orders": {0: 15, 1: 10}}),
		began:  time.Now().Add(-10 * time.Second)}
	committed := func(o0, o1 int64) kadm.OffsetResponses {
		r := kadm.OffsetResponses{}
		r.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "p.public.orders", Partition: 0, At: o0}})
		r.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "p.public.orders", Partition: 1, At: o1}})
		return r
	}
	node := &fakeFigures{stats: actors.Stats{GlobalDone: map[string]map[int32]int64{"p.public.customers": {0: 4}}}}

	assert.False(t, p.report(node, committed(10, 0)), "not bootstrapped")
	assert.Contains(t, out.String(), "customers 4/10 · orders 5/20 · overall 9/30 (30%)")

	node.ready = true
	node.stats.GlobalDone["p.public.customers"][0] = 10
	assert.False(t, p.report(node, committed(15, 9)), "orders partition 1 short of its end")
	node.stats.Snapshots = 1
	assert.False(t, p.report(node, committed(15, 10)), "a global table's mirror rows still to send")
	node.stats.Snapshots = 0
	node.stats.GlobalDone["p.public.customers"][0] = 9
	assert.False(t, p.report(node, committed(15, 10)), "a customer change's facts not yet acknowledged")
	node.stats.GlobalDone["p.public.customers"][0] = 12
	out.Reset()
	assert.True(t, p.report(node, committed(16, 10)), "everything below the listed ends done")
	assert.Contains(t, out.String(), "customers 10/10 · orders 20/20 · overall 30/30 (100%)")
	out.Reset()
	assert.True(t, p.report(node, committed(16, 10)))
	assert.Empty(t, out.String(), "caught up, the line repeats only every 30 s")
}

func TestReservationWait(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ns := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixNano(), 10) }
	responses := func(metas ...string) kadm.OffsetResponses {
		r := kadm.OffsetResponses{}
		for i, m := range metas {
			r.Add(kadm.OffsetResponse{Offset: kadm.Offset{Topic: "p.public.orders", Partition: int32(i), At: 1, Metadata: m}})
		}
		return r
	}
	tests := []struct {
		name  string
		metas []string
		want  time.Duration
	}{
		{name: "no commits"},
		{name: "reservations passed", metas: []string{"drivetrain/3 version=" + ns(-time.Second) + " customers=0:1 vehicles=0:1"}},
		{name: "the highest counts", metas: []string{
			"drivetrain/3 version=" + ns(20*time.Second) + " customers=0:1 vehicles=0:1",
			"drivetrain/2 version=" + ns(45*time.Second) + " customers=0:1 vehicles=0:1",
			"drivetrain/1 customers=0:1 vehicles=0:1",
		}, want: 45 * time.Second},
		{name: "another tool's metadata", metas: []string{"version=" + ns(time.Minute), ""}},
		{name: "a clock far ahead is not waited for", metas: []string{"drivetrain/3 version=" + ns(time.Hour)}, want: maxReservationWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, reservationWait(responses(tt.metas...), now))
		})
	}
}
