package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type testInner struct {
	MaxRows  int           `yaml:"max_rows"`
	MaxDelay time.Duration `yaml:"max_delay"`
}

type testConfig struct {
	Kafka struct {
		Brokers []string `yaml:"brokers"`
		Group   string   `yaml:"group"`
	} `yaml:"kafka"`
	ClickHouse struct {
		Addr     string    `yaml:"addr"`
		Password string    `yaml:"password"`
		Batch    testInner `yaml:"batch"`
		Compress bool      `yaml:"compress"`
	} `yaml:"clickhouse"`
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "drivetrain.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestConfigLayers(t *testing.T) {
	var c testConfig
	c.Kafka.Group = "default-group"
	c.ClickHouse.Batch.MaxRows = 10
	path := writeFile(t, "kafka:\n  brokers: [a:9092]\nclickhouse:\n  batch:\n    max_rows: 20\n    max_delay: 300ms\n")
	require.NoError(t, loadYAML(path, &c))
	t.Setenv("DRIVETRAIN_KAFKA_BROKERS", "b:9092, c:9092")
	t.Setenv("DRIVETRAIN_CLICKHOUSE_BATCH_MAX_ROWS", "30")
	t.Setenv("DRIVETRAIN_CLICKHOUSE_URL", "http://u:pw@ch:8123")
	require.NoError(t, envOverrides(&c, map[string]string{"DRIVETRAIN_CLICKHOUSE_URL": "clickhouse.addr"}))

	assert.Equal(t, []string{"b:9092", "c:9092"}, c.Kafka.Brokers, "env beats the file")
	assert.Equal(t, "default-group", c.Kafka.Group, "defaults stay when nothing overrides them")
	assert.Equal(t, 30, c.ClickHouse.Batch.MaxRows)
	assert.Equal(t, 300*time.Millisecond, c.ClickHouse.Batch.MaxDelay, "the file beats the default")
	assert.Equal(t, "http://u:pw@ch:8123", c.ClickHouse.Addr, "aliases apply")
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, env, envValue, want string
	}{
		{name: "unknown key", yaml: "kafka:\n  brokerz: [a]\n", want: "line 2: field brokerz not found"},
		{name: "bad type in file", yaml: "clickhouse:\n  batch:\n    max_rows: many\n", want: "line 3"},
		{name: "bad env duration", env: "DRIVETRAIN_CLICKHOUSE_BATCH_MAX_DELAY", envValue: "soon", want: "DRIVETRAIN_CLICKHOUSE_BATCH_MAX_DELAY (clickhouse.batch.max_delay): want a duration"},
		{name: "bad env bool", env: "DRIVETRAIN_CLICKHOUSE_COMPRESS", envValue: "perhaps", want: "DRIVETRAIN_CLICKHOUSE_COMPRESS (clickhouse.compress): want true or false"},
		{name: "bad env int", env: "DRIVETRAIN_CLICKHOUSE_BATCH_MAX_ROWS", envValue: "1e3", want: "want an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c testConfig
			var err error
			if tt.yaml != "" {
				path := writeFile(t, tt.yaml)
				err = loadYAML(path, &c)
				if err != nil {
					assert.Contains(t, err.Error(), path, "the error names the file")
				}
			} else {
				t.Setenv(tt.env, tt.envValue)
				err = envOverrides(&c, nil)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestMaskedYAML(t *testing.T) {
	var c testConfig
	c.ClickHouse.Addr = "https://app:s3cret@ch:8443"
	c.ClickHouse.Password = "hunter2"
	out, err := maskedYAML(&c)
	require.NoError(t, err)
	assert.NotContains(t, string(out), "s3cret")
	assert.NotContains(t, string(out), "hunter2")
	assert.Contains(t, string(out), "password: '****'")
	assert.Contains(t, string(out), "https://app:xxxxx@ch:8443")
}
