package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runGenerateCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(context.Background(), append([]string{"generate"}, args...), &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: zerolog.Nop()})
	return out.String(), errb.String(), code
}

func TestGenerateFlags(t *testing.T) {
	// Nothing listens on port 1, so a run that got past validation fails
	// to connect, which tells the cases apart without a database.
	unreachable := "postgres://drivetrain:s3cr3t-pw@127.0.0.1:1/ecommerce?sslmode=disable"
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "negative rate", args: []string{"--rate", "-5"}, wantErr: "--rate must be ≥ 0"},
		{name: "rate not a number", args: []string{"--rate", "fast"}, wantErr: "-rate"},
		{name: "negative duration", args: []string{"--duration", "-1m"}, wantErr: "--duration must be ≥ 0"},
		{name: "duration without unit", args: []string{"--duration", "10"}, wantErr: "-duration"},
		{name: "negative changes", args: []string{"--changes", "-1"}, wantErr: "--changes must be ≥ 0"},
		{name: "negative seed", args: []string{"--seed", "-1"}, wantErr: "-seed"},
		{name: "zero scale", args: []string{"--scale", "0"}, wantErr: "--scale must be at least 1"},
		{name: "huge scale", args: []string{"--scale", "999999999"}, wantErr: "--scale must be between 1 and"},
		{name: "zero workers", args: []string{"--workers", "0"}, wantErr: "--workers must be at least 1"},
		{name: "positional argument", args: []string{"now"}, wantErr: `unexpected argument "now"`},
		{name: "unknown flag", args: []string{"--speed", "3"}, wantErr: "-speed"},
		{name: "valid flags reach the database", args: []string{"--rate", "0", "--changes", "10", "--seed", "3", "--scale", "10", "--json"}, wantErr: "PostgreSQL at 127.0.0.1:1 is unreachable"},
		{name: "strict reaches the database", args: []string{"--strict", "--changes", "10"}, wantErr: "PostgreSQL at 127.0.0.1:1 is unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runGenerateCLI(t, append([]string{"--postgres", unreachable}, tt.args...)...)
			assert.Equal(t, 1, code)
			assert.Empty(t, stdout)
			require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			assert.True(t, strings.HasPrefix(stderr, "drivetrain generate: "), stderr)
			assert.Contains(t, stderr, tt.wantErr)
			assert.NotContains(t, stderr, "s3cr3t-pw")
		})
	}
}

func TestGenerateHelp(t *testing.T) {
	stdout, _, code := runGenerateCLI(t, "--help")
	assert.Equal(t, 0, code)
	for _, f := range []string{"-postgres", "-rate", "-duration", "-changes", "-seed", "-scale", "-workers", "-strict", "-json"} {
		assert.Contains(t, stdout, f)
	}
	assert.NotContains(t, stdout, "drivetrain:drivetrain@", "the default DSN's password is masked")
}
