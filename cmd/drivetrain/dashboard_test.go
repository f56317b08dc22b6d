package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDashboardBadFlags checks that a bad value stops `drivetrain
// dashboard` before it serves, with one line naming the flag.
func TestDashboardBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--refresh", "100ms"}, "drivetrain dashboard: --refresh: 100ms is not between 1s and 1h\n"},
		{[]string{"--listen", "nope"}, "drivetrain dashboard: --listen: \"nope\" is not host:port\n"},
		{[]string{"--node", "127.0.0.1:18090"}, "drivetrain dashboard: --node: \"127.0.0.1:18090\" is not an http(s)://host:port URL\n"},
		{[]string{"--table-suffix", "a-b"}, "drivetrain dashboard: --table-suffix"},
		{[]string{"extra"}, "drivetrain dashboard: unexpected argument \"extra\" (see 'drivetrain dashboard --help')\n"},
	}
	for _, tt := range tests {
		stdout, stderr, code := runCLI(t, append([]string{"dashboard", "--listen", "127.0.0.1:0"}, tt.args...)...)
		assert.Equal(t, 1, code, "%v", tt.args)
		assert.Empty(t, stdout, "%v: nothing served", tt.args)
		assert.Contains(t, stderr, tt.want, "%v", tt.args)
	}
}
