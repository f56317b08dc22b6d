package sinks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/ClickHouse/ch-go/proto"
)

// httpTransport talks to ClickHouse's HTTP interface: statements in the
// request body, inserts as Native-format blocks (encoded by ch-go's proto
// package) with the INSERT in the query string. Credentials travel in the
// X-ClickHouse-User and X-ClickHouse-Key headers (supported since 18.x),
// never in the URL.
type httpTransport struct {
	base     string // scheme://host:port/path/
	client   *http.Client
	user     string
	password string
	lz4      bool
}

func newHTTPTransport(e *endpoint) (*httpTransport, error) {
	tlsCfg, err := e.tlsConfig()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: e.cfg.DialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: e.cfg.DialTimeout,
		MaxIdleConnsPerHost: e.cfg.MaxConns,
		// ClickHouse closes idle keep-alive connections after
		// keep_alive_timeout (3s by default on 18.x, 10s or more later);
		// dropping ours first avoids posting into a connection the server
		// is closing.
		IdleConnTimeout:   2 * time.Second,
		ForceAttemptHTTP2: false,
	}
	return &httpTransport{
		base:     (&url.URL{Scheme: e.scheme, Host: e.host, Path: e.path}).String(),
		client:   &http.Client{Transport: tr},
		user:     e.user,
		password: e.password,
		lz4:      e.lz4,
	}, nil
}

func (t *httpTransport) close() error {
	t.client.CloseIdleConnections()
	return nil
}

// do posts body to the URL with the given encoded query string and
// returns the response body of a 200 response, or the server's error.
func (t *httpTransport) do(ctx context.Context, rawQuery string, body io.Reader, size int) ([]byte, error) {
	u := t.base
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.ContentLength = int64(size)
	if t.user != "" {
		req.Header.Set("X-ClickHouse-User", t.user)
	}
	if t.password != "" {
		req.Header.Set("X-ClickHouse-Key", t.password)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		// *url.Error names the URL, which holds no secret (credentials
		// are headers); it also keeps the network error for IsRetryable.
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, parseServerError(resp.StatusCode, resp.Header.Get("X-ClickHouse-Exception-Code"), msg)
	}
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	// A query that fails after the server started streaming its result
	// still answers 200; the exception ends the body.
	if i := bytes.LastIndex(out, []byte("Code: ")); i >= 0 && bytes.Contains(out[i:], []byte("DB::Exception")) {
		return nil, parseServerError(resp.StatusCode, "", out[i:])
	}
	return out, nil
}

func (t *httpTransport) exec(ctx context.Context, sql string) error {
	_, err := t.do(ctx, "", strings.NewReader(sql), len(sql))
	return err
}

func (t *httpTransport) query(ctx context.Context, sql string, ncols int) ([][]string, error) {
	sql += " FORMAT TabSeparated"
	out, err := t.do(ctx, "", strings.NewReader(sql), len(sql))
	if err != nil {
		return nil, err
	}
	return parseTSV(out, ncols)
}

func (t *httpTransport) version(ctx context.Context) (Version, error) {
	rows, err := t.query(ctx, "SELECT version()", 1)
	if err != nil {
		return Version{}, err
	}
	if len(rows) != 1 {
		return Version{}, fmt.Errorf("reading server version: %d rows", len(rows))
	}
	return ParseVersion(rows[0][0])
}

func (t *httpTransport) insert(ctx context.Context, head string, input proto.Input, s *scratch) error {
	s.buf.Reset()
	if err := encodeNative(s.buf, input); err != nil {
		return err
	}
	if s.head != head {
		// The INSERT is the same for every block of a writer: encode its
		// query string once.
		s.head = head
		s.query = url.Values{"query": {head + " FORMAT Native"}}.Encode()
	}
	rawQuery := s.query
	body := s.buf.Buf
	if t.lz4 {
		// decompress=1: the body is in ClickHouse's compressed-block
		// framing (checksum, method, sizes), which ch-go's compress
		// package writes.
		if s.comp == nil {
			s.comp = compress.NewWriter(compress.LevelZero, compress.LZ4)
		}
		if err := s.comp.Compress(body); err != nil {
			return fmt.Errorf("compressing block: %w", err)
		}
		body = s.comp.Data
		rawQuery += "&decompress=1"
	}
	_, err := t.do(ctx, rawQuery, bytes.NewReader(body), len(body))
	return err
}

// parseTSV parses TabSeparated output of ncols columns.
func parseTSV(b []byte, ncols int) ([][]string, error) {
	var rows [][]string
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		fields := bytes.Split(line, []byte{'\t'})
		if len(fields) != ncols {
			return nil, fmt.Errorf("parsing TabSeparated: %d fields, want %d", len(fields), ncols)
		}
		row := make([]string, ncols)
		for i, f := range fields {
			row[i] = unescapeTSV(f)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func unescapeTSV(f []byte) string {
	if bytes.IndexByte(f, '\\') < 0 {
		return string(f)
	}
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '\\' || i+1 == len(f) {
			out = append(out, c)
			continue
		}
		i++
		switch f[i] {
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case '0':
			out = append(out, 0)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		default:
			out = append(out, f[i])
		}
	}
	return string(out)
}
