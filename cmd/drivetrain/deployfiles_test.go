package main

// Checks of the deployment files (deploy/) against the binary's own types:
// the Kubernetes ConfigMap's drivetrain.yaml loads as a configuration, the
// compose nodes' environment is read by the binary, and the Grafana
// dashboard queries only metrics /metrics exposes. deploy/validate_test.go
// checks their structure.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/drivetrain-cdc/drivetrain/tool/config"
	"github.com/drivetrain-cdc/drivetrain/tool/observe"
)

func TestDeployConfigMapLoads(t *testing.T) {
	data, err := os.ReadFile("../../deploy/k8s/configmap.yaml")
	require.NoError(t, err)
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cm))
	shipped := cm.Data["drivetrain.yaml"]
	require.NotEmpty(t, shipped)

	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "as shipped", in: shipped},
		{name: "an unknown key fails", in: shipped + "not_a_key: 1\n", wantErr: "not_a_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "drivetrain.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.in), 0o644))
			cfg, err := config.Load(config.Sources{File: path, Environ: func() []string { return nil }})
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{"kafka:9092"}, cfg.Kafka.Brokers)
			assert.Equal(t, "0.0.0.0:18090", cfg.HTTPAddr)
			assert.Equal(t, "clickhouse://clickhouse:9000", cfg.ClickHouse.Addr)
			assert.Equal(t, "/var/lib/drivetrain", cfg.Processor.StateDir)
			assert.Positive(t, cfg.ShutdownTimeout)
		})
	}
}

// runEnvNames returns every DRIVETRAIN_* variable of a configuration key.
func runEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, k := range config.Keys() {
		for _, n := range config.EnvNames(k) {
			names[n] = true
		}
	}
	return names
}

func TestComposeNodeEnvironment(t *testing.T) {
	data, err := os.ReadFile("../../deploy/compose/docker-compose.yml")
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(data, &compose))
	env := compose.Services["drivetrain-1"].Environment
	require.NotEmpty(t, env)

	// Every variable is read by some command: run's config, or the
	// endpoint flags and logger of the others.
	known := runEnvNames(t)
	for _, other := range []string{"DRIVETRAIN_POSTGRES_DSN", "DRIVETRAIN_CONNECT_URL", "DRIVETRAIN_LOG_LEVEL"} {
		known[other] = true
	}
	for name := range env {
		assert.True(t, known[name], "%s is read by drivetrain", name)
	}

	var environ []string
	for name, v := range env {
		environ = append(environ, name+"="+v)
	}
	cfg, err := config.Load(config.Sources{Environ: func() []string { return environ }})
	require.NoError(t, err)
	assert.Equal(t, "drivetrain-1", cfg.Processor.NodeID)
	assert.Equal(t, []string{"kafka:9092"}, cfg.Kafka.Brokers)
	assert.Equal(t, "clickhouse://clickhouse:9000", cfg.ClickHouse.Addr)
	assert.Equal(t, "0.0.0.0:18090", cfg.HTTPAddr)
}

// TestDashboardQueriesExposedMetrics checks that every drivetrain metric
// the Grafana dashboard queries is one /metrics exposes (observe.MetricNames;
// histograms through their _bucket, _sum and _count series).
func TestDashboardQueriesExposedMetrics(t *testing.T) {
	data, err := os.ReadFile("../../deploy/grafana/dashboards/drivetrain.json")
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &d))
	require.NotEmpty(t, d.Panels)
	name := regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*\b`)
	used := map[string]bool{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			var metrics []string
			for _, tok := range name.FindAllString(tg.Expr, -1) {
				if strings.HasPrefix(tok, "drivetrain_") {
					metrics = append(metrics, tok)
				}
			}
			assert.NotEmpty(t, metrics, "panel %q: %s queries a drivetrain metric", p.Title, tg.Expr)
			for _, m := range metrics {
				family := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(m, suffix); ok && observe.MetricHistograms[base] {
						family = base
					}
				}
				assert.True(t, slices.Contains(observe.MetricNames, family), "panel %q queries %s, which /metrics does not expose", p.Title, m)
				used[family] = true
			}
		}
	}
	for _, want := range []string{"drivetrain_events_consumed_total", "drivetrain_rows_written_total", "drivetrain_consumer_lag_total",
		"drivetrain_freshness_seconds", "drivetrain_dead_letters_total", "drivetrain_insert_duration_seconds"} {
		assert.True(t, used[want], "the dashboard shows %s", want)
	}
}
