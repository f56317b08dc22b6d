package observe

import (
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/state"
)

// The metrics a node serves on /metrics, besides the Go runtime (go_*) and
// process (process_*) collectors. MetricNames lists them all: the tests
// check that /metrics exposes exactly these and that the Grafana dashboard
// (deploy/grafana) queries nothing else.
//
// The drivetrain_pebble_* metrics describe the node's state store while
// it is open (actors.Node.StateMetrics); drivetrain_state_bytes, the size
// of the state directory, is reported from start-up on.
const (
	metricEventsConsumed = "drivetrain_events_consumed_total"
	metricDeadLetters    = "drivetrain_dead_letters_total"
	metricRowsEmitted    = "drivetrain_rows_emitted_total"
	metricRowsWritten    = "drivetrain_rows_written_total"
	metricBootSkipped    = "drivetrain_bootstrap_records_skipped_total"
	metricCheckpoints    = "drivetrain_state_checkpoints_total"
	metricCheckpointTime = "drivetrain_state_checkpoint_seconds_total"
	metricInsertDuration = "drivetrain_insert_duration_seconds"
	metricInsertRows     = "drivetrain_insert_batch_rows"
	metricLag            = "drivetrain_consumer_lag"
	metricLagTotal       = "drivetrain_consumer_lag_total"
	metricSinkBacklog    = "drivetrain_sink_backlog_rows"
	metricFreshness      = "drivetrain_freshness_seconds"
	metricReady          = "drivetrain_ready"
	metricStateBytes     = "drivetrain_state_bytes"

	metricPebbleDiskBytes        = "drivetrain_pebble_disk_bytes"
	metricPebbleTables           = "drivetrain_pebble_tables"
	metricPebbleTableBytes       = "drivetrain_pebble_table_bytes"
	metricPebbleL0Sublevels      = "drivetrain_pebble_l0_sublevels"
	metricPebbleReadAmp          = "drivetrain_pebble_read_amplification"
	metricPebbleWriteAmp         = "drivetrain_pebble_write_amplification"
	metricPebbleCompactions      = "drivetrain_pebble_compactions_total"
	metricPebbleCompactionsNow   = "drivetrain_pebble_compactions_in_progress"
	metricPebbleCompactionDebt   = "drivetrain_pebble_compaction_debt_bytes"
	metricPebbleCompactedBytes   = "drivetrain_pebble_compacted_bytes_total"
	metricPebbleFlushes          = "drivetrain_pebble_flushes_total"
	metricPebbleFlushedBytes     = "drivetrain_pebble_flushed_bytes_total"
	metricPebbleWALBytesIn       = "drivetrain_pebble_wal_bytes_in_total"
	metricPebbleWALBytesWritten  = "drivetrain_pebble_wal_bytes_written_total"
	metricPebbleMemtableBytes    = "drivetrain_pebble_memtable_bytes"
	metricPebbleMemtables        = "drivetrain_pebble_memtables"
	metricPebbleBlockCacheBytes  = "drivetrain_pebble_block_cache_bytes"
	metricPebbleBlockCacheHits   = "drivetrain_pebble_block_cache_hits_total"
	metricPebbleBlockCacheMisses = "drivetrain_pebble_block_cache_misses_total"
)

// MetricNames is every drivetrain_* metric family /metrics exposes.
var MetricNames = []string{
	metricEventsConsumed, metricDeadLetters, metricRowsEmitted, metricRowsWritten, metricBootSkipped,
	metricCheckpoints, metricCheckpointTime, metricInsertDuration, metricInsertRows, metricLag, metricLagTotal,
	metricSinkBacklog, metricFreshness, metricReady, metricStateBytes,
	metricPebbleDiskBytes, metricPebbleTables, metricPebbleTableBytes, metricPebbleL0Sublevels,
	metricPebbleReadAmp, metricPebbleWriteAmp, metricPebbleCompactions, metricPebbleCompactionsNow,
	metricPebbleCompactionDebt, metricPebbleCompactedBytes, metricPebbleFlushes, metricPebbleFlushedBytes,
	metricPebbleWALBytesIn, metricPebbleWALBytesWritten, metricPebbleMemtableBytes, metricPebbleMemtables,
	metricPebbleBlockCacheBytes, metricPebbleBlockCacheHits, metricPebbleBlockCacheMisses,
}

// MetricHistograms are the MetricNames that are histograms (exposed as
// _bucket, _sum and _count series).
var MetricHistograms = map[string]bool{
	metricInsertDuration: true, metricInsertRows: true, metricFreshness: true,
}

// Snapshot is what the node collector reads at scrape time.
type Snapshot struct {
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
	// State is the state store's Pebble metrics; StateOpen says whether
	// the store is open (otherwise no drivetrain_pebble_* metric is
	// reported).
	State     state.Metrics
	StateOpen bool
}

