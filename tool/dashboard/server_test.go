package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/sinks"
)

// fakeClickHouse answers every query with one row of column numbers, or
// with err; it records the SQL it got.
type fakeClickHouse struct {
	db     string // default "shop"
	empty  bool   // answer no rows
	mu     sync.Mutex
	err    error
	sqls   []string
	closed bool
}

func (f *fakeClickHouse) Query(_ context.Context, sql string, ncols int) ([][]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sqls = append(f.sqls, sql)
	if f.err != nil {
		return nil, f.err
	}
	if f.empty {
		return nil, nil
	}
	row := make([]string, ncols)
	for i := range row {
		row[i] = string(rune('0' + i%10))
	}
	return [][]string{row}, nil
}

func (f *fakeClickHouse) ServerVersion() sinks.Version {
	return sinks.Version{Major: 18, Minor: 16, Patch: 1}
}

func (f *fakeClickHouse) Database() string {
	if f.db == "" {
		return "shop"
	}
	return f.db
}

func (f *fakeClickHouse) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

// newTestServer is a Server on a free port whose dial returns the next of
// clients (an error once they run out, as an unreachable server).
func newTestServer(t *testing.T, cfg Config, clients ...querier) (*Server, *int) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	s, err := Open(cfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	dials := 0
	s.dial = func(context.Context) (querier, error) {
		dials++
		if len(clients) == 0 {
			return nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
		}
		c := clients[0]
		clients = clients[1:]
		return c, nil
	}
	s.now = func() time.Time { return time.Date(2026, 12, 7, 12, 30, 15, 0, time.UTC) }
	return s, &dials
}

func getPage(t *testing.T, h http.Handler, target string) (int, PageData, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	body := rec.Body.String()
	var d PageData
	if rec.Code == http.StatusOK {
		require.NoError(t, json.Unmarshal([]byte(body), &d), body)
	}
	return rec.Code, d, body
}

func TestServePageOK(t *testing.T) {
	ch := &fakeClickHouse{}
	s, _ := newTestServer(t, Config{ClickHouse: sinks.Config{Database: "shop"}}, ch)
	code, d, body := getPage(t, s.Handler(), "/api/page/history?from=2026-11-01&to=2026-12-01&bucket=week")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, StatusOK, d.Status)
	assert.Equal(t, "18.16.1", d.Server)
	assert.Equal(t, "shop", d.Database)
	assert.Equal(t, map[string]string{"now": "2026-12-07T12:30:15Z", "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "bucket": "week"}, d.Params)
	require.Contains(t, d.Results, "history-series")
	series := d.Results["history-series"]
	assert.Equal(t, []string{"period", "revenue", "orders", "previous_revenue", "previous_orders"}, series.Columns)
	assert.Equal(t, [][]string{{"0", "1", "2", "3", "4"}}, series.Rows)
	require.Len(t, ch.sqls, 2)
	for _, sql := range ch.sqls {
		assert.Contains(t, sql, "FROM shop.sales_facts_current")
		assert.Contains(t, sql, "toDateTime(1793491200)") // 2026-11-01
		assert.NotContains(t, sql, "{")
	}
	assert.Contains(t, ch.sqls[1], "unhex('7765656B')") // "week"
}

func TestServePageStates(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus string
		wantMsg    string
		wantRedial bool
	}{
		{name: "table missing over HTTP", err: &sinks.ServerError{Code: 60, Status: 404, Message: "Table shop.sales_facts_current doesn't exist."},
			wantStatus: StatusMissing, wantMsg: "no drivetrain tables in database shop yet"},
		{name: "database missing over native", err: &ch.Exception{Code: proto.ErrUnknownDatabase, Message: "Database shop doesn't exist"},
			wantStatus: StatusMissing, wantMsg: "a node (drivetrain run) creates them"},
		{name: "other server error", err: &sinks.ServerError{Code: 241, Status: 500, Message: "Memory limit exceeded"},
			wantStatus: StatusError, wantMsg: "Memory limit exceeded"},
		{name: "connection lost", err: errors.New("Post \"http://127.0.0.1:18123/\": EOF"),
			wantStatus: StatusUnreachable, wantMsg: "ClickHouse is unreachable", wantRedial: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := &fakeClickHouse{err: tt.err}
			s, dials := newTestServer(t, Config{ClickHouse: sinks.Config{Database: "shop"}}, ch, &fakeClickHouse{})
			code, d, _ := getPage(t, s.Handler(), "/api/page/now")
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, tt.wantStatus, d.Status)
			assert.Contains(t, d.Message, tt.wantMsg)
			assert.Empty(t, d.Results)
			assert.Equal(t, tt.wantRedial, ch.closed, "client closed")
			_, d, _ = getPage(t, s.Handler(), "/api/page/now")
			if tt.wantRedial {
				assert.Equal(t, 2, *dials)
				assert.Equal(t, StatusOK, d.Status, "the next request dials again")
			} else {
				assert.Equal(t, 1, *dials)
			}
		})
	}
}

