package sinks

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
)

// Client is a connection to one ClickHouse server (a pool of native
// connections, or an HTTP client), with the database and table names of
// one output set. It is safe for concurrent use; the writers it makes are
// not.
type Client struct {
	e       *endpoint
	t       transport
	n       names
	version Version
	log     zerolog.Logger
}

// Dial checks cfg, connects with the transport cfg.Addr names and reads
// the server's version, which proves the address and credentials. It
// makes one attempt: wrap it in Retry to wait for a server that is
// starting. Errors never contain the password.
func Dial(ctx context.Context, cfg Config, log zerolog.Logger) (*Client, error) {
	cfg.setDefaults()
	e, err := cfg.endpoint()
	if err != nil {
		return nil, err
	}
	var t transport
	if e.native {
		t, err = newNativeTransport(e)
	} else {
		t, err = newHTTPTransport(e)
	}
	if err != nil {
		return nil, err
	}
	c := &Client{
		e:   e,
		t:   t,
		n:   names{database: e.database, suffix: e.suffix},
		log: log.With().Str("component", "clickhouse").Logger(),
	}
	qctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout+cfg.QueryTimeout)
	defer cancel()
	c.version, err = t.version(qctx)
	if err != nil {
		_ = t.close()
		return nil, fmt.Errorf("connecting to clickhouse at %s: %w", e, describe(err))
	}
	c.log.Info().Str("server", e.String()).Str("version", c.version.String()).Msg("connected to clickhouse")
	return c, nil
}

// describe adds the likely fix to errors where one is known.
func describe(err error) error {
	if IsAuthError(err) {
		return fmt.Errorf("%w (check the user and password: Config.User/Password or the URL's user info)", err)
	}
	return err
}

// Close releases the connections. It is idempotent.
func (c *Client) Close() error { return c.t.close() }

// ServerVersion returns the version the server reported at Dial.
func (c *Client) ServerVersion() Version { return c.version }

// Database returns the name of the database holding the output tables.
func (c *Client) Database() string { return c.n.database }

// String describes the client's server, database and table suffix, without
// the password.
func (c *Client) String() string { return c.e.String() }

// Exec runs one statement that returns no rows (DDL, RENAME, OPTIMIZE),
// with the query timeout, without retrying.
func (c *Client) Exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, c.e.cfg.QueryTimeout)
	defer cancel()
	if err := c.t.exec(ctx, sql); err != nil {
		return fmt.Errorf("executing statement on clickhouse: %w", err)
	}
	return nil
}

// Query runs a SELECT whose ncols result columns are all of type String
// (wrap others in toString) and returns its rows, with the query timeout,
// without retrying. Values arrive exactly as stored (tabs, newlines and
// bytes beyond ASCII included); NULL cannot be told from text, so select
// isNull(x) beside a Nullable column. The whole result is read into
// memory: page large results with LIMIT.
func (c *Client) Query(ctx context.Context, sql string, ncols int) ([][]string, error) {
	rows, err := c.query(ctx, sql, ncols)
	if err != nil {
		return nil, fmt.Errorf("querying clickhouse: %w", err)
	}
	return rows, nil
}

func (c *Client) query(ctx context.Context, sql string, ncols int) ([][]string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.e.cfg.QueryTimeout)
	defer cancel()
	return c.t.query(ctx, sql, ncols)
}
