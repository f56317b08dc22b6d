package sinks

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseServerError(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  string
		body    string
		want    ServerError
		wantMsg string
	}{
		{
			name:   "18.16",
			status: 404,
			body:   "Code: 81, e.displayText() = DB::Exception: Database nosuch doesn't exist, e.what() = DB::Exception\n",
			want:   ServerError{Code: 81, Status: 404, Message: "Database nosuch doesn't exist"},
		},
		{
			name:   "current, header",
			status: 500,
			header: "252",
			body:   "Code: 252. DB::Exception: Too many parts (300). Merges are processing significantly slower than inserts. (TOO_MANY_PARTS) (version 24.8.4.13 (official build))\n",
			want: ServerError{Code: 252, Status: 500,
				Message: "Too many parts (300). Merges are processing significantly slower than inserts. (TOO_MANY_PARTS) (version 24.8.4.13 (official build))"},
		},
		{
			name:   "proxy",
			status: 502,
			body:   "<html>Bad Gateway</html>",
			want:   ServerError{Status: 502, Message: "<html>Bad Gateway</html>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseServerError(tt.status, tt.header, []byte(tt.body))
			assert.Equal(t, tt.want, *got)
		})
	}
}

func exception(code proto.Error) error {
	return fmt.Errorf("handle packet: %w", &ch.Exception{Code: code, Name: code.String(), Message: "boom"})
}

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
		auth bool
	}{
		{name: "nil", err: nil},
		{name: "too many parts (http)", err: &ServerError{Code: 252, Status: 500}, want: true},
		{name: "memory limit (native)", err: exception(proto.ErrMemoryLimitExceeded), want: true},
		{name: "timeout exceeded", err: &ServerError{Code: 159, Status: 500}, want: true},
		{name: "keeper", err: exception(999), want: true},
		{name: "authentication failed", err: &ServerError{Code: 516, Status: 403}, auth: true},
		{name: "unknown user (18.16)", err: &ServerError{Code: 192, Status: 500}, auth: true},
		{name: "wrong password (native)", err: exception(proto.ErrWrongPassword), auth: true},
		{name: "access denied", err: exception(proto.ErrAccessDenied), auth: true},
		{name: "401 without code", err: &ServerError{Status: 401}, auth: true},
		{name: "unknown table", err: &ServerError{Code: 60, Status: 404}},
		{name: "no such column", err: exception(proto.ErrNoSuchColumnInTable)},
		{name: "type mismatch", err: &ServerError{Code: 53, Status: 500}},
		{name: "syntax", err: &ServerError{Code: 62, Status: 400}},
		{name: "cannot read all data", err: &ServerError{Code: 33, Status: 500}},
		{name: "503 without code", err: &ServerError{Status: 503}, want: true},
		{name: "400 without code", err: &ServerError{Status: 400}},
		{name: "schema mismatch", err: fmt.Errorf("x: %w", &SchemaMismatchError{})},
		{name: "invalid config", err: invalid("Addr", "bad")},
		{name: "unsupported server", err: fmt.Errorf("x: %w", ErrUnsupportedServer)},
		{name: "wrong table", err: fmt.Errorf("x: %w", ErrWrongTable)},
		{name: "canceled", err: fmt.Errorf("x: %w", context.Canceled)},
		{name: "deadline", err: &url.Error{Op: "Post", URL: "http://h", Err: context.DeadlineExceeded}, want: true},
		{name: "refused", err: &url.Error{Op: "Post", URL: "http://h", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, want: true},
		{name: "reset", err: fmt.Errorf("write: %w", syscall.ECONNRESET), want: true},
		{name: "eof", err: fmt.Errorf("read: %w", io.ErrUnexpectedEOF), want: true},
		{name: "dns", err: &net.DNSError{Err: "no such host", Name: "h", IsTemporary: true}, want: true},
		{name: "tls unknown authority", err: &url.Error{Op: "Post", URL: "https://h", Err: x509.UnknownAuthorityError{}}},
		{name: "unknown", err: errors.New("something else")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, IsRetryable(tt.err))
			assert.Equal(t, tt.auth, IsAuthError(tt.err))
		})
	}
}