func TestServePageUnreachableAtStart(t *testing.T) {
	s, dials := newTestServer(t, Config{})
	for range 2 {
		code, d, _ := getPage(t, s.Handler(), "/api/page/inventory")
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, StatusUnreachable, d.Status)
		assert.Contains(t, d.Message, "connection refused")
	}
	assert.Equal(t, 2, *dials, "every request tries again")
}

func TestServePageBadInput(t *testing.T) {
	s, _ := newTestServer(t, Config{}, &fakeClickHouse{})
	tests := []struct{ target, want string }{
		{"/api/page/products?from=yesterday", `from must be a time such as 2026-01-31`},
		{"/api/page/products?from=2026-12-02&to=2026-12-01", "from (2026-12-02T00:00:00Z) must be before to"},
		{"/api/page/history?bucket=year", `bucket must be day, week or month, got \"year\"`},
		{"/api/page/transactions?q=" + strings.Repeat("a", 400), "q is longer than 320 bytes"},
	}
	for _, tt := range tests {
		code, _, body := getPage(t, s.Handler(), tt.target)
		assert.Equal(t, http.StatusBadRequest, code, tt.target)
		assert.Contains(t, body, tt.want, tt.target)
	}
	code, _, _ := getPage(t, s.Handler(), "/api/page/nope")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestPageArgs(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 30, 15, 500, time.UTC)
	tx, _ := PageNamed("transactions")
	hist, _ := PageNamed("history")
	nowPage, _ := PageNamed("now")
	tests := []struct {
		name string
		page Page
		q    string
		want Args
	}{
		{"now binds only now", nowPage, "from=2020-01-01", Args{"now": now.Truncate(time.Second)}},
		{"default period is the last 30 days", hist, "",
			Args{"now": now.Truncate(time.Second), "from": now.Truncate(time.Second).Add(-DefaultPeriod), "to": now.Truncate(time.Second), "bucket": "day"}},
		{"RFC 3339 times", hist, "from=2026-12-01T08:00:00%2B01:00&to=2026-12-02T00:00:00Z&bucket=month",
			Args{"now": now.Truncate(time.Second), "from": time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC), "to": time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), "bucket": "month"}},
		{"search by order id", tx, "q=+42+&from=2026-12-01",
			Args{"now": now.Truncate(time.Second), "from": time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "to": now.Truncate(time.Second), "order_id": int64(42), "email": ""}},
		{"search by email", tx, "q=ana%40example.com&from=2026-12-01",
			Args{"now": now.Truncate(time.Second), "from": time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "to": now.Truncate(time.Second), "order_id": int64(-1), "email": "ana@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.q)
			require.NoError(t, err)
			got, err := tt.page.args(q, now)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestServeStatic(t *testing.T) {
	s, _ := newTestServer(t, Config{Refresh: 3 * time.Second, ClickHouse: sinks.Config{Database: "shop"}})
	h := s.Handler()
	get := func(target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec
	}
	rec := get("/")
	assert.Equal(t, http.StatusFound, rec.Code)
	assert.Equal(t, "/now", rec.Header().Get("Location"))
	for _, p := range Pages {
		rec = get("/" + p.Name)
		assert.Equal(t, http.StatusOK, rec.Code, p.Name)
		assert.Contains(t, rec.Body.String(), `<script src="/static/vendor/chart.js/chart.umd.min.js">`)
		assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'self'")
	}
	assert.Equal(t, http.StatusNotFound, get("/nope").Code)
	rec = get("/static/vendor/chart.js/chart.umd.min.js")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.True(t, strings.HasPrefix(rec.Body.String(), "/*!\n * Chart.js v4.6.1"), "the vendored Chart.js")
	assert.Equal(t, http.StatusOK, get("/static/vendor/chart.js/LICENSE.md").Code)
	assert.Equal(t, http.StatusOK, get("/static/app.js").Code)
	rec = get("/api/meta")
	var m meta
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
	assert.Equal(t, int64(3000), m.RefreshMS)
	assert.Len(t, m.Pages, len(Pages))
	assert.Equal(t, "Revenue per minute over the last three hours", m.Titles["now-per-minute"])
}

func TestPipelineNodes(t *testing.T) {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/status", r.URL.Path)
		io.WriteString(w, `{"node":"n1","ready":true,"idle":false,"lag":12,"sink_backlog":3,"facts_written":99,
			"freshness":{"count":5,"p50_ms":120.5,"p90_ms":300,"p99_ms":900,"max_ms":1000},"last_commit":"2026-12-07T12:00:00Z","consumed":{"x":1}}`)
	}))
	defer node.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	s, _ := newTestServer(t, Config{Nodes: []string{node.URL + "/", down.URL}}, &fakeClickHouse{})
	_, d, _ := getPage(t, s.Handler(), "/api/page/pipeline")
	require.Len(t, d.Nodes, 2)
	n := d.Nodes[0]
	assert.Equal(t, node.URL, n.URL)
	assert.Empty(t, n.Error)
	assert.Equal(t, "n1", n.Node)
	assert.True(t, n.Ready)
	assert.Equal(t, int64(12), n.Lag)
	assert.Equal(t, 120.5, n.Freshness.P50)
	assert.Equal(t, time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), n.LastCommit)
	assert.Contains(t, d.Nodes[1].Error, "unreachable")
	_, d, _ = getPage(t, s.Handler(), "/api/page/now")
	assert.Empty(t, d.Nodes, "only the pipeline page reads the nodes")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "zero value", cfg: Config{}},
		{name: "listen", cfg: Config{Listen: "localhost"}, wantErr: `listen: "localhost" is not host:port`},
		{name: "refresh", cfg: Config{Refresh: 100 * time.Millisecond}, wantErr: "refresh: 100ms is not between 1s and 1h"},
		{name: "node", cfg: Config{Nodes: []string{"127.0.0.1:18090"}}, wantErr: `nodes: "127.0.0.1:18090" is not an http(s)://host:port URL`},
		{name: "database", cfg: Config{ClickHouse: sinks.Config{Database: "a;b"}}, wantErr: "clickhouse.database:"},
		{name: "suffix", cfg: Config{ClickHouse: sinks.Config{TableSuffix: "x y"}}, wantErr: "clickhouse.table_suffix:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.setDefaults()
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tt.wantErr), err.Error())
		})
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var resp *http.Response
	require.Eventually(t, func() bool {
		var err error
		resp, err = http.Get("http://" + s.Addr() + "/healthz")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	assert.NoError(t, s.Close())
	assert.NoError(t, s.Close(), "Close is idempotent")
}

// TestDatabaseFromClient checks that without a configured database the
// pages read the one the client resolved (the URL's, else drivetrain).
func TestDatabaseFromClient(t *testing.T) {
	ch := &fakeClickHouse{db: "fromurl"}
	s, _ := newTestServer(t, Config{ClickHouse: sinks.Config{TableSuffix: "r1"}}, ch)
	_, d, _ := getPage(t, s.Handler(), "/api/page/inventory")
	assert.Equal(t, StatusOK, d.Status)
	assert.Equal(t, "fromurl", d.Database)
	require.NotEmpty(t, ch.sqls)
	for _, sql := range ch.sqls {
		assert.Contains(t, sql, "FROM fromurl.vehicles_r1 FINAL")
	}
}

// TestEmptyTables checks that tables without rows give a page in state ok
// whose every query has an empty list of rows (not null), which the
// pages show as empty tables and charts.
func TestEmptyTables(t *testing.T) {
	s, _ := newTestServer(t, Config{}, &fakeClickHouse{empty: true})
	for _, p := range Pages {
		code, d, body := getPage(t, s.Handler(), "/api/page/"+p.Name)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, StatusOK, d.Status, p.Name)
		require.Len(t, d.Results, len(p.Queries), p.Name)
		for name, r := range d.Results {
			assert.NotNil(t, r.Rows, name)
			assert.Empty(t, r.Rows, name)
		}
		assert.NotContains(t, body, `"rows":null`)
	}
}
