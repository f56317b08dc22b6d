package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunPprofConfig(t *testing.T) {
	out, errOut, code := runCLI(t, "run", "--help")
	require.Zero(t, code, errOut)
	assert.Contains(t, out, "-pprof-addr")
	assert.Contains(t, out, "off by default")
	assert.Contains(t, out, "60s")

	out, errOut, code = runCLI(t, "run", "--print-config")
	require.Zero(t, code, errOut)
	assert.Contains(t, out, "pprof_addr: \"\"", "off by default")

	out, errOut, code = runCLI(t, "run", "--print-config", "--pprof-addr", ":6060")
	require.Zero(t, code, errOut)
	assert.Contains(t, out, "pprof_addr: :6060")

	t.Setenv("DRIVETRAIN_PPROF_ADDR", "127.0.0.1:6061")
	out, errOut, code = runCLI(t, "run", "--print-config")
	require.Zero(t, code, errOut)
	assert.Contains(t, out, "pprof_addr: 127.0.0.1:6061")

	_, errOut, code = runCLI(t, "run", "--print-config", "--http-addr", "127.0.0.1:18090", "--pprof-addr", ":18090")
	assert.NotZero(t, code)
	assert.Contains(t, errOut, "pprof_addr must differ from http_addr")
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line: %q", errOut)
}
