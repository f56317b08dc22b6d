package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryCommandReadsTheConfiguration: every command reads --config and
// the DRIVETRAIN_* environment the same way, so a bad file or variable
// stops each of them, before any I/O, with the same one-line error.
func TestEveryCommandReadsTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	unknown := write("unknown.yaml", "kafka:\n  brokers: [k:9092]\n  brokerz: [k:9092]\n")
	removed := write("removed.yaml", "processor:\n  brokers: [k:9092]\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "unknown key", args: []string{"--config", unknown}, want: "config file " + unknown + ", line 3: unknown key kafka.brokerz"},
		{name: "removed key", args: []string{"--config", removed}, want: "config file " + removed + ", line 2: processor.brokers is no longer read; set kafka.brokers instead"},
		{name: "bad variable", env: map[string]string{"DRIVETRAIN_KAFKA_SASL_MECHANISM": "GSSAPI", "DRIVETRAIN_KAFKA_SASL_USER": "u", "DRIVETRAIN_KAFKA_SASL_PASSWORD": "p"},
			want: `kafka.sasl.mechanism: "GSSAPI" is not one of SCRAM-SHA-256, SCRAM-SHA-512, PLAIN`},
		{name: "bad duration", env: map[string]string{"DRIVETRAIN_CLICKHOUSE_BATCH_MAX_DELAY": "soon"},
			want: `environment variable DRIVETRAIN_CLICKHOUSE_BATCH_MAX_DELAY (clickhouse.batch.max_delay): want a duration such as 500ms or 2m, got "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			for _, c := range commands {
				_, stderr, code := runCLI(t, append([]string{c.name}, tt.args...)...)
				assert.NotZero(t, code, c.name)
				assert.Equal(t, "drivetrain "+c.name+": "+tt.want, firstLine(stderr), c.name)
				assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "%s: one line: %q", c.name, stderr)
			}
		})
	}
}

// TestKeyFlagsWinOverTheEnvironment: a flag that sets a key beats its
// variable, which beats the file.
func TestKeyFlagsWinOverTheEnvironment(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "drivetrain.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("processor:\n  group: from-file\n  node_id: file-node\nkafka:\n  client_id: from-file\n"), 0o600))
	t.Setenv("DRIVETRAIN_PROCESSOR_GROUP", "from-env")
	t.Setenv("DRIVETRAIN_PROCESSOR_NODE_ID", "env-node")
	out, stderr, code := runCLI(t, "run", "--config", cfg, "--node-id", "flag-node", "--print-config")
	require.Zero(t, code, stderr)
	assert.Contains(t, out, "node_id: flag-node")
	assert.Contains(t, out, "group: from-env")
	assert.Contains(t, out, "client_id: from-file")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
