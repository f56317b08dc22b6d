package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "drivetrain.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func environ(kv ...string) func() []string {
	return func() []string { return kv }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(Sources{Environ: environ()})
	require.NoError(t, err)
	assert.Equal(t, []string{DefaultKafkaBrokers}, c.Kafka.Brokers)
	assert.Equal(t, []string{DefaultKafkaBrokers}, c.Processor.Brokers, "the node's brokers are kafka.brokers")
	assert.Equal(t, DefaultClickHouse, c.ClickHouse.Addr)
	assert.Equal(t, DefaultPostgresDSN, c.Postgres.DSN)
	assert.Equal(t, DefaultConnectURL, c.Connect.URL)
	assert.Equal(t, "ecommerce", c.Processor.TopicPrefix)
	assert.Equal(t, "drivetrain", c.Processor.Group)
	assert.Equal(t, DefaultHTTPAddr, c.HTTPAddr)
	assert.Equal(t, time.Minute, c.ShutdownTimeout)
}

func TestLoadLayers(t *testing.T) {
	path := writeFile(t, `
http_addr: 0.0.0.0:18090
kafka:
  brokers: [file:9092]
  client_id: from-file
clickhouse:
  addr: http://file:8123
  batch:
    max_rows: 20
    max_delay: 300ms
processor:
  group: file-group
  max_inflight_rows: 7
ready_max_lag:
`)
	c, err := Load(Sources{
		File: path,
		Environ: environ(
			"DRIVETRAIN_KAFKA_BROKERS=env1:9092, env2:9092",
			"DRIVETRAIN_CLICKHOUSE_BATCH_MAX_ROWS=30",
			"DRIVETRAIN_PROCESSOR_GROUP=env-group",
			"DRIVETRAIN_TOPIC_PREFIX=shop",
			"DRIVETRAIN_LOG_LEVEL=debug",    // not a key: left alone
			"DRIVETRAIN_PROCESSOR_NODE_ID=", // empty: unset
			"PATH=/bin",
		),
		Flags: []Flag{{Name: "group", Key: "processor.group", Value: "flag-group"}},
	})
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:18090", c.HTTPAddr, "the file beats the default")
	assert.Equal(t, []string{"env1:9092", "env2:9092"}, c.Kafka.Brokers, "the environment beats the file")
	assert.Equal(t, c.Kafka.Brokers, c.Processor.Brokers)
	assert.Equal(t, "from-file", c.Kafka.ClientID)
	assert.Equal(t, "http://file:8123", c.ClickHouse.Addr)
	assert.Equal(t, 30, c.ClickHouse.Batch.MaxRows)
	assert.Equal(t, 300*time.Millisecond, c.ClickHouse.Batch.MaxDelay)
	assert.Equal(t, c.ClickHouse.Batch, c.Processor.SinkBatch, "the sink actors batch as clickhouse.batch says")
	assert.Equal(t, "flag-group", c.Processor.Group, "a flag beats the environment")
	assert.Equal(t, "shop", c.Processor.TopicPrefix, "the short name of processor.topic_prefix")
	assert.Equal(t, 7, c.Processor.MaxInflightRows)
	assert.Equal(t, int64(100_000), c.ReadyMaxLag, "an empty key in the file leaves the default")
	assert.NotEmpty(t, c.Processor.NodeID, "an empty variable leaves the default")
}

func TestLoadShortEnvNames(t *testing.T) {
	c, err := Load(Sources{Environ: environ("DRIVETRAIN_CLICKHOUSE_URL=http://short:8123")})
	require.NoError(t, err)
	assert.Equal(t, "http://short:8123", c.ClickHouse.Addr)

	c, err = Load(Sources{Environ: environ("DRIVETRAIN_CLICKHOUSE_URL=http://same:8123", "DRIVETRAIN_CLICKHOUSE_ADDR=http://same:8123")})
	require.NoError(t, err, "both names with one value agree")
	assert.Equal(t, "http://same:8123", c.ClickHouse.Addr)
}

