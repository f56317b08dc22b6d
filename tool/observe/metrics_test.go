package observe

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/tool/observe/observetest"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

type nopMirrors struct{}

func (nopMirrors) Write(context.Context, []topology.Mirror) error { return nil }

// runningSnapshot is a node in the middle of its work.
var runningSnapshot = Snapshot{
	Running: true,
	Ready:   true,
	Stats: actors.Stats{
		InflightRows:     7,
		BufferedRows:     5,
		RowsEmitted:      42,
		BootstrapSkipped: 600,
		Checkpoints:      3,
		CheckpointTime:   1500 * time.Millisecond,
		DeadLetters:      map[string]int64{"decode": 2, "missing_order": 1},
		Consumed:         map[string]int64{"ecommerce.public.orders": 100, "ecommerce.public.customers": 30},
	},
	RowsWritten: map[string]int64{"sales_facts": 12, "orders": 9},
	Lag: map[string]map[int32]int64{
		"ecommerce.public.orders":   {0: 3, 1: 0},
		"ecommerce.public.payments": {0: 4},
	},
	LagTotal:    7,
	LagMeasured: true,
	State:       runningState,
	StateOpen:   true,
}

// runningState is a state store that flushed and compacted.
var runningState = state.Metrics{
	DiskBytes: 5 << 20,
	Levels: [state.NumLevels]state.LevelMetrics{
		0: {Tables: 2, Bytes: 1 << 20, Sublevels: 2},
		6: {Tables: 3, Bytes: 3 << 20, Sublevels: 1},
	},
	Tables:                5,
	TableBytes:            4 << 20,
	ReadAmplification:     3,
	WriteAmplification:    2.5,
	CompactionsTotal:      4,
	CompactionsByKind:     map[string]int64{"default": 3, "move": 1},
	CompactionsInProgress: 1,
	CompactionDebtBytes:   1 << 20,
	CompactedBytesTotal:   6 << 20,
	FlushesTotal:          9,
	FlushedBytesTotal:     8 << 20,
	WALBytesInTotal:       7 << 20,
	WALBytesWrittenTotal:  7<<20 + 100,
	MemTableBytes:         16 << 20,
	MemTables:             1,
	BlockCacheBytes:       2 << 20,
	BlockCacheHitsTotal:   1000,
	BlockCacheMissesTotal: 10,
}

