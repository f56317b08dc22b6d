package main

import (
	"io/fs"
	"maps"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drivetrain-cdc/drivetrain/actors"
)

// The metrics a node serves on /metrics, besides the Go runtime (go_*) and
// process (process_*) collectors. metricNames lists them all: the tests
// check that /metrics exposes exactly these and that the Grafana dashboard
// (deploy/grafana) queries nothing else.
//
// Pebble's own metrics (compactions, levels) are not exported: the node
// does not expose its state.Store. drivetrain_state_bytes covers the size.
const (
	metricEventsConsumed = "drivetrain_events_consumed_total"
	metricDeadLetters    = "drivetrain_dead_letters_total"
	metricRowsEmitted    = "drivetrain_rows_emitted_total"
	metricRowsWritten    = "drivetrain_rows_written_total"
	metricInsertDuration = "drivetrain_insert_duration_seconds"
	metricInsertRows     = "drivetrain_insert_batch_rows"
	metricLag            = "drivetrain_consumer_lag"
	metricLagTotal       = "drivetrain_consumer_lag_total"
	metricSinkBacklog    = "drivetrain_sink_backlog_rows"
	metricFreshness      = "drivetrain_freshness_seconds"
	metricReady          = "drivetrain_ready"
	metricStateBytes     = "drivetrain_state_bytes"
)

// metricNames is every drivetrain_* metric family /metrics exposes.
var metricNames = []string{
	metricEventsConsumed, metricDeadLetters, metricRowsEmitted, metricRowsWritten,
	metricInsertDuration, metricInsertRows, metricLag, metricLagTotal,
	metricSinkBacklog, metricFreshness, metricReady, metricStateBytes,
}

// metricHistograms are the metricNames that are histograms (exposed as
// _bucket, _sum and _count series).
var metricHistograms = map[string]bool{
	metricInsertDuration: true, metricInsertRows: true, metricFreshness: true,
}

// metricsSnapshot is what the node collector reads at scrape time.
type metricsSnapshot struct {
	// Running: the node exists (false while connecting to ClickHouse);
	// without it only Ready and the state size are reported.
	Running bool
	Ready   bool
	Stats   actors.Stats
	// RowsWritten counts rows ClickHouse acknowledged, by table.
	RowsWritten map[string]int64
	// Lag is the consumer lag by topic and partition; LagMeasured says
	// whether it was measured at all.
	Lag         map[string]map[int32]int64
	LagTotal    int64
	LagMeasured bool
}

// nodeMetrics is one node's Prometheus registry (never the global default
// registry) and the histograms the sink wrappers of observe.go observe.
type nodeMetrics struct {
	reg            *prometheus.Registry
	insertDuration *prometheus.HistogramVec
	insertRows     *prometheus.HistogramVec
	freshness      prometheus.Histogram
}

// newNodeMetrics builds the registry. snapshot is called once per scrape;
// stateDir (may be empty) is the directory whose size
// drivetrain_state_bytes reports, walked at most every 10 seconds.
func newNodeMetrics(snapshot func() metricsSnapshot, stateDir string) *nodeMetrics {
	m := &nodeMetrics{
		reg: prometheus.NewRegistry(),
		insertDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    metricInsertDuration,
			Help:    "Time of each successful ClickHouse insert, by table (retries of a failed batch excluded).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16), // 1 ms to 33 s
		}, []string{"table"}),
		insertRows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    metricInsertRows,
			Help:    "Rows per successful ClickHouse insert, by table.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10), // 1 to 262144
		}, []string{"table"}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: metricFreshness,
			Help: "Per sales fact row, seconds from the source commit of its latest change to ClickHouse acknowledging it (changes committed before the node started are left out).",
			// 5 ms to about 11 minutes.
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 18),
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.insertDuration, m.insertRows, m.freshness,
		&nodeCollector{snapshot: snapshot, dir: dirSizer{dir: stateDir, every: 10 * time.Second, now: time.Now}},
	)
	return m
}

