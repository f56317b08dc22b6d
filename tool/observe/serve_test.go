package observe

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer serves with serve on a loopback port until the test ends and
// returns its base URL.
func startServer(t *testing.T, listen func(string) (net.Listener, error), serve func(context.Context, net.Listener) error) string {
	t.Helper()
	ln, err := listen("127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestStatusServerServesNoProfiles(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "m 1\n") })
	srv := NewServer(func() Status { return Status{Ready: true} }, metrics)
	base := startServer(t, srv.Listen, srv.Serve)

	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/status"} {
		code, _ := get(t, http.MethodGet, base+path, "")
		assert.Equal(t, http.StatusOK, code, path)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/profile?seconds=1", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/pprof/trace?seconds=1"} {
		code, _ := get(t, http.MethodGet, base+path, "")
		assert.Equal(t, http.StatusNotFound, code, "%s is not served on http_addr", path)
	}
}

func TestPprofServer(t *testing.T) {
	pp := NewPprofServer()
	base := startServer(t, pp.Listen, pp.Serve)

	code, body := get(t, http.MethodGet, base+"/debug/pprof/", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "goroutine")
	code, body = get(t, http.MethodGet, base+"/debug/pprof/goroutine?debug=1", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "goroutine profile:")
	code, _ = get(t, http.MethodGet, base+"/debug/pprof/trace?seconds=0.05", "")
	assert.Equal(t, http.StatusOK, code, "a short trace")

	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{name: "CPU profile above the bound", method: http.MethodGet, path: "/debug/pprof/profile?seconds=61", want: http.StatusBadRequest},
		{name: "trace above the bound", method: http.MethodGet, path: "/debug/pprof/trace?seconds=3600", want: http.StatusBadRequest},
		{name: "delta heap profile above the bound", method: http.MethodGet, path: "/debug/pprof/heap?seconds=86400", want: http.StatusBadRequest},
		{name: "bound in a POST body", method: http.MethodPost, path: "/debug/pprof/profile", body: "seconds=3600", want: http.StatusBadRequest},
		{name: "negative", method: http.MethodGet, path: "/debug/pprof/profile?seconds=-1", want: http.StatusBadRequest},
		{name: "not a number", method: http.MethodGet, path: "/debug/pprof/trace?seconds=NaN", want: http.StatusBadRequest},
		{name: "infinite", method: http.MethodGet, path: "/debug/pprof/trace?seconds=Inf", want: http.StatusBadRequest},
		{name: "command line (may hold a password)", method: http.MethodGet, path: "/debug/pprof/cmdline", want: http.StatusNotFound},
		{name: "no metrics here", method: http.MethodGet, path: "/metrics", want: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, tt.method, base+tt.path, tt.body)
			assert.Equal(t, tt.want, code, body)
			if tt.want == http.StatusBadRequest {
				assert.Contains(t, body, "from 0 to 60")
			}
		})
	}
}

func TestPprofListenAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{":6060", "127.0.0.1:6060"},
		{"6060", "127.0.0.1:6060"},
		{"127.0.0.1:6060", "127.0.0.1:6060"},
		{"[::1]:6060", "[::1]:6060"},
		{"0.0.0.0:6060", "0.0.0.0:6060"}, // asked by name: served, with a warning
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, PprofListenAddr(tt.in), tt.in)
	}
	assert.True(t, IsLoopback("127.0.0.1:6060"))
	assert.True(t, IsLoopback("[::1]:6060"))
	assert.True(t, IsLoopback("localhost:6060"))
	assert.False(t, IsLoopback("0.0.0.0:6060"))
	assert.False(t, IsLoopback("10.1.2.3:6060"))
}

// TestServersCloseIdleConnections holds a keep-alive connection open after
// one request and waits (up to a deadline) for the server to close it.
func TestServersCloseIdleConnections(t *testing.T) {
	const idle = 200 * time.Millisecond
	short := serverTimeouts{ReadHeader: time.Second, Read: time.Second, Write: time.Second, Idle: idle}
	st := NewServer(func() Status { return Status{} }, nil)
	st.timeouts = short
	pp := NewPprofServer()
	pp.timeouts = short
	for name, base := range map[string]string{
		"status": startServer(t, st.Listen, st.Serve),
		"pprof":  startServer(t, pp.Listen, pp.Serve),
	} {
		t.Run(name, func(t *testing.T) {
			u, err := url.Parse(base)
			require.NoError(t, err)
			conn, err := net.Dial("tcp", u.Host)
			require.NoError(t, err)
			defer conn.Close()
			path := map[string]string{"status": "/healthz", "pprof": "/debug/pprof/"}[name]
			_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+u.Host+"\r\n\r\n")
			require.NoError(t, err)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.False(t, resp.Close, "the server keeps the connection alive after the response")
			answered := time.Now()

			// The server closes the connection once it has been idle for
			// idle: the read ends with EOF (or a reset), well before the
			// deadline, which would mean it is kept open forever.
			deadline := 10 * time.Second
			require.NoError(t, conn.SetReadDeadline(answered.Add(deadline)))
			_, err = br.ReadByte()
			require.Error(t, err)
			assert.False(t, errors.Is(err, os.ErrDeadlineExceeded), "connection still open after %s idle", deadline)
			assert.GreaterOrEqual(t, time.Since(answered), idle-50*time.Millisecond, "not closed before the idle timeout")
		})
	}
}

func TestStatusTimeoutsAllSet(t *testing.T) {
	for name, to := range map[string]serverTimeouts{"status": statusTimeouts, "pprof": NewPprofServer().timeouts} {
		assert.Positive(t, to.ReadHeader, name)
		assert.Positive(t, to.Read, name)
		assert.Positive(t, to.Write, name)
		assert.Positive(t, to.Idle, name)
	}
	assert.Greater(t, NewPprofServer().timeouts.Write, maxProfileDuration, "a profile of the longest allowed duration is still delivered")
}