func TestLoadErrorsNameTheSource(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		flags []Flag
		// want are substrings of the one-line error.
		want []string
	}{
		{name: "unknown key in the file", file: "kafka:\n  brokerz: [a:9092]\n",
			want: []string{"line 2", "unknown key kafka.brokerz"}},
		{name: "unknown top-level key", file: "http_addr: x:1\nnot_a_key: 1\n",
			want: []string{"line 2", "unknown key not_a_key"}},
		{name: "a section given a value", file: "kafka: a:9092\n",
			want: []string{"line 1", "kafka is a section, not a value"}},
		{name: "processor.brokers is removed", file: "processor:\n  state_dir: /s\n  brokers: [a:9092]\n",
			want: []string{"line 3", "processor.brokers is no longer read; set kafka.brokers instead"}},
		{name: "processor.sink_batch is removed", file: "processor:\n  sink_batch:\n    max_rows: 5\n",
			want: []string{"processor.sink_batch is no longer read; set clickhouse.batch instead"}},
		{name: "a removed key in the environment", env: []string{"DRIVETRAIN_PROCESSOR_BROKERS=a:9092"},
			want: []string{"environment variable DRIVETRAIN_PROCESSOR_BROKERS", "set kafka.brokers (DRIVETRAIN_KAFKA_BROKERS)"}},
		{name: "bad type in the file", file: "clickhouse:\n  batch:\n    max_rows: many\n",
			want: []string{"line 3", "clickhouse.batch.max_rows", `want an integer, got "many"`}},
		{name: "a duration without a unit", file: "shutdown_timeout: 30\n",
			want: []string{"line 1", "shutdown_timeout", "want a duration with a unit"}},
		{name: "bad duration in the environment", env: []string{"DRIVETRAIN_CLICKHOUSE_BATCH_MAX_DELAY=soon"},
			want: []string{"environment variable DRIVETRAIN_CLICKHOUSE_BATCH_MAX_DELAY (clickhouse.batch.max_delay): want a duration"}},
		{name: "bad bool in the environment", env: []string{"DRIVETRAIN_KAFKA_TLS_ENABLED=perhaps"},
			want: []string{"DRIVETRAIN_KAFKA_TLS_ENABLED (kafka.tls.enabled): want true or false"}},
		{name: "bad flag value", flags: []Flag{{Name: "max-rows", Key: "clickhouse.batch.max_rows", Value: "1e3"}},
			want: []string{"--max-rows (clickhouse.batch.max_rows): want an integer"}},
		{name: "short and long names disagree", env: []string{"DRIVETRAIN_CLICKHOUSE_URL=http://a:8123", "DRIVETRAIN_CLICKHOUSE_ADDR=http://b:8123"},
			want: []string{"DRIVETRAIN_CLICKHOUSE_ADDR", "DRIVETRAIN_CLICKHOUSE_URL", "both set clickhouse.addr"}},
		{name: "sasl without a user", env: []string{"DRIVETRAIN_KAFKA_SASL_MECHANISM=SCRAM-SHA-512"},
			want: []string{"kafka.sasl.user is required with mechanism SCRAM-SHA-512"}},
		{name: "unknown sasl mechanism", file: "kafka:\n  sasl: {mechanism: GSSAPI, user: u, password: p}\n",
			want: []string{`kafka.sasl.mechanism: "GSSAPI" is not one of SCRAM-SHA-256, SCRAM-SHA-512, PLAIN`}},
		{name: "bad clickhouse url", env: []string{"DRIVETRAIN_CLICKHOUSE_URL=ftp://x"},
			want: []string{"clickhouse.addr: "}},
		{name: "hostile clickhouse database", flags: []Flag{{Name: "database", Key: "clickhouse.database", Value: "x; DROP DATABASE y"}},
			want: []string{"--database (clickhouse.database): ", "not a plain identifier"}},
		{name: "clickhouse batch", file: "clickhouse:\n  batch: {catch_up_delay: -1s}\n",
			want: []string{"clickhouse.batch.catch_up_delay: "}},
		{name: "unknown checkpoint write", env: []string{"DRIVETRAIN_PROCESSOR_STATE_CHECKPOINT_WRITE=fsync"},
			want: []string{`processor.state_checkpoint_write: "fsync" is not one of wal, flush, ingest`}},
		{name: "yaml syntax", file: "kafka:\n  brokers: [a\n",
			want: []string{"config file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{Environ: environ(tt.env...), Flags: tt.flags}
			if tt.file != "" {
				src.File = writeFile(t, tt.file)
			}
			_, err := Load(src)
			require.Error(t, err)
			msg := err.Error()
			assert.NotContains(t, msg, "\n", "one line")
			if tt.file != "" && strings.Contains(tt.want[0], "line") {
				assert.Contains(t, msg, src.File, "the error names the file")
			}
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(Sources{File: filepath.Join(t.TempDir(), "none.yaml"), Environ: environ()})
	require.ErrorContains(t, err, "--config")
}

func TestEnvNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, k := range Keys() {
		name := EnvName(k)
		if other, dup := seen[name]; dup {
			t.Errorf("%s and %s share the environment variable %s", k, other, name)
		}
		seen[name] = k
	}
	for short, key := range shortEnv {
		_, clash := seen[short]
		assert.False(t, clash, "%s is another key's long name", short)
		assert.Contains(t, Keys(), key)
	}
	for old := range removedKeys {
		for _, k := range Keys() {
			assert.False(t, k == old || strings.HasPrefix(k, old+"."), "removed key %s is still a key (%s)", old, k)
		}
	}
}

func TestMaskedYAML(t *testing.T) {
	c := Default()
	c.ClickHouse.Addr = "https://app:s3cret@ch:8443"
	c.ClickHouse.Password = "hunter2"
	c.Kafka.SASL.Password = "scram-secret"
	out, err := c.Effective().MaskedYAML()
	require.NoError(t, err)
	s := string(out)
	for _, secret := range []string{"s3cret", "hunter2", "scram-secret"} {
		assert.NotContains(t, s, secret)
	}
	assert.Contains(t, s, "password: '****'")
	assert.Contains(t, s, "https://app:xxxxx@ch:8443")
	assert.NotContains(t, s, "sink_batch", "one place for the batch settings")
	assert.NotContains(t, s, "processor:\n    brokers", "one place for the brokers")

	// What --print-config prints loads back as the same configuration.
	c = Default()
	c.Postgres.DSN = "host=db user=app" // no password to mask
	out, err = c.Effective().MaskedYAML()
	require.NoError(t, err)
	back, err := Load(Sources{File: writeFile(t, string(out)), Environ: environ()})
	require.NoError(t, err)
	assert.Equal(t, c.Effective(), back.Effective())
}

// TestDocsListEveryKey keeps docs/configuration.md complete: every key is
// there, in backquotes.
func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	var missing []string
	for _, k := range Keys() {
		if !strings.Contains(string(doc), "`"+k+"`") {
			missing = append(missing, k)
		}
	}
	for short := range shortEnv {
		if !strings.Contains(string(doc), "`"+short+"`") {
			missing = append(missing, short)
		}
	}
	assert.Empty(t, missing, "keys docs/configuration.md does not document")
}
