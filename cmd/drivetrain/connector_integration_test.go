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
	cf, err := loadConnectorFile("")
	require.NoError(t, err)
	cc, err := newConnectClient(connectURL)
	require.NoError(t, err)

	_, err = cc.status(ctx, cf.Name)
	if errors.Is(err, errNotFound) {
		stdout, stderr, code := runCLI(t, "connector", "register")
		require.Zero(t, code, "connector register:\n%s%s", stdout, stderr)
	} else {
		require.NoError(t, err)
	}
	var stored map[string]string
	require.NoError(t, cc.do(ctx, "GET", "/connectors/"+url.PathEscape(cf.Name)+"/config", nil, &stored))
	require.Equal(t, passwordRef, stored[passwordKey],
		"Connect holds the built-in reference (re-register the connector if an older binary registered it)")
	if u, err := url.Parse(pgDSN); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		assert.NotEqual(t, pw, stored[passwordKey], "Connect's config holds no password")
	}

	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := cc.status(ctx, cf.Name)
		require.NoError(t, err)
		require.Empty(t, st.failure(), "the worker resolved the password and the task logged in")
		if st.running() {
			break
		}
		require.True(t, time.Now().Before(deadline), "connector not RUNNING after 2 minutes: %s", describeStatus(st))
		time.Sleep(200 * time.Millisecond)
	}
	waitSlotActive(ctx, t, pgDSN, cf.Config["slot.name"])
}
