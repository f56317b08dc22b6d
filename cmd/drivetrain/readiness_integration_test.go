//go:build integration

package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tcpProxy forwards connections from its address to target until closed;
// reopened, it listens on the same address again. It stands between a
// node and ClickHouse, so a test can make ClickHouse unreachable for that
// node alone.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, addr: freeAddr(t), target: target, conns: map[net.Conn]bool{}}
	p.open()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) open() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(p.t, err)
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *tcpProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c) || !p.track(up) {
		c.Close()
		up.Close()
		return
	}
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// close stops listening and cuts every forwarded connection: the node's
// next attempt is refused.
func (p *tcpProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return
	}
	p.ln.Close()
	p.ln = nil
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// readyz returns /readyz's status code and body.
func readyz(ctx context.Context, base, path string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), err
}

// TestIntegrationReadyzClickHouseUnreachable: `drivetrain health` finds a
// ready node a member of its group, with the group's lag. Then the node's
// ClickHouse becomes unreachable (the proxy it talks through closes): the
// node answers /readyz with 503 and the reason once ready_max_unreachable
// has passed, while /healthz stays 200; once ClickHouse is reachable
// again /readyz answers 200.
func TestIntegrationReadyzClickHouseUnreachable(t *testing.T) {
	r := newPipelineRun(t, "readyz")
	u, err := url.Parse(os.Getenv("DRIVETRAIN_CLICKHOUSE_URL"))
	require.NoError(t, err)
	proxy := newTCPProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.addr

	node := newTestNode(t, "readyz-1", r.group, r.database, t.TempDir())
	node.args = append(node.args, "--clickhouse", viaProxy.String(), "--ready-max-unreachable", "3s")
	node.start()
	node.waitReady(r.ctx)

	// health reads the group's lag with the node as its member.
	stdout, _, _ := runCLI(t, "health", "--group", r.group)
	require.Regexp(t, `(?m)^✓ Kafka consumer group `+r.group+`: 1 member\(s\), lag [0-9]+ \(ready_max_lag 100000\)$`, stdout)

	proxy.close()
	var body string
	err = waitFor(r.ctx, time.Minute, func(ctx context.Context) (bool, string) {
		code, b, err := readyz(ctx, node.url, "/readyz")
		if err != nil {
			return false, err.Error()
		}
		body = b
		return code == http.StatusServiceUnavailable && strings.Contains(b, "clickhouse unreachable for"), b
	})
	require.NoError(t, err, "/readyz while ClickHouse is unreachable")
	require.Contains(t, body, "ready_max_unreachable 3s")
	code, _, err := readyz(r.ctx, node.url, "/healthz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "/healthz stays a liveness check")

	proxy.open()
	err = waitFor(r.ctx, time.Minute, func(ctx context.Context) (bool, string) {
		code, b, err := readyz(ctx, node.url, "/readyz")
		if err != nil {
			return false, err.Error()
		}
		return code == http.StatusOK, b
	})
	require.NoError(t, err, "/readyz once ClickHouse is back")
}
