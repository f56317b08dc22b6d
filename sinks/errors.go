package sinks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/ch-go"
)

// ServerError is an error reported by the ClickHouse server over HTTP: its
// exception code and message. (The native transport returns ch-go's
// *ch.Exception, which the classification below reads the same way.)
type ServerError struct {
	Code    int    // ClickHouse error code, 0 when the response had none
	Status  int    // HTTP status
	Message string // the server's message, trimmed
}

func (e *ServerError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("clickhouse: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("clickhouse: code %d: %s", e.Code, e.Message)
}

var codeRe = regexp.MustCompile(`Code: (\d+)`)

// parseServerError builds the error of an HTTP response with a non-200
// status. Servers since 18.16 start the body with "Code: N"; newer ones
// also send the code in the X-ClickHouse-Exception-Code header.
func parseServerError(status int, header string, body []byte) *ServerError {
	msg := strings.TrimSpace(string(body))
	e := &ServerError{Status: status, Message: msg}
	if n, err := strconv.Atoi(header); err == nil {
		e.Code = n
	} else if m := codeRe.FindStringSubmatch(msg); m != nil {
		e.Code, _ = strconv.Atoi(m[1])
	}
	// Trim the envelopes: "Code: 60, e.displayText() = DB::Exception: …,
	// e.what() = DB::Exception" (18.x) and "Code: 60. DB::Exception: …"
	// (later), keeping the message and any version suffix.
	if i := strings.Index(msg, "DB::Exception: "); i >= 0 {
		msg = msg[i+len("DB::Exception: "):]
	}
	msg = strings.TrimSuffix(msg, ", e.what() = DB::Exception")
	if len(msg) > 1000 {
		msg = msg[:1000] + "…"
	}
	e.Message = msg
	return e
}

// ClickHouse error codes drivetrain tells apart.
const (
	codeAuthenticationFail  = 516
	codeUnknownUser         = 192
	codeWrongPassword       = 193
	codeRequiredPassword    = 194
	codeIPAddressNotAllowed = 195
	codeAccessDenied        = 497
)

// retryableCodes are the server errors that a later attempt can clear:
// overload, timeouts, network trouble between servers, replicas or
// ZooKeeper/Keeper being unavailable, merges behind.
var retryableCodes = map[int]bool{
	159: true, // TIMEOUT_EXCEEDED
	160: true, // TOO_SLOW
	164: true, // READONLY (replica in read-only mode)
	173: true, // CANNOT_ALLOCATE_MEMORY
	201: true, // QUOTA_EXCEEDED (until the interval ends)
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	225: true, // NO_ZOOKEEPER
	236: true, // ABORTED
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	244: true, // UNEXPECTED_ZOOKEEPER_ERROR
	252: true, // TOO_MANY_PARTS
	279: true, // ALL_CONNECTION_TRIES_FAILED
	285: true, // TOO_FEW_LIVE_REPLICAS
	319: true, // UNKNOWN_STATUS_OF_INSERT
	394: true, // QUERY_WAS_CANCELLED
	425: true, // SYSTEM_ERROR
	439: true, // CANNOT_SCHEDULE_TASK
	999: true, // KEEPER_EXCEPTION
}

// authCodes are the server errors that mean the credentials are wrong or
// lack a grant.
var authCodes = map[int]bool{
	codeAuthenticationFail:  true,
	codeUnknownUser:         true,
	codeWrongPassword:       true,
	codeRequiredPassword:    true,
	codeIPAddressNotAllowed: true,
	codeAccessDenied:        true,
}

// serverCode returns the ClickHouse error code in err's chain, if any.
func serverCode(err error) (int, bool) {
	var se *ServerError
	if errors.As(err, &se) && se.Code != 0 {
		return se.Code, true
	}
	if ex, ok := ch.AsException(err); ok {
		return int(ex.Code), true
	}
	return 0, false
}

// IsAuthError reports whether err says the credentials were refused or
// lack a grant.
func IsAuthError(err error) bool {
	if code, ok := serverCode(err); ok {
		return authCodes[code]
	}
	var se *ServerError
	return errors.As(err, &se) && (se.Status == 401 || se.Status == 403)
}

// IsRetryable reports whether err is transient: another attempt may
// succeed. Network errors, timeouts, HTTP 502/503/504 and overload or
// replication errors of the server are transient. Everything else is
// permanent and should stop the node with the error's message: schema
// mismatches, authentication and grants, unknown databases, tables or
// columns, type and syntax errors, data the server cannot parse, TLS
// verification failures, invalid configuration, and errors drivetrain
// does not recognise. Cancellation (context.Canceled) is not retryable;
// a deadline (one attempt's timeout) is.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var sm *SchemaMismatchError
	switch {
	case errors.As(err, &sm), errors.Is(err, ErrInvalidConfig), errors.Is(err, context.Canceled):
		return false
	case IsAuthError(err), isTLSError(err):
		return false
	}
	if code, ok := serverCode(err); ok {
		return retryableCodes[code]
	}
	var se *ServerError
	if errors.As(err, &se) {
		switch se.Status {
		case 408, 429, 502, 503, 504:
			return true
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func isTLSError(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		rh tls.RecordHeaderError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) ||
		errors.As(err, &ci) || errors.As(err, &rh)
}

// RetryConfig paces retries: exponential backoff from InitialBackoff,
// doubling up to MaxBackoff, each wait drawn uniformly from its upper
// half (jitter, so that nodes do not retry in lockstep).
type RetryConfig struct {
	// InitialBackoff is the first wait; default 100ms.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps every wait; default 10s.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxElapsed gives up after this long since the first attempt,
	// returning the last error; default 0: retry until the context is
	// done (the data waits in Kafka, and fetching pauses meanwhile).
	MaxElapsed time.Duration `yaml:"max_elapsed"`
}

func (c *RetryConfig) setDefaults() {
	if c.InitialBackoff == 0 {
		c.InitialBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 10 * time.Second
	}
}

func (c RetryConfig) validate() error {
	switch {
	case c.InitialBackoff < 0:
		return invalid("Retry.InitialBackoff", "%v is negative", c.InitialBackoff)
	case c.MaxBackoff < c.InitialBackoff:
		return invalid("Retry.MaxBackoff", "%v is below Retry.InitialBackoff %v", c.MaxBackoff, c.InitialBackoff)
	case c.MaxElapsed < 0:
		return invalid("Retry.MaxElapsed", "%v is negative", c.MaxElapsed)
	}
	return nil
}

// backoff returns the wait before retry number attempt (1 for the first
// retry): uniform in [d/2, d] with d = min(MaxBackoff, InitialBackoff ×
// 2^(attempt-1)).
func (c RetryConfig) backoff(attempt int, rnd func(int64) int64) time.Duration {
	d := c.InitialBackoff
	for i := 1; i < attempt && d < c.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.MaxBackoff)
	half := int64(d / 2)
	if half <= 0 {
		return d
	}
	return time.Duration(half + rnd(half+1))
}

// retrier runs Retry with a replaceable clock, for tests.
type retrier struct {
	cfg   RetryConfig
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	rnd   func(int64) int64
}

func newRetrier(cfg RetryConfig) retrier {
	cfg.setDefaults()
	return retrier{cfg: cfg, now: time.Now, sleep: sleepCtx, rnd: rand.Int64N}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retry calls fn until it succeeds, returns an error IsRetryable calls
// permanent, cfg.MaxElapsed has passed or ctx is done, waiting between
// attempts as cfg says. onRetry, if not nil, is called before each wait
// with the attempt that failed (from 1), the wait and the error. Retry
// returns nil, the permanent or last error, or — when ctx ends during a
// wait — the last error wrapped together with ctx's error.
func Retry(ctx context.Context, cfg RetryConfig, onRetry func(attempt int, wait time.Duration, err error), fn func(context.Context) error) error {
	return newRetrier(cfg).run(ctx, onRetry, fn)
}

func (r retrier) run(ctx context.Context, onRetry func(int, time.Duration, error), fn func(context.Context) error) error {
	start := r.now()
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (stopped: %w)", err, ctx.Err())
		}
		if !IsRetryable(err) {
			return err
		}
		wait := r.cfg.backoff(attempt, r.rnd)
		if r.cfg.MaxElapsed > 0 && r.now().Add(wait).Sub(start) > r.cfg.MaxElapsed {
			return fmt.Errorf("giving up after %d attempts in %v: %w", attempt, r.now().Sub(start).Round(time.Millisecond), err)
		}
		if onRetry != nil {
			onRetry(attempt, wait, err)
		}
		if serr := r.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (stopped: %w)", err, serr)
		}
	}
}
