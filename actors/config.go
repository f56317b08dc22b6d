package actors

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/state"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Config configures a processor node. Every field documents its unit and
// default; Brokers and StateDir are required.
type Config struct {
	// Brokers are the Kafka bootstrap brokers (host:port). Required.
	// Not a key of its own: the configuration sets it from kafka.brokers.
	Brokers []string `yaml:"-"`
	// TopicPrefix is Debezium's topic.prefix: the source topics are
	// <prefix>.public.<table>. Default "ecommerce".
	TopicPrefix string `yaml:"topic_prefix"`
	// Group is the Kafka consumer group the nodes of one cluster share.
	// Default "drivetrain".
	Group string `yaml:"group"`
	// NodeID names this node in logs and in the Kafka client id. Default
	// "drivetrain".
	NodeID string `yaml:"node_id"`
	// StateDir is the directory of the node's Pebble state. Required.
	StateDir string `yaml:"state_dir"`
	// StateNoSync makes state commits return before they reach stable
	// storage (see state.Options.NoSync). Default false.
	StateNoSync bool `yaml:"state_no_sync"`
	// StateCheckpointWrite is how a checkpoint reaches the disk
	// (state.Options.CheckpointWrite): "wal", each partition's and the
	// global tables' changes as a batch through Pebble's write-ahead log;
	// "flush", Pebble without its log, every write to memory and a flush of
	// the memtables at each checkpoint (a crash then loses every write
	// since the last checkpoint, commits included; with CheckpointInterval
	// negative, what Pebble has not flushed on its own since the start);
	// "ingest", each as an sstable Pebble ingests, the log kept for
	// commits. Default "wal".
	StateCheckpointWrite state.CheckpointWrite `yaml:"state_checkpoint_write"`
	// StateDimensionCacheBytes and StateOrderCacheBytes size the state
	// held in memory (state.Options.DimensionCacheBytes and
	// OrderCacheBytes; 0 keeps state's defaults, 512 MiB for the node and
	// 32 MiB per partition; negative disables).
	StateDimensionCacheBytes int64 `yaml:"state_dimension_cache_bytes"`
	StateOrderCacheBytes     int64 `yaml:"state_order_cache_bytes"`
	// DLQTopic receives records that cannot be decoded or applied.
	// Default "<TopicPrefix>.drivetrain.dlq"; created (one partition,
	// the brokers' default replication) when missing.
	DLQTopic string `yaml:"dlq_topic"`
	// MaxInflightRows bounds, per order-stream partition, the output
	// rows handed to the sinks and not yet
	// acknowledged: above it the partition's fetching pauses, and resumes
	// below half of it. Default 50,000.
	MaxInflightRows int `yaml:"max_inflight_rows"`
	// MaxInflightBytes bounds the same rows by their encoded size (as the
	// sinks measure them for their batches): a table of wide rows, such
	// as vehicles with large features documents, pauses on bytes before
	// it reaches MaxInflightRows. Default 64 MiB.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// MaxPollRecords bounds the records one poll hands to the actors.
	// Default 2,000.
	MaxPollRecords int `yaml:"max_poll_records"`
	// BootstrapChunkBytes is about how many bytes of records a global
	// table read from nothing fetches per round of its bootstrap, which
	// reads newest first (see backward.go). Default 32 MiB; negative:
	// the bootstrap reads oldest first and decodes every record.
	BootstrapChunkBytes int64 `yaml:"bootstrap_chunk_bytes"`
	// EmitEveryRecord turns off the quiet start: a partition the group
	// never committed, or far behind its committed offsets, then emits
	// the rows of every record, instead of applying the records up to the
	// end offsets seen at its assignment without emitting and then
	// sending the state of each order they touched once (see the package
	// doc, "Quiet start").
	EmitEveryRecord bool `yaml:"emit_every_record"`
	// quietMaxOrders, when positive, replaces the bound of a quiet
	// start's orders (tests).
	quietMaxOrders int
	// quietMinBacklog, when positive, replaces the backlog above which a
	// partition with commits starts quietly (tests).
	quietMinBacklog int64
	// CheckpointInterval is how often the node writes a checkpoint: the
	// state its actors changed in memory since the last one, with the
	// offsets it reflects, written to Pebble in one batch per partition
	// and one for the global tables (state.Store.Flush). Between
	// checkpoints the actors apply records to memory only
	// (state.Batch.Stage) and their rows leave at once; after a crash the
	// node reads the records after the last checkpoint again, without
	// emitting up to the group's committed offsets (see the package doc,
	// "Checkpoints"). Default 5s; negative: no checkpoints, every batch is
	// committed to Pebble before its rows leave.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// CheckpointBytes bounds, per partition, the encoded state changed
	// since the last checkpoint: above it the partition writes its
	// checkpoint at once. Default 8 MiB.
	CheckpointBytes int64 `yaml:"checkpoint_bytes"`
	// CommitInterval is how often acknowledged offsets are committed to
	// the consumer group. Default 1s.
	CommitInterval time.Duration `yaml:"commit_interval"`
	// DrainTimeout bounds how long a revoked partition (or a node
	// shutting down) waits for the sinks to acknowledge its rows before
	// it commits what was acknowledged and lets go. Default 30s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout are the
	// consumer group's (kgo defaults: 45s, 3s, 60s). RebalanceTimeout
	// must exceed DrainTimeout.
	SessionTimeout    time.Duration `yaml:"session_timeout"`
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	RebalanceTimeout  time.Duration `yaml:"rebalance_timeout"`
	// DynamicMembership turns static group membership off. By default a
	// node joins the group with NodeID as its group.instance.id: a node
	// restarted after a crash (kill -9) gets its partitions back as soon
	// as it rejoins, instead of after SessionTimeout, when the group
	// would notice its old member is gone. NodeID must then be unique
	// among the live nodes (a second node with the same id fences the
	// first, which stops naming the cause) and stable across restarts. A
	// node that stops gracefully leaves the group explicitly, so its
	// partitions move at once.
	DynamicMembership bool `yaml:"dynamic_membership"`
	// TopicWait is how long a starting node waits for missing source
	// topics, checking every 2s: Debezium creates each topic with the
	// first change of its table, so a node started right after the
	// connector on an empty database finds none. Default 0: wait until
	// they appear (the node is not ready meanwhile); negative: fail at
	// once.
	TopicWait time.Duration `yaml:"topic_wait"`
	// MaxRecordBytes bounds a record's key plus value; larger records go
	// to the dead-letter topic. Default 4 MiB (the decoder's).
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// SinkBatch sizes the sink actors' batches; zero fields take sinks'
	// defaults. Not a key of its own: the configuration sets it from
	// clickhouse.batch.
	SinkBatch sinks.BatchConfig `yaml:"-"`
	// SinkRetryMin and SinkRetryMax bound the backoff between attempts of
	// a batch whose write failed with a retryable error. Defaults 200ms
	// and 10s.
	SinkRetryMin time.Duration `yaml:"sink_retry_min"`
	SinkRetryMax time.Duration `yaml:"sink_retry_max"`
}

