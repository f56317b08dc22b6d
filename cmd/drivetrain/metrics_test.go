package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

type nopMirrors struct{}

func (nopMirrors) Write(context.Context, []topology.Mirror) error { return nil }

// runningSnapshot is a node in the middle of its work.
var runningSnapshot = metricsSnapshot{
	Running: true,
	Ready:   true,
	Stats: actors.Stats{
		InflightRows: 7,
		BufferedRows: 5,
		RowsEmitted:  42,
		DeadLetters:  map[string]int64{"decode": 2, "missing_order": 1},
		Consumed:     map[string]int64{"ecommerce.public.orders": 100, "ecommerce.public.customers": 30},
	},
	RowsWritten: map[string]int64{"sales_facts": 12, "orders": 9},
	Lag: map[string]map[int32]int64{
		"ecommerce.public.orders":   {0: 3, 1: 0},
		"ecommerce.public.payments": {0: 4},
	},
	LagTotal:    7,
	LagMeasured: true,
}

func TestNodeCollector(t *testing.T) {
	tests := []struct {
		name string
		in   metricsSnapshot
		want string
	}{
		{
			name: "starting",
			in:   metricsSnapshot{},
			want: `
# HELP drivetrain_ready 1 when /readyz answers ready (bootstrapped, ClickHouse reachable, lag below ready_max_lag), else 0.
# TYPE drivetrain_ready gauge
drivetrain_ready 0
`,
		},
		{
			name: "running, lag not measured yet",
			in: metricsSnapshot{Running: true, Stats: actors.Stats{
				RowsEmitted: 1, Consumed: map[string]int64{"t": 1},
			}},
			want: `
# HELP drivetrain_events_consumed_total Records fetched from Kafka, by topic.
# TYPE drivetrain_events_consumed_total counter
drivetrain_events_consumed_total{topic="t"} 1
# HELP drivetrain_ready 1 when /readyz answers ready (bootstrapped, ClickHouse reachable, lag below ready_max_lag), else 0.
# TYPE drivetrain_ready gauge
drivetrain_ready 0
# HELP drivetrain_rows_emitted_total Rows (facts and mirror rows) the processor handed to the sinks.
# TYPE drivetrain_rows_emitted_total counter
drivetrain_rows_emitted_total 1
# HELP drivetrain_sink_backlog_rows Rows buffered in or in flight to the ClickHouse sinks.
# TYPE drivetrain_sink_backlog_rows gauge
drivetrain_sink_backlog_rows 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &nodeCollector{snapshot: func() metricsSnapshot { return tt.in }}
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

	m := newNodeMetrics(func() metricsSnapshot { return runningSnapshot }, dir)

	// A fact batch whose insert takes 20 ms by the fake clock, with rows
	// committed 250 ms and 750 ms before the acknowledgement.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ack := start.Add(20 * time.Millisecond)
	clock := []time.Time{start, ack}
	facts := &factCounter{
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
	orders := &mirrorCounter{w: nopMirrors{}, insert: m.insertObserver("orders")}
	require.NoError(t, orders.Write(context.Background(), make([]topology.Mirror, 3)))

	srv := newStatusServer(func() nodeStatus { return nodeStatus{} }, m.handler())
	ln, err := srv.listen("127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.serve(ctx, ln) }()
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
# HELP drivetrain_consumer_lag Consumer group lag (end offset minus committed offset) of an order-stream partition.
# TYPE drivetrain_consumer_lag gauge
drivetrain_consumer_lag{partition="0",topic="ecommerce.public.orders"} 3
drivetrain_consumer_lag{partition="1",topic="ecommerce.public.orders"} 0
drivetrain_consumer_lag{partition="0",topic="ecommerce.public.payments"} 4
# HELP drivetrain_consumer_lag_total Consumer group lag summed over the order-stream partitions.
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
		metricEventsConsumed, metricDeadLetters, metricRowsEmitted, metricRowsWritten,
		metricLag, metricLagTotal, metricSinkBacklog, metricReady, metricStateBytes))

	families := scrape(t, url)
	var names []string
	for name := range families {
		if strings.HasPrefix(name, "drivetrain_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	wantNames := append([]string(nil), metricNames...)
	sort.Strings(wantNames)
	assert.Equal(t, wantNames, names, "/metrics exposes exactly metricNames")
	assert.Contains(t, families, "go_goroutines")
	assert.Contains(t, families, "process_resident_memory_bytes")
	for name := range metricHistograms {
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

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
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