func TestBackoff(t *testing.T) {
	cfg := RetryConfig{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	lowest := func(n int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second},
		{50, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.min, cfg.backoff(tt.attempt, lowest), "attempt %d", tt.attempt)
		assert.Equal(t, tt.max, cfg.backoff(tt.attempt, highest), "attempt %d", tt.attempt)
	}
}

// testRetrier returns a retrier on a fake clock that records its waits.
func testRetrier(cfg RetryConfig) (*retrier, *[]time.Duration) {
	var waits []time.Duration
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newRetrier(cfg)
	r.now = func() time.Time { return now }
	r.rnd = func(n int64) int64 { return n - 1 }
	r.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		now = now.Add(d)
		return ctx.Err()
	}
	return &r, &waits
}

func TestRetry(t *testing.T) {
	transient := &ServerError{Code: 252, Status: 500}
	permanent := &ServerError{Code: 60, Status: 404}
	tests := []struct {
		name      string
		cfg       RetryConfig
		results   []error // fn's result per call; nil ends
		wantCalls int
		wantWaits []time.Duration
		wantErr   error
	}{
		{name: "first try", results: []error{nil}, wantCalls: 1},
		{
			name: "transient then success", cfg: RetryConfig{InitialBackoff: time.Second, MaxBackoff: 3 * time.Second},
			results: []error{transient, transient, transient, nil}, wantCalls: 4,
			wantWaits: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second},
		},
		{name: "permanent stops at once", results: []error{permanent}, wantCalls: 1, wantErr: permanent},
		{
			name: "max elapsed", cfg: RetryConfig{InitialBackoff: time.Second, MaxBackoff: time.Second, MaxElapsed: 2500 * time.Millisecond},
			results: []error{transient, transient, transient, transient}, wantCalls: 3,
			wantWaits: []time.Duration{time.Second, time.Second}, wantErr: transient,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, waits := testRetrier(tt.cfg)
			calls, retries := 0, 0
			err := r.run(context.Background(), func(attempt int, _ time.Duration, err error) {
				retries++
				assert.Equal(t, retries, attempt)
				assert.Error(t, err)
			}, func(context.Context) error {
				calls++
				return tt.results[calls-1]
			})
			assert.Equal(t, tt.wantCalls, calls)
			assert.Equal(t, len(tt.wantWaits), retries)
			if len(tt.wantWaits) > 0 {
				assert.Equal(t, tt.wantWaits, *waits)
			}
			if tt.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestRetryStopsOnCancel(t *testing.T) {
	r, _ := testRetrier(RetryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	transient := &ServerError{Code: 252, Status: 500}
	calls := 0
	err := r.run(ctx, nil, func(context.Context) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return transient
	})
	require.Error(t, err)
	assert.Equal(t, 2, calls)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, transient)
	assert.False(t, IsRetryable(err))
}

func TestSchemaMismatchMessage(t *testing.T) {
	err := &SchemaMismatchError{Database: "dt", Diffs: []SchemaDiff{
		{Table: "sales_facts", Column: "order_total", Want: "Decimal(18, 2)", Got: "Decimal(12, 2)"},
		{Table: "sales_facts", Column: "vin", Want: "String"},
		{Table: "sales_facts", Column: "extra", Got: "String"},
		{Table: "sales_facts", Want: "engine ReplacingMergeTree(_version)", Got: "engine MergeTree"},
		{Table: "payments", Want: "table"},
	}}
	assert.Equal(t, "clickhouse tables in database dt differ from what drivetrain writes: "+
		"sales_facts.order_total: Decimal(12, 2), want Decimal(18, 2); "+
		"sales_facts.vin: missing column, want String; "+
		"sales_facts.extra: unexpected column String without a default; "+
		"sales_facts: engine MergeTree, want engine ReplacingMergeTree(_version); "+
		"payments: missing, want table "+
		"(migrate or drop these tables, or use another database or table suffix)", err.Error())
}
