package workload

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Options
		wantErr string
	}{
		{name: "zero value", in: Options{}},
		{name: "typical", in: Options{Rate: 5000, Duration: time.Minute, Changes: 1000, Seed: 3, Scale: 10, Workers: 2}},
		{name: "negative rate", in: Options{Rate: -1}, wantErr: "--rate must be ≥ 0"},
		{name: "NaN rate", in: Options{Rate: math.NaN()}, wantErr: "--rate must be a number"},
		{name: "infinite rate", in: Options{Rate: math.Inf(1)}, wantErr: "--rate must be a number"},
		{name: "absurd rate", in: Options{Rate: 1e9}, wantErr: "--rate must be ≤"},
		{name: "negative duration", in: Options{Duration: -time.Second}, wantErr: "--duration must be ≥ 0"},
		{name: "negative changes", in: Options{Changes: -5}, wantErr: "--changes must be ≥ 0"},
		{name: "negative scale", in: Options{Scale: -1}, wantErr: "--scale must be between 1 and"},
		{name: "huge scale", in: Options{Scale: maxScale + 1}, wantErr: "--scale must be between 1 and"},
		{name: "too many workers", in: Options{Workers: 1000}, wantErr: "--workers must be between 1 and"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	var o Options
	o.setDefaults()
	assert.Equal(t, Options{Scale: DefaultScale, Workers: DefaultWorkers, ProgressInterval: time.Second}, o)
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name    string
		dsn     string
		wantErr string
	}{
		{name: "nothing listens", dsn: "postgres://drivetrain:s3cr3t-pw@127.0.0.1:1/ecommerce?sslmode=disable&connect_timeout=5", wantErr: "PostgreSQL at 127.0.0.1:1 is unreachable"},
		{name: "malformed", dsn: "postgres://drivetrain:s3cr3t-pw@127.0.0.1:notaport/ecommerce", wantErr: "parsing the PostgreSQL connection string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.dsn, zerolog.Nop())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "s3cr3t-pw")
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestReportJSON(t *testing.T) {
	rep := newReport(5, 100)
	var c tally
	c[tOrders][cInsert] = 3
	c[tOrderItems][cDelete] = 2
	rep.setCounts(&c)
	rep.StartXID, rep.Changes, rep.Elapsed, rep.ElapsedSeconds = 770, 5, 2*time.Second, 2
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	for _, k := range []string{"seed", "scale", "start_xid", "elapsed_seconds", "seed_seconds", "changes", "transactions", "rate", "seeded", "counts", "operations", "mismatches", "skipped", "skipped_dependents", "retried", "interrupted"} {
		assert.Contains(t, got, k)
	}
	counts := got["counts"].(map[string]any)
	for _, tb := range Tables {
		require.Contains(t, counts, tb)
		assert.Len(t, counts[tb], 3)
	}
	assert.Equal(t, map[string]any{"insert": 3.0, "update": 0.0, "delete": 0.0}, counts["orders"])
	assert.Equal(t, 770.0, got["start_xid"])

	var text strings.Builder
	require.NoError(t, rep.WriteText(&text))
	assert.Contains(t, text.String(), "start xid 770")
	assert.Regexp(t, `(?m)^order_items\s+0\s+0\s+2\s+2$`, text.String())
	assert.Regexp(t, `(?m)^all\s+3\s+0\s+2\s+5$`, text.String())
	assert.NotContains(t, text.String(), "skipped")
	assert.NotContains(t, text.String(), "retried")
}

func TestReportSkips(t *testing.T) {
	rep := newReport(5, 100)
	rep.Skipped["22003"], rep.Skipped["23505"] = 2, 1
	rep.SkippedDependents = 4
	rep.Retried["40P01"] = 3
	assert.Equal(t, int64(7), rep.SkippedTotal())

	var text strings.Builder
	require.NoError(t, rep.WriteText(&text))
	assert.Contains(t, text.String(), "\nskipped 7 operations: 2 numeric_value_out_of_range (22003), 1 unique_violation (23505), 4 not run after a skipped operation on the same rows\n")
	assert.Contains(t, text.String(), "\nretried transactions 3 times after transient failures: 3 deadlock_detected (40P01)\n")

	b, err := json.Marshal(rep)
	require.NoError(t, err)
	var got struct {
		Skipped           map[string]int64 `json:"skipped"`
		SkippedDependents int64            `json:"skipped_dependents"`
		Retried           map[string]int64 `json:"retried"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, map[string]int64{"22003": 2, "23505": 1}, got.Skipped)
	assert.Equal(t, int64(4), got.SkippedDependents)
	assert.Equal(t, map[string]int64{"40P01": 3}, got.Retried)
}
