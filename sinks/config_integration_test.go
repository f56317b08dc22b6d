//go:build integration

package sinks

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIntegrationPasswordWithoutUser sends a password without a user to the
// real server: it must be checked as user default's ("Wrong password for
// user default"), not rejected as an unknown user.
func TestIntegrationPasswordWithoutUser(t *testing.T) {
	for name, addr := range transports(t) {
		t.Run(name, func(t *testing.T) {
			_, err := Dial(context.Background(), Config{Addr: addr, Password: "not-the-password"}, zerolog.Nop())
			require.Error(t, err, "the stack's user default has no password")
			assert.Contains(t, err.Error(), "for user default")
			assert.NotContains(t, err.Error(), "Unknown user")
			assert.NotContains(t, err.Error(), "not-the-password")
		})
	}
}
