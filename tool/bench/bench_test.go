package bench

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickLocalSuites runs the in-process suites on a small workload and
// checks that they produce well-formed results (no timing assertions).
func TestQuickLocalSuites(t *testing.T) {
	out := t.TempDir()
	var progress bytes.Buffer
	res, err := Run(context.Background(), Options{
		Suites: []string{"decode", "process"}, Quick: true, Runs: 2, ProcessEvents: 3_000,
		Out: out, Progress: &progress, Command: "test",
	})
	require.NoError(t, err, progress.String())
	assert.Empty(t, res.Failures)
	require.Len(t, res.Figures, 2)
	for _, f := range res.Figures {
		assert.Equal(t, "drivetrain", f.System)
		assert.Len(t, f.Runs, 2)
		assert.Positive(t, f.Median)
		assert.LessOrEqual(t, f.Min, f.Median)
		assert.GreaterOrEqual(t, f.Max, f.Median)
		assert.GreaterOrEqual(t, f.Events, int64(3_000))
	}
	back, err := ReadResults(filepath.Join(out, "results.json"))
	require.NoError(t, err)
	assert.Equal(t, res.Figures, back.Figures)
	assert.FileExists(t, filepath.Join(out, "report.md"))
	assert.FileExists(t, filepath.Join(out, "drivetrain-suites.png"))

	var cmp bytes.Buffer
	Compare(&cmp, res, back)
	assert.Contains(t, cmp.String(), "process/drivetrain/throughput")
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          []float64
		med, lo, hi float64
	}{
		{"empty", nil, 0, 0, 0},
		{"odd", []float64{3, 1, 2}, 2, 1, 3},
		{"even", []float64{4, 1, 2, 3}, 2.5, 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, lo, hi := summarize(tc.in)
			assert.Equal(t, []float64{tc.med, tc.lo, tc.hi}, []float64{m, lo, hi})
		})
	}
}

func TestValidate(t *testing.T) {
	require.ErrorIs(t, Options{Suites: []string{"nope"}}.Validate(), ErrUnknownSuite)
	require.Error(t, Options{Rates: []float64{0}}.Validate())
	require.NoError(t, Options{Suites: []string{"decode"}}.Validate())
}
