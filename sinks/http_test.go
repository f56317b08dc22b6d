package sinks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type httpRequest struct {
	query, decompress string
	user, key         string
	rawQuery          string
	body              []byte
}

// fakeHTTP answers SELECT version() with version, records every other
// request and answers it with the next of replies (status, body), or 200.
type fakeHTTP struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []httpRequest
	replies []struct {
		status int
		body   string
	}
}

func newFakeHTTP(t *testing.T, version string) *fakeHTTP {
	f := &fakeHTTP{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		if string(body) == "SELECT version() FORMAT TabSeparated" {
			_, _ = io.WriteString(w, version+"\n")
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, httpRequest{
			query: r.URL.Query().Get("query"), decompress: r.URL.Query().Get("decompress"),
			user: r.Header.Get("X-ClickHouse-User"), key: r.Header.Get("X-ClickHouse-Key"),
			rawQuery: r.URL.RawQuery, body: body,
		})
		status, reply := 200, ""
		if len(f.replies) > 0 {
			status, reply = f.replies[0].status, f.replies[0].body
			f.replies = f.replies[1:]
		}
		f.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeHTTP) reply(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = append(f.replies, struct {
		status int
		body   string
	}{status, body})
}

func (f *fakeHTTP) received() []httpRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]httpRequest(nil), f.reqs...)
}

func httpSchema(t *testing.T, f *fakeHTTP, edit func(*Config)) *Schema {
	t.Helper()
	cfg := Config{Addr: strings.Replace(f.srv.URL, "http://", "http://bob:hunter2@", 1), Database: "dt",
		Retry: RetryConfig{InitialBackoff: 1, MaxBackoff: 1}}
	if edit != nil {
		edit(&cfg)
	}
	c, err := Dial(context.Background(), cfg, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	assert.Equal(t, Version{18, 16, 1}, c.ServerVersion())
	return &Schema{c: c, tables: map[output]*TableInfo{outFacts: {Name: c.n.qualified(FactsTable), Columns: factColumns}}}
}

func TestHTTPInsert(t *testing.T) {
	for _, comp := range []string{"none", "lz4"} {
		t.Run(comp, func(t *testing.T) {
			f := newFakeHTTP(t, "18.16.1")
			s := httpSchema(t, f, func(c *Config) { c.Compression = comp })
			require.NoError(t, s.FactWriter().Write(context.Background(), sampleFacts()))
			reqs := f.received()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, "INSERT INTO dt.sales_facts ("+strings.Join(factColumnNames(), ", ")+") FORMAT Native", r.query)
			assert.Equal(t, "bob", r.user)
			assert.Equal(t, "hunter2", r.key)
			assert.NotContains(t, r.rawQuery, "hunter2", "credentials stay out of the URL")
			body := r.body
			if comp == "lz4" {
				assert.Equal(t, "1", r.decompress)
				var err error
				// compress.Reader reports the end of its input as a
				// wrapped io.EOF, which io.ReadAll passes on.
				body, err = io.ReadAll(compress.NewReader(strings.NewReader(string(r.body))))
				require.ErrorIs(t, err, io.EOF)
			} else {
				assert.Empty(t, r.decompress)
			}
			got := decodeBlock(t, body)
			assert.Equal(t, 2, got.rows)
			assert.Equal(t, []any{int64(101), int64(-1)}, got.values["order_item_id"])
		})
	}
}

func factColumnNames() []string {
	names := make([]string, len(factColumns))
	for i, c := range factColumns {
		names[i] = c.Name
	}
	return names
}

func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name      string
		replies   [][2]any // status, body
		wantErr   string
		retryable bool
		wantReqs  int
	}{
		{
			name:     "transient, then success",
			replies:  [][2]any{{500, "Code: 252, e.displayText() = DB::Exception: Too many parts (300), e.what() = DB::Exception"}, {503, "busy"}},
			wantReqs: 3,
		},
		{
			name:     "permanent",
			replies:  [][2]any{{404, "Code: 60, e.displayText() = DB::Exception: Table dt.sales_facts doesn't exist., e.what() = DB::Exception"}},
			wantErr:  "writing 2 rows to dt.sales_facts: clickhouse: code 60: Table dt.sales_facts doesn't exist.",
			wantReqs: 1,
		},
		{
			name:     "authentication",
			replies:  [][2]any{{403, "Code: 516. DB::Exception: bob: Authentication failed. (AUTHENTICATION_FAILED)"}},
			wantErr:  "code 516",
			wantReqs: 1,
		},
		{
			name:     "exception after a 200",
			replies:  [][2]any{{200, "Code: 241. DB::Exception: Memory limit exceeded"}, {200, ""}},
			wantReqs: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeHTTP(t, "24.8.4.13")
			for _, r := range tt.replies {
				f.reply(r[0].(int), r[1].(string))
			}
			c, err := Dial(context.Background(), Config{Addr: f.srv.URL, Password: "hunter2",
				Retry: RetryConfig{InitialBackoff: 1, MaxBackoff: 1}}, zerolog.Nop())
			require.NoError(t, err)
			defer c.Close()
			s := &Schema{c: c, tables: map[output]*TableInfo{outFacts: {Name: "dt.sales_facts", Columns: factColumns}}}
			err = s.FactWriter().Write(context.Background(), sampleFacts())
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "hunter2")
				assert.False(t, IsRetryable(err))
			}
			assert.Len(t, f.received(), tt.wantReqs)
		})
	}
}

func TestParseTSV(t *testing.T) {
	rows, err := parseTSV([]byte("a\tb\\tc\n\\N\tx\\\\y\\'z\\n\n"), 2)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a", "b\tc"}, {"N", "x\\y'z\n"}}, rows)
	_, err = parseTSV([]byte("a\n"), 2)
	assert.Error(t, err)
	rows, err = parseTSV(nil, 3)
	require.NoError(t, err)
	assert.Empty(t, rows)
}