func TestNodeCollector(t *testing.T) {
	tests := []struct {
		name string
		in   Snapshot
		want string
	}{
		{
			name: "starting",
			in:   Snapshot{},
			want: `
# HELP drivetrain_ready 1 when /readyz answers ready (bootstrapped, ClickHouse reachable, lag below ready_max_lag), else 0.
# TYPE drivetrain_ready gauge
drivetrain_ready 0
`,
		},
		{
			name: "running, lag not measured yet",
			in: Snapshot{Running: true, Stats: actors.Stats{
				RowsEmitted: 1, Consumed: map[string]int64{"t": 1},
			}},
			want: `
# HELP drivetrain_events_consumed_total Records fetched from Kafka, by topic.
# TYPE drivetrain_events_consumed_total counter
drivetrain_events_consumed_total{topic="t"} 1
# HELP drivetrain_bootstrap_records_skipped_total Records of the global tables a bootstrap from nothing, reading newest first, checked but did not apply: a later record of the same row replaced them.
# TYPE drivetrain_bootstrap_records_skipped_total counter
drivetrain_bootstrap_records_skipped_total 0
# HELP drivetrain_ready 1 when /readyz answers ready (bootstrapped, ClickHouse reachable, lag below ready_max_lag), else 0.
# TYPE drivetrain_ready gauge
drivetrain_ready 0
# HELP drivetrain_rows_emitted_total Rows (facts and mirror rows) the processor handed to the sinks.
# TYPE drivetrain_rows_emitted_total counter
drivetrain_rows_emitted_total 1
# HELP drivetrain_sink_backlog_rows Rows buffered in or in flight to the ClickHouse sinks.
# TYPE drivetrain_sink_backlog_rows gauge
drivetrain_sink_backlog_rows 0
# HELP drivetrain_state_checkpoint_seconds_total Time spent writing checkpoints of the state.
# TYPE drivetrain_state_checkpoint_seconds_total counter
drivetrain_state_checkpoint_seconds_total 0
# HELP drivetrain_state_checkpoints_total Checkpoints of the state written: the state changed in memory since the last one, with the offsets it reflects, written to Pebble (processor.checkpoint_interval).
# TYPE drivetrain_state_checkpoints_total counter
drivetrain_state_checkpoints_total 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &nodeCollector{snapshot: func() Snapshot { return tt.in }}
			assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(tt.want)))
		})
	}
}

// TestMetricsEndpoint scrapes /metrics of a status server fed by a fake
// node and checks every drivetrain metric with its labels and values.
func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "000001.sst"), make([]byte, 1000), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "MANIFEST"), make([]byte, 24), 0o644))

	m := NewMetrics(func() Snapshot { return runningSnapshot }, dir)

	// A fact batch whose insert takes 20 ms by the fake clock, with rows
	// committed 250 ms and 750 ms before the acknowledgement.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ack := start.Add(20 * time.Millisecond)
	clock := []time.Time{start, ack}
	facts := &FactCounter{
		w: nopFacts{}, freshness: newHistogram(),
		now: func() time.Time {
			tm := clock[0]
			clock = clock[1:]
			return tm
		},
		insert: m.insertObserver("sales_facts"), promFreshness: m.freshness,
	}
	require.NoError(t, facts.Write(context.Background(), []topology.Fact{
		{UpdatedAt: topology.TimestampOf(ack.Add(-250 * time.Millisecond))},
		{UpdatedAt: topology.TimestampOf(ack.Add(-750 * time.Millisecond))},
	}))
	orders := &MirrorCounter{w: nopMirrors{}, insert: m.insertObserver("orders")}
	require.NoError(t, orders.Write(context.Background(), make([]topology.Mirror, 3)))

	srv := NewServer(func() Status { return Status{} }, m.Handler())
	ln, err := srv.Listen("127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	url := "http://" + ln.Addr().String() + "/metrics"

	want := `
# HELP drivetrain_events_consumed_total Records fetched from Kafka, by topic.
# TYPE drivetrain_events_consumed_total counter
drivetrain_events_consumed_total{topic="ecommerce.public.customers"} 30
drivetrain_events_consumed_total{topic="ecommerce.public.orders"} 100
# HELP drivetrain_dead_letters_total Records sent to the dead-letter topic, by error kind.
# TYPE drivetrain_dead_letters_total counter
drivetrain_dead_letters_total{kind="decode"} 2
drivetrain_dead_letters_total{kind="missing_order"} 1
# HELP drivetrain_rows_emitted_total Rows (facts and mirror rows) the processor handed to the sinks.
# TYPE drivetrain_rows_emitted_total counter
drivetrain_rows_emitted_total 42
# HELP drivetrain_rows_written_total Rows ClickHouse acknowledged, by table.
# TYPE drivetrain_rows_written_total counter
drivetrain_rows_written_total{table="orders"} 9
drivetrain_rows_written_total{table="sales_facts"} 12
# HELP drivetrain_bootstrap_records_skipped_total Records of the global tables a bootstrap from nothing, reading newest first, checked but did not apply: a later record of the same row replaced them.
# TYPE drivetrain_bootstrap_records_skipped_total counter
drivetrain_bootstrap_records_skipped_total 600
# HELP drivetrain_state_checkpoints_total Checkpoints of the state written: the state changed in memory since the last one, with the offsets it reflects, written to Pebble (processor.checkpoint_interval).
# TYPE drivetrain_state_checkpoints_total counter
drivetrain_state_checkpoints_total 3
# HELP drivetrain_state_checkpoint_seconds_total Time spent writing checkpoints of the state.
# TYPE drivetrain_state_checkpoint_seconds_total counter
drivetrain_state_checkpoint_seconds_total 1.5
# HELP drivetrain_consumer_lag Lag of a partition the node reads: for the order stream, the consumer group's end offset minus committed offset; for the global tables, the end offset minus the node's next offset fully processed (mirror rows and refreshed facts acknowledged).
# TYPE drivetrain_consumer_lag gauge
drivetrain_consumer_lag{partition="0",topic="ecommerce.public.orders"} 3
drivetrain_consumer_lag{partition="1",topic="ecommerce.public.orders"} 0
drivetrain_consumer_lag{partition="0",topic="ecommerce.public.payments"} 4
# HELP drivetrain_consumer_lag_total drivetrain_consumer_lag summed over every partition the node reads, global tables included.
# TYPE drivetrain_consumer_lag_total gauge
drivetrain_consumer_lag_total 7
# HELP drivetrain_sink_backlog_rows Rows buffered in or in flight to the ClickHouse sinks.
# TYPE drivetrain_sink_backlog_rows gauge
drivetrain_sink_backlog_rows 12
# HELP drivetrain_ready 1 when /readyz answers ready (bootstrapped, ClickHouse reachable, lag below ready_max_lag), else 0.
# TYPE drivetrain_ready gauge
drivetrain_ready 1
# HELP drivetrain_state_bytes Size on disk of the node's state directory (walked at most every 10 s).
# TYPE drivetrain_state_bytes gauge
drivetrain_state_bytes 1024
`
	assert.NoError(t, testutil.ScrapeAndCompare(url, strings.NewReader(want),
		metricEventsConsumed, metricDeadLetters, metricRowsEmitted, metricRowsWritten, metricBootSkipped,
		metricCheckpoints, metricCheckpointTime, metricLag, metricLagTotal, metricSinkBacklog, metricReady, metricStateBytes))

	pebbleWant := `
# HELP drivetrain_pebble_disk_bytes Disk space the Pebble state store uses: tables (live and awaiting deletion), write-ahead log, manifest.
# TYPE drivetrain_pebble_disk_bytes gauge
drivetrain_pebble_disk_bytes 5.24288e+06
# HELP drivetrain_pebble_tables Live sstables of the state store, by LSM level (level 0 is L0's file count).
# TYPE drivetrain_pebble_tables gauge
drivetrain_pebble_tables{level="0"} 2
drivetrain_pebble_tables{level="1"} 0
drivetrain_pebble_tables{level="2"} 0
drivetrain_pebble_tables{level="3"} 0
drivetrain_pebble_tables{level="4"} 0
drivetrain_pebble_tables{level="5"} 0
drivetrain_pebble_tables{level="6"} 3
# HELP drivetrain_pebble_table_bytes Size of the live sstables of the state store, by LSM level.
# TYPE drivetrain_pebble_table_bytes gauge
drivetrain_pebble_table_bytes{level="0"} 1.048576e+06
drivetrain_pebble_table_bytes{level="1"} 0
drivetrain_pebble_table_bytes{level="2"} 0
drivetrain_pebble_table_bytes{level="3"} 0
drivetrain_pebble_table_bytes{level="4"} 0
drivetrain_pebble_table_bytes{level="5"} 0
drivetrain_pebble_table_bytes{level="6"} 3.145728e+06
# HELP drivetrain_pebble_l0_sublevels Sublevels of the state store's L0 (Pebble throttles writes as they pile up).
# TYPE drivetrain_pebble_l0_sublevels gauge
drivetrain_pebble_l0_sublevels 2
# HELP drivetrain_pebble_read_amplification Read amplification of the state store: L0 sublevels plus non-empty lower levels.
# TYPE drivetrain_pebble_read_amplification gauge
drivetrain_pebble_read_amplification 3
# HELP drivetrain_pebble_write_amplification Write amplification of the state store since it opened: bytes written to the log, flushes and compactions over bytes written to the log.
# TYPE drivetrain_pebble_write_amplification gauge
drivetrain_pebble_write_amplification 2.5
# HELP drivetrain_pebble_compactions_total Compactions of the state store finished since it opened, by kind (flushes are counted apart).
# TYPE drivetrain_pebble_compactions_total counter
drivetrain_pebble_compactions_total{kind="default"} 3
drivetrain_pebble_compactions_total{kind="move"} 1
# HELP drivetrain_pebble_compactions_in_progress Compactions of the state store running now.
# TYPE drivetrain_pebble_compactions_in_progress gauge
drivetrain_pebble_compactions_in_progress 1
# HELP drivetrain_pebble_compaction_debt_bytes Estimated bytes the state store must compact to reach a stable LSM shape.
# TYPE drivetrain_pebble_compaction_debt_bytes gauge
drivetrain_pebble_compaction_debt_bytes 1.048576e+06
# HELP drivetrain_pebble_compacted_bytes_total Bytes compactions of the state store wrote since it opened.
# TYPE drivetrain_pebble_compacted_bytes_total counter
drivetrain_pebble_compacted_bytes_total 6.291456e+06
# HELP drivetrain_pebble_flushes_total Memtable flushes of the state store since it opened.
# TYPE drivetrain_pebble_flushes_total counter
drivetrain_pebble_flushes_total 9
# HELP drivetrain_pebble_flushed_bytes_total Bytes memtable flushes of the state store wrote since it opened.
# TYPE drivetrain_pebble_flushed_bytes_total counter
drivetrain_pebble_flushed_bytes_total 8.388608e+06
# HELP drivetrain_pebble_wal_bytes_in_total Logical bytes written to the state store's write-ahead log since it opened.
# TYPE drivetrain_pebble_wal_bytes_in_total counter
drivetrain_pebble_wal_bytes_in_total 7.340032e+06
# HELP drivetrain_pebble_wal_bytes_written_total Physical bytes written to the state store's write-ahead log since it opened.
# TYPE drivetrain_pebble_wal_bytes_written_total counter
drivetrain_pebble_wal_bytes_written_total 7.340132e+06
# HELP drivetrain_pebble_memtable_bytes Memory the state store's memtables hold (the mutable one and those waiting to be flushed).
# TYPE drivetrain_pebble_memtable_bytes gauge
drivetrain_pebble_memtable_bytes 1.6777216e+07
# HELP drivetrain_pebble_memtables Memtables of the state store (the mutable one and those waiting to be flushed).
# TYPE drivetrain_pebble_memtables gauge
drivetrain_pebble_memtables 1
# HELP drivetrain_pebble_block_cache_bytes Memory the state store's block cache holds.
# TYPE drivetrain_pebble_block_cache_bytes gauge
drivetrain_pebble_block_cache_bytes 2.097152e+06
# HELP drivetrain_pebble_block_cache_hits_total Block cache lookups of the state store that found the block, since it opened.
# TYPE drivetrain_pebble_block_cache_hits_total counter
drivetrain_pebble_block_cache_hits_total 1000
# HELP drivetrain_pebble_block_cache_misses_total Block cache lookups of the state store that missed, since it opened.
# TYPE drivetrain_pebble_block_cache_misses_total counter
drivetrain_pebble_block_cache_misses_total 10
`
	var pebbleNames []string
	for _, n := range MetricNames {
		if strings.HasPrefix(n, "drivetrain_pebble_") {
			pebbleNames = append(pebbleNames, n)
		}
	}
	assert.NoError(t, testutil.ScrapeAndCompare(url, strings.NewReader(pebbleWant), pebbleNames...))

	families := observetest.Scrape(t, url)
	var names []string
	for name := range families {
		if strings.HasPrefix(name, "drivetrain_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	wantNames := append([]string(nil), MetricNames...)
	sort.Strings(wantNames)
	assert.Equal(t, wantNames, names, "/metrics exposes exactly MetricNames")
	assert.Contains(t, families, "go_goroutines")
	assert.Contains(t, families, "process_resident_memory_bytes")
	for name := range MetricHistograms {
		assert.Equal(t, dto.MetricType_HISTOGRAM, families[name].GetType(), name)
	}

	hists := []struct {
		name, table string
		count       uint64
		sum         float64
	}{
		{metricInsertDuration, "sales_facts", 1, 0.020},
		{metricInsertRows, "sales_facts", 1, 2},
		{metricInsertDuration, "orders", 1, -1}, // real clock: any duration
		{metricInsertRows, "orders", 1, 3},
		{metricFreshness, "", 2, 1.0},
	}
	for _, h := range hists {
		got := findHistogram(t, families[h.name], h.table)
		require.NotNil(t, got, "%s{table=%q}", h.name, h.table)
		assert.Equal(t, h.count, got.GetSampleCount(), "%s{table=%q} count", h.name, h.table)
		if h.sum >= 0 {
			assert.InDelta(t, h.sum, got.GetSampleSum(), 1e-9, "%s{table=%q} sum", h.name, h.table)
		}
	}
}

// findHistogram returns the histogram of f labelled table (or the only
// one when table is empty).
func findHistogram(t *testing.T, f *dto.MetricFamily, table string) *dto.Histogram {
	t.Helper()
	require.NotNil(t, f)
	for _, m := range f.GetMetric() {
		if table == "" {
			return m.GetHistogram()
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == "table" && l.GetValue() == table {
				return m.GetHistogram()
			}
		}
	}
	return nil
}

func TestDirSizerCaches(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), make([]byte, 10), 0o644))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &dirSizer{dir: dir, every: 10 * time.Second, now: func() time.Time { return now }}

	steps := []struct {
		name    string
		advance time.Duration
		write   int
		want    int64
	}{
		{name: "first walk", want: 10},
		{name: "cached within the interval", advance: 5 * time.Second, write: 5, want: 10},
		{name: "walked again after it", advance: 5 * time.Second, want: 15},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if s.write > 0 {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "b"+string(rune('0'+i))), make([]byte, s.write), 0o644))
		}
		got, ok := d.size()
		assert.True(t, ok, s.name)
		assert.Equal(t, s.want, got, s.name)
	}

	_, ok := (&dirSizer{now: time.Now}).size()
	assert.False(t, ok, "no directory, no figure")
	_, ok = (&dirSizer{dir: filepath.Join(dir, "missing"), now: time.Now}).size()
	assert.False(t, ok, "unreadable directory, no figure")
}

// TestStateStatus checks the state size a node serves on /status and how
// `drivetrain status` shows it, per member and per node.
func TestStateStatus(t *testing.T) {
	withState := Status{Node: "node-a", Ready: true, State: &StateStatus{
		DiskBytes: 5 << 20, GlobalBytes: 1 << 10, PartitionBytes: map[int32]uint64{3: 512, 0: 2 << 20}, ReadAmplification: 3,
	}}
	t.Run("status JSON", func(t *testing.T) {
		tests := []struct {
			name string
			in   Status
			want string // the "state" member, "" for none
		}{
			{"store open", withState, `{"disk_bytes":5242880,"global_bytes":1024,"partition_bytes":{"0":2097152,"3":512},"compaction_debt_bytes":0,"read_amplification":3}`},
			{"store not open", Status{Node: "node-b"}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				data, err := json.Marshal(tt.in)
				require.NoError(t, err)
				var got map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(data, &got))
				if tt.want == "" {
					assert.NotContains(t, got, "state")
					return
				}
				assert.JSONEq(t, tt.want, string(got["state"]))
			})
		}
	})

	st := &ClusterStatus{
		Group: "g", State: "Stable",
		Members: []MemberStatus{
			{ClientID: "node-a", Host: "10.0.0.1", Partitions: map[string][]int{"ecommerce.public.orders": {0, 3}}},
			{ClientID: "node-b", Host: "10.0.0.2", Partitions: map[string][]int{"ecommerce.public.orders": {1}}},
		},
		Nodes: []NodeStatusErr{
			{URL: "http://a:18090", Status: &withState},
			{URL: "http://b:18090", Error: "connection refused"},
		},
	}
	attachStateSizes(st)
	assert.Equal(t, uint64(5<<20), st.Members[0].StateBytes, "node-a is member node-a")
	assert.Zero(t, st.Members[1].StateBytes, "node-b did not answer")

	var out strings.Builder
	WriteCluster(&out, st)
	lines := strings.Split(out.String(), "\n")
	require.GreaterOrEqual(t, len(lines), 5, out.String())
	assert.Regexp(t, `^  node-a .* orders\[0 3\] state 5\.0 MiB$`, lines[1])
	assert.NotContains(t, lines[2], "state")
	assert.Equal(t, "  state 5.0 MiB on disk (global 1.0 KiB, partitions 0=2.0 MiB 3=512 B), compaction debt 0 B, read amplification 3", lines[4])

	for _, tt := range []struct {
		in   uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {3 << 19, "1.5 MiB"}, {5 << 30, "5.0 GiB"}, {1 << 50, "1024.0 TiB"},
	} {
		assert.Equal(t, tt.want, formatBytes(tt.in), "%d bytes", tt.in)
	}
}