// Metrics is one node's Prometheus registry (never the global default
// registry) and the histograms FactCounter and MirrorCounter observe. Safe
// for concurrent use.
type Metrics struct {
	reg            *prometheus.Registry
	insertDuration *prometheus.HistogramVec
	insertRows     *prometheus.HistogramVec
	freshness      prometheus.Histogram
}

// NewMetrics builds the registry. snapshot is called once per scrape;
// stateDir (may be empty) is the directory whose size
// drivetrain_state_bytes reports, walked at most every 10 seconds.
func NewMetrics(snapshot func() Snapshot, stateDir string) *Metrics {
	m := &Metrics{
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
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// insertObserver returns the table's insert histograms, or nil when m is
// nil (tests that need no metrics).
func (m *Metrics) insertObserver(table string) *insertObserver {
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
	descBootSkipped    = prometheus.NewDesc(metricBootSkipped, "Records of the global tables a bootstrap from nothing, reading newest first, checked but did not apply: a later record of the same row replaced them.", nil, nil)
	descCheckpoints    = prometheus.NewDesc(metricCheckpoints, "Checkpoints of the state written: the state changed in memory since the last one, with the offsets it reflects, written to Pebble (processor.checkpoint_interval).", nil, nil)
	descCheckpointTime = prometheus.NewDesc(metricCheckpointTime, "Time spent writing checkpoints of the state.", nil, nil)
	descLag            = prometheus.NewDesc(metricLag, "Lag of a partition the node reads: for the order stream, the consumer group's end offset minus committed offset; for the global tables, the end offset minus the node's next offset fully processed (mirror rows and refreshed facts acknowledged).", []string{"topic", "partition"}, nil)
	descLagTotal       = prometheus.NewDesc(metricLagTotal, "drivetrain_consumer_lag summed over every partition the node reads, global tables included.", nil, nil)
	descSinkBacklog    = prometheus.NewDesc(metricSinkBacklog, "Rows buffered in or in flight to the ClickHouse sinks.", nil, nil)
	descReady          = prometheus.NewDesc(metricReady, "1 when /readyz answers ready (bootstrapped, ClickHouse reachable, lag below ready_max_lag), else 0.", nil, nil)
	descStateBytes     = prometheus.NewDesc(metricStateBytes, "Size on disk of the node's state directory (walked at most every 10 s).", nil, nil)

	descPebbleDiskBytes        = prometheus.NewDesc(metricPebbleDiskBytes, "Disk space the Pebble state store uses: tables (live and awaiting deletion), write-ahead log, manifest.", nil, nil)
	descPebbleTables           = prometheus.NewDesc(metricPebbleTables, "Live sstables of the state store, by LSM level (level 0 is L0's file count).", []string{"level"}, nil)
	descPebbleTableBytes       = prometheus.NewDesc(metricPebbleTableBytes, "Size of the live sstables of the state store, by LSM level.", []string{"level"}, nil)
	descPebbleL0Sublevels      = prometheus.NewDesc(metricPebbleL0Sublevels, "Sublevels of the state store's L0 (Pebble throttles writes as they pile up).", nil, nil)
	descPebbleReadAmp          = prometheus.NewDesc(metricPebbleReadAmp, "Read amplification of the state store: L0 sublevels plus non-empty lower levels.", nil, nil)
	descPebbleWriteAmp         = prometheus.NewDesc(metricPebbleWriteAmp, "Write amplification of the state store since it opened: bytes written to the log, flushes and compactions over bytes written to the log.", nil, nil)
	descPebbleCompactions      = prometheus.NewDesc(metricPebbleCompactions, "Compactions of the state store finished since it opened, by kind (flushes are counted apart).", []string{"kind"}, nil)
	descPebbleCompactionsNow   = prometheus.NewDesc(metricPebbleCompactionsNow, "Compactions of the state store running now.", nil, nil)
	descPebbleCompactionDebt   = prometheus.NewDesc(metricPebbleCompactionDebt, "Estimated bytes the state store must compact to reach a stable LSM shape.", nil, nil)
	descPebbleCompactedBytes   = prometheus.NewDesc(metricPebbleCompactedBytes, "Bytes compactions of the state store wrote since it opened.", nil, nil)
	descPebbleFlushes          = prometheus.NewDesc(metricPebbleFlushes, "Memtable flushes of the state store since it opened.", nil, nil)
	descPebbleFlushedBytes     = prometheus.NewDesc(metricPebbleFlushedBytes, "Bytes memtable flushes of the state store wrote since it opened.", nil, nil)
	descPebbleWALBytesIn       = prometheus.NewDesc(metricPebbleWALBytesIn, "Logical bytes written to the state store's write-ahead log since it opened.", nil, nil)
	descPebbleWALBytesWritten  = prometheus.NewDesc(metricPebbleWALBytesWritten, "Physical bytes written to the state store's write-ahead log since it opened.", nil, nil)
	descPebbleMemtableBytes    = prometheus.NewDesc(metricPebbleMemtableBytes, "Memory the state store's memtables hold (the mutable one and those waiting to be flushed).", nil, nil)
	descPebbleMemtables        = prometheus.NewDesc(metricPebbleMemtables, "Memtables of the state store (the mutable one and those waiting to be flushed).", nil, nil)
	descPebbleBlockCacheBytes  = prometheus.NewDesc(metricPebbleBlockCacheBytes, "Memory the state store's block cache holds.", nil, nil)
	descPebbleBlockCacheHits   = prometheus.NewDesc(metricPebbleBlockCacheHits, "Block cache lookups of the state store that found the block, since it opened.", nil, nil)
	descPebbleBlockCacheMisses = prometheus.NewDesc(metricPebbleBlockCacheMisses, "Block cache lookups of the state store that missed, since it opened.", nil, nil)
)

// pebbleDescs are the descriptions of the drivetrain_pebble_* metrics.
var pebbleDescs = []*prometheus.Desc{
	descPebbleDiskBytes, descPebbleTables, descPebbleTableBytes, descPebbleL0Sublevels, descPebbleReadAmp,
	descPebbleWriteAmp, descPebbleCompactions, descPebbleCompactionsNow, descPebbleCompactionDebt,
	descPebbleCompactedBytes, descPebbleFlushes, descPebbleFlushedBytes, descPebbleWALBytesIn,
	descPebbleWALBytesWritten, descPebbleMemtableBytes, descPebbleMemtables, descPebbleBlockCacheBytes,
	descPebbleBlockCacheHits, descPebbleBlockCacheMisses,
}

// nodeCollector reads the node's counters at scrape time, so the actors
// need no Prometheus instrumentation.
type nodeCollector struct {
	snapshot func() Snapshot
	dir      dirSizer
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEventsConsumed, descDeadLetters, descRowsEmitted, descRowsWritten, descBootSkipped, descCheckpoints, descCheckpointTime, descLag, descLagTotal, descSinkBacklog, descReady, descStateBytes} {
		ch <- d
	}
	for _, d := range pebbleDescs {
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
	ch <- prometheus.MustNewConstMetric(descBootSkipped, prometheus.CounterValue, float64(s.Stats.BootstrapSkipped))
	ch <- prometheus.MustNewConstMetric(descCheckpoints, prometheus.CounterValue, float64(s.Stats.Checkpoints))
	ch <- prometheus.MustNewConstMetric(descCheckpointTime, prometheus.CounterValue, s.Stats.CheckpointTime.Seconds())
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
	if s.StateOpen {
		collectPebble(ch, &s.State)
	}
}

// collectPebble sends the drivetrain_pebble_* metrics of m.
func collectPebble(ch chan<- prometheus.Metric, m *state.Metrics) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descPebbleDiskBytes, float64(m.DiskBytes))
	for i, l := range m.Levels {
		gauge(descPebbleTables, float64(l.Tables), strconv.Itoa(i))
		gauge(descPebbleTableBytes, float64(l.Bytes), strconv.Itoa(i))
	}
	gauge(descPebbleL0Sublevels, float64(m.Levels[0].Sublevels))
	gauge(descPebbleReadAmp, float64(m.ReadAmplification))
	gauge(descPebbleWriteAmp, m.WriteAmplification)
	for kind, n := range m.CompactionsByKind {
		counter(descPebbleCompactions, float64(n), kind)
	}
	gauge(descPebbleCompactionsNow, float64(m.CompactionsInProgress))
	gauge(descPebbleCompactionDebt, float64(m.CompactionDebtBytes))
	counter(descPebbleCompactedBytes, float64(m.CompactedBytesTotal))
	counter(descPebbleFlushes, float64(m.FlushesTotal))
	counter(descPebbleFlushedBytes, float64(m.FlushedBytesTotal))
	counter(descPebbleWALBytesIn, float64(m.WALBytesInTotal))
	counter(descPebbleWALBytesWritten, float64(m.WALBytesWrittenTotal))
	gauge(descPebbleMemtableBytes, float64(m.MemTableBytes))
	gauge(descPebbleMemtables, float64(m.MemTables))
	gauge(descPebbleBlockCacheBytes, float64(m.BlockCacheBytes))
	counter(descPebbleBlockCacheHits, float64(m.BlockCacheHitsTotal))
	counter(descPebbleBlockCacheMisses, float64(m.BlockCacheMissesTotal))
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