// handler serves the registry in the Prometheus exposition format.
func (m *nodeMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// insertObserver returns the table's insert histograms, or nil when m is
// nil (tests that need no metrics).
func (m *nodeMetrics) insertObserver(table string) *insertObserver {
	if m == nil {
		return nil
	}
	return &insertObserver{
		duration: m.insertDuration.WithLabelValues(table),
		rows:     m.insertRows.WithLabelValues(table),
	}
}

// insertObserver records one table's successful inserts. A nil
// *insertObserver records nothing.
type insertObserver struct {
	duration, rows prometheus.Observer
}

func (o *insertObserver) observe(took time.Duration, rows int) {
	if o == nil {
		return
	}
	o.duration.Observe(took.Seconds())
	o.rows.Observe(float64(rows))
}

var (
	descEventsConsumed = prometheus.NewDesc(metricEventsConsumed, "Records fetched from Kafka, by topic.", []string{"topic"}, nil)
	descDeadLetters    = prometheus.NewDesc(metricDeadLetters, "Records sent to the dead-letter topic, by error kind.", []string{"kind"}, nil)
	descRowsEmitted    = prometheus.NewDesc(metricRowsEmitted, "Rows (facts and mirror rows) the processor handed to the sinks.", nil, nil)
	descRowsWritten    = prometheus.NewDesc(metricRowsWritten, "Rows ClickHouse acknowledged, by table.", []string{"table"}, nil)
	descLag            = prometheus.NewDesc(metricLag, "Consumer group lag (end offset minus committed offset) of an order-stream partition.", []string{"topic", "partition"}, nil)
	descLagTotal       = prometheus.NewDesc(metricLagTotal, "Consumer group lag summed over the order-stream partitions.", nil, nil)
	descSinkBacklog    = prometheus.NewDesc(metricSinkBacklog, "Rows buffered in or in flight to the ClickHouse sinks.", nil, nil)
	descReady          = prometheus.NewDesc(metricReady, "1 when /readyz answers ready (bootstrapped, ClickHouse reachable, lag below ready_max_lag), else 0.", nil, nil)
	descStateBytes     = prometheus.NewDesc(metricStateBytes, "Size on disk of the node's state directory (walked at most every 10 s).", nil, nil)
)

// nodeCollector reads the node's counters at scrape time, so the actors
// need no Prometheus instrumentation.
type nodeCollector struct {
	snapshot func() metricsSnapshot
	dir      dirSizer
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEventsConsumed, descDeadLetters, descRowsEmitted, descRowsWritten, descLag, descLagTotal, descSinkBacklog, descReady, descStateBytes} {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, boolFloat(s.Ready))
	if size, ok := c.dir.size(); ok {
		ch <- prometheus.MustNewConstMetric(descStateBytes, prometheus.GaugeValue, float64(size))
	}
	if !s.Running {
		return
	}
	for topic, n := range s.Stats.Consumed {
		ch <- prometheus.MustNewConstMetric(descEventsConsumed, prometheus.CounterValue, float64(n), topic)
	}
	for kind, n := range s.Stats.DeadLetters {
		ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.CounterValue, float64(n), kind)
	}
	ch <- prometheus.MustNewConstMetric(descRowsEmitted, prometheus.CounterValue, float64(s.Stats.RowsEmitted))
	for table, n := range s.RowsWritten {
		ch <- prometheus.MustNewConstMetric(descRowsWritten, prometheus.CounterValue, float64(n), table)
	}
	ch <- prometheus.MustNewConstMetric(descSinkBacklog, prometheus.GaugeValue, float64(s.Stats.InflightRows+s.Stats.BufferedRows))
	if s.LagMeasured {
		ch <- prometheus.MustNewConstMetric(descLagTotal, prometheus.GaugeValue, float64(s.LagTotal))
		for topic, parts := range s.Lag {
			for p, lag := range parts {
				ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(lag), topic, strconv.Itoa(int(p)))
			}
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// dirSizer reports the total size of the regular files under dir, walking
// it at most once per every.
type dirSizer struct {
	dir   string
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	at     time.Time
	bytes  int64
	walked bool
}

// size returns the cached size, walking the directory again when the
// cache is older than every; ok is false when dir is unset or unreadable.
func (d *dirSizer) size() (bytes int64, ok bool) {
	if d.dir == "" {
		return 0, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if d.walked && now.Sub(d.at) < d.every {
		return d.bytes, true
	}
	var total int64
	err := filepath.WalkDir(d.dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		// Files come and go while Pebble compacts; report the last good
		// figure if there is one.
		return d.bytes, d.walked
	}
	d.bytes, d.at, d.walked = total, now, true
	return total, true
}

// partitionLags returns a copy of the last measured lag by topic and
// partition.
func (w *lagWatcher) partitionLags() map[string]map[int32]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]map[int32]int64, len(w.perPart))
	for t, parts := range w.perPart {
		out[t] = maps.Clone(parts)
	}
	return out
}

// metrics is the nodeCollector's snapshot function for a running node.
func (s *nodeStatusSource) metrics() metricsSnapshot {
	st := s.get()
	m := metricsSnapshot{Ready: st.Ready}
	s.mu.Lock()
	node, lag := s.node, s.lag
	s.mu.Unlock()
	if node == nil {
		return m
	}
	m.Running = true
	m.Stats = node.Stats()
	m.RowsWritten = st.RowsWritten
	m.LagTotal, m.LagMeasured, _, _ = lag.snapshot()
	m.Lag = lag.partitionLags()
	return m
}
