//go:build integration

package main

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/tool/connect"
)

// TestIntegrationConnectorPasswordFromProvider checks, on the local stack,
// that the connector logs in with the password its worker resolves from
// the built-in ${env:…} reference: it is RUNNING with its replication slot
// active, and Connect holds the reference, never the password. It registers
// the connector only when it is missing (TestIntegrationStackCarriesEveryChange
// shows changes streaming through it).
func TestIntegrationConnectorPasswordFromProvider(t *testing.T) {
	pgDSN, _, connectURL := stackEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cf, err := connect.LoadFile("")
	require.NoError(t, err)
	cc, err := connect.NewClient(connectURL)
	require.NoError(t, err)

	_, err = cc.Status(ctx, cf.Name)
	if errors.Is(err, connect.ErrNotFound) {
		stdout, stderr, code := runCLI(t, "connector", "register")
		require.Zero(t, code, "connector register:\n%s%s", stdout, stderr)
	} else {
		require.NoError(t, err)
	}
	var stored map[string]string
	require.NoError(t, cc.Do(ctx, "GET", "/connectors/"+url.PathEscape(cf.Name)+"/config", nil, &stored))
	require.Equal(t, connect.PasswordRef, stored[connect.PasswordKey],
		"Connect holds the built-in reference (re-register the connector if an older binary registered it)")
	if u, err := url.Parse(pgDSN); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		assert.NotEqual(t, pw, stored[connect.PasswordKey], "Connect's config holds no password")
	}

	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := cc.Status(ctx, cf.Name)
		require.NoError(t, err)
		require.Empty(t, st.Failure(), "the worker resolved the password and the task logged in")
		if st.Running() {
			break
		}
		require.True(t, time.Now().Before(deadline), "connector not RUNNING after 2 minutes: %s", st.Describe())
		time.Sleep(200 * time.Millisecond)
	}
	waitSlotActive(ctx, t, pgDSN, cf.Config["slot.name"])
}
