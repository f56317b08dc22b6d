package sinks

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// nativeTransport speaks ClickHouse's native TCP protocol through ch-go's
// client. A ch.Client runs one query at a time, so the transport keeps a
// small pool: a call takes an idle client or dials one, and gives it back
// unless the call broke the connection.
type nativeTransport struct {
	opts ch.Options

	mu     sync.Mutex
	idle   []*ch.Client
	max    int
	closed bool
}

func newNativeTransport(e *endpoint) (*nativeTransport, error) {
	tlsCfg, err := e.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts := ch.Options{
		Address:     e.host,
		Database:    "default", // drivetrain's database may not exist yet; names are qualified
		User:        e.user,
		Password:    e.password,
		ClientName:  "drivetrain",
		DialTimeout: e.cfg.DialTimeout,
		ReadTimeout: e.cfg.QueryTimeout,
		TLS:         tlsCfg,
	}
	if opts.User == "" {
		opts.User = "default"
	}
	if e.lz4 {
		opts.Compression = ch.CompressionLZ4
	}
	return &nativeTransport{opts: opts, max: e.cfg.MaxConns}, nil
}

// errClosed is returned by calls on a closed transport.
var errClosed = errors.New("clickhouse client closed")

func (t *nativeTransport) get(ctx context.Context) (*ch.Client, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, errClosed
	}
	for len(t.idle) > 0 {
		c := t.idle[len(t.idle)-1]
		t.idle = t.idle[:len(t.idle)-1]
		if !c.IsClosed() {
			t.mu.Unlock()
			return c, nil
		}
	}
	t.mu.Unlock()
	c, err := ch.Dial(ctx, t.opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", t.opts.Address, err)
	}
	return c, nil
}

// put returns c to the pool after a call that ended with err: a server
// exception leaves the connection usable, anything else may not.
func (t *nativeTransport) put(c *ch.Client, err error) {
	if err != nil && !ch.IsException(err) || c.IsClosed() {
		_ = c.Close()
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || len(t.idle) >= t.max {
		_ = c.Close()
		return
	}
	t.idle = append(t.idle, c)
}

func (t *nativeTransport) do(ctx context.Context, q ch.Query) error {
	c, err := t.get(ctx)
	if err != nil {
		return err
	}
	err = c.Do(ctx, q)
	t.put(c, err)
	return err
}

func (t *nativeTransport) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	var errs []error
	for _, c := range t.idle {
		errs = append(errs, c.Close())
	}
	t.idle = nil
	return errors.Join(errs...)
}

func (t *nativeTransport) version(ctx context.Context) (Version, error) {
	c, err := t.get(ctx)
	if err != nil {
		return Version{}, err
	}
	info := c.ServerInfo()
	t.put(c, nil)
	v := Version{Major: info.Major, Minor: info.Minor, Patch: info.Patch}
	// ch-go always serializes query settings as strings, which older
	// servers read as binary settings and reject (UNKNOWN_SETTING): the
	// handshake succeeds, every query fails. Say so at once.
	if min := int(proto.FeatureSettingsSerializedAsStrings); info.Revision < min {
		return v, fmt.Errorf("%w: ClickHouse %s speaks native protocol revision %d, ch-go needs %d or later; use the HTTP interface (http://host:8123) with this server",
			ErrUnsupportedServer, v, info.Revision, min)
	}
	return v, nil
}

// ErrUnsupportedServer is wrapped by Dial's error when the server cannot
// be used with the chosen transport; it is permanent.
var ErrUnsupportedServer = errors.New("unsupported clickhouse server")

func (t *nativeTransport) exec(ctx context.Context, sql string) error {
	return t.do(ctx, ch.Query{Body: sql})
}

func (t *nativeTransport) query(ctx context.Context, sql string, ncols int) ([][]string, error) {
	cols := make([]proto.ColStr, ncols)
	res := make(proto.Results, ncols)
	for i := range cols {
		res[i] = proto.ResultColumn{Data: &cols[i]}
	}
	var rows [][]string
	err := t.do(ctx, ch.Query{
		Body:   sql,
		Result: res,
		OnResult: func(context.Context, proto.Block) error {
			for r := 0; r < cols[0].Rows(); r++ {
				row := make([]string, ncols)
				for i := range cols {
					row[i] = cols[i].Row(r)
				}
				rows = append(rows, row)
			}
			return nil
		},
	})
	return rows, err
}

func (t *nativeTransport) insert(ctx context.Context, head string, input proto.Input, _ *scratch) error {
	return t.do(ctx, ch.Query{Body: head + " VALUES", Input: input})
}
