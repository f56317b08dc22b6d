package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runBenchCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(context.Background(), append([]string{"bench"}, args...), &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: zerolog.Nop()})
	return code, out.String(), errb.String()
}

// TestBenchQuickDecode runs the command end to end on a tiny in-process
// suite, then compares its results with themselves: the wiring works (no
// timing is checked).
func TestBenchQuickDecode(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runBenchCmd(t, "--quick", "--suites", "decode", "--runs", "1", "--process-events", "2000", "--out", dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "| decode | throughput | drivetrain |")
	assert.Contains(t, errOut, "== decode")
	res := filepath.Join(dir, "results.json")
	code, out, errOut = runBenchCmd(t, "compare", res, res)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "decode/drivetrain/throughput")
}

func TestBenchFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown suite", []string{"--suites", "nope"}, `unknown suite "nope"`},
		{"runs", []string{"--runs", "0"}, "--runs must be at least 1"},
		{"rates", []string{"--rates", "fast"}, `--rates: "fast" is not a number`},
		{"compare arity", []string{"compare", "a.json"}, "compare takes two results.json files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runBenchCmd(t, append(tc.args, "--out", t.TempDir())...)
			assert.NotEqual(t, 0, code)
			assert.Contains(t, errOut, tc.want)
		})
	}
}