// Defaults of Config.
const (
	DefaultTopicPrefix     = "ecommerce"
	DefaultGroup           = "drivetrain"
	DefaultNodeID          = "drivetrain"
	DefaultMaxInflightRows = 50_000
	// DefaultMaxInflightBytes is Config.MaxInflightBytes's default.
	DefaultMaxInflightBytes = 64 << 20
	DefaultMaxPollRecords   = 2_000
	DefaultCommitInterval   = time.Second
	// DefaultCheckpointInterval and DefaultCheckpointBytes are
	// Config.CheckpointInterval's and CheckpointBytes's defaults.
	DefaultCheckpointInterval = 5 * time.Second
	DefaultCheckpointBytes    = 8 << 20
	DefaultDrainTimeout       = 30 * time.Second
	DefaultSinkRetryMin       = 200 * time.Millisecond
	DefaultSinkRetryMax       = 10 * time.Second
)

// DLQTopicFor returns the default dead-letter topic for a topic prefix.
func DLQTopicFor(prefix string) string { return prefix + ".drivetrain.dlq" }

// WithDefaults returns c with every unset field at its default (what
// NewNode uses), for showing the effective configuration.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.NodeID == "" {
		c.NodeID = DefaultNodeID
	}
	if c.DLQTopic == "" {
		c.DLQTopic = DLQTopicFor(c.TopicPrefix)
	}
	if c.MaxInflightRows == 0 {
		c.MaxInflightRows = DefaultMaxInflightRows
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = DefaultMaxPollRecords
	}
	if c.BootstrapChunkBytes == 0 {
		c.BootstrapChunkBytes = backwardChunk
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.StateCheckpointWrite == "" {
		c.StateCheckpointWrite = state.CheckpointWAL
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.CheckpointBytes == 0 {
		c.CheckpointBytes = DefaultCheckpointBytes
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.SinkRetryMin == 0 {
		c.SinkRetryMin = DefaultSinkRetryMin
	}
	if c.SinkRetryMax == 0 {
		c.SinkRetryMax = DefaultSinkRetryMax
	}
}

// ErrInvalidConfig is wrapped by the errors of Config.Validate.
var ErrInvalidConfig = errors.New("invalid processor configuration")

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

// Validate reports the first invalid field, by name. It checks c as it
// is, so call it on a Config with defaults applied to validate those
// too (NewNode does).
func (c Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return invalid("Brokers", "at least one broker is required")
	case c.StateDir == "":
		return invalid("StateDir", "a state directory is required")
	case strings.ContainsAny(c.TopicPrefix, " \t\n/"):
		return invalid("TopicPrefix", "%q is not a topic name prefix", c.TopicPrefix)
	case c.MaxInflightRows < 0:
		return invalid("MaxInflightRows", "%d is negative", c.MaxInflightRows)
	case c.MaxInflightBytes < 0:
		return invalid("MaxInflightBytes", "%d is negative", c.MaxInflightBytes)
	case c.MaxPollRecords < 0:
		return invalid("MaxPollRecords", "%d is negative", c.MaxPollRecords)
	case c.CommitInterval < 0:
		return invalid("CommitInterval", "%v is negative", c.CommitInterval)
	case !c.StateCheckpointWrite.Valid():
		return invalid("StateCheckpointWrite", "%q is not one of %s", c.StateCheckpointWrite, state.CheckpointWritesText())
	case c.CheckpointBytes < 0:
		return invalid("CheckpointBytes", "%d is negative", c.CheckpointBytes)
	case c.DrainTimeout < 0:
		return invalid("DrainTimeout", "%v is negative", c.DrainTimeout)
	case c.SessionTimeout < 0:
		return invalid("SessionTimeout", "%v is negative", c.SessionTimeout)
	case c.HeartbeatInterval < 0:
		return invalid("HeartbeatInterval", "%v is negative", c.HeartbeatInterval)
	case c.RebalanceTimeout < 0:
		return invalid("RebalanceTimeout", "%v is negative", c.RebalanceTimeout)
	case c.RebalanceTimeout > 0 && c.RebalanceTimeout <= c.DrainTimeout:
		return invalid("RebalanceTimeout", "%v must exceed DrainTimeout (%v)", c.RebalanceTimeout, c.DrainTimeout)
	case c.SinkRetryMin < 0:
		return invalid("SinkRetryMin", "%v is negative", c.SinkRetryMin)
	case c.SinkRetryMax < c.SinkRetryMin:
		return invalid("SinkRetryMax", "%v is below SinkRetryMin (%v)", c.SinkRetryMax, c.SinkRetryMin)
	case c.SinkBatch.MaxRows < 0:
		return invalid("SinkBatch.MaxRows", "%d is negative", c.SinkBatch.MaxRows)
	case c.SinkBatch.MaxBytes < 0:
		return invalid("SinkBatch.MaxBytes", "%d is negative", c.SinkBatch.MaxBytes)
	case c.SinkBatch.MaxDelay < 0:
		return invalid("SinkBatch.MaxDelay", "%v is negative", c.SinkBatch.MaxDelay)
	case c.SinkBatch.CatchUpDelay < 0:
		return invalid("SinkBatch.CatchUpDelay", "%v is negative", c.SinkBatch.CatchUpDelay)
	}
	for i, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			return invalid(fmt.Sprintf("Brokers[%d]", i), "empty broker address")
		}
	}
	return nil
}

// topics names the source topics of one prefix.
type topics struct {
	prefix string
	byTab  [6]string // by topology.Table
}

func newTopics(prefix string) topics {
	t := topics{prefix: prefix}
	for _, tab := range topology.Tables {
		t.byTab[tab] = prefix + ".public." + tab.String()
	}
	return t
}

func (t *topics) of(tab topology.Table) string { return t.byTab[tab] }

// orderStream lists the co-partitioned topics, in the order partition
// actors index them (orders, order_items, payments).
func (t *topics) orderStream() [3]string {
	return [3]string{t.byTab[topology.TableOrders], t.byTab[topology.TableOrderItems], t.byTab[topology.TablePayments]}
}

// index returns the order-stream index of topic, or -1.
func (t *topics) index(topic string) int {
	switch topic {
	case t.byTab[topology.TableOrders]:
		return 0
	case t.byTab[topology.TableOrderItems]:
		return 1
	case t.byTab[topology.TablePayments]:
		return 2
	}
	return -1
}
