package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/deploy"
	"github.com/drivetrain-cdc/drivetrain/sinks"
)

// Config configures the dashboard server. The zero value works: it serves
// on 127.0.0.1:18080 and reads ClickHouse as sinks.Config's zero value
// says.
type Config struct {
	// Listen is the address to serve on; default 127.0.0.1:18080 (loopback:
	// the dashboard has no login, so put it behind a proxy that has one
	// before opening it wider).
	Listen string
	// Refresh is how often an open page reads its figures again; default
	// 5s, between 1s and 1h.
	Refresh time.Duration
	// Nodes are the base URLs of drivetrain nodes' status servers
	// (http_addr), whose /status the pipeline page shows; default none.
	Nodes []string
	// ClickHouse is the connection to read from: address, credentials,
	// database and table suffix as for `drivetrain run`.
	ClickHouse sinks.Config
}

// DefaultListen is Config.Listen's default.
const DefaultListen = "127.0.0.1:18080"

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Refresh == 0 {
		c.Refresh = 5 * time.Second
	}
}

// Validate checks c after defaults; the error names the field.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q is not host:port", c.Listen)
	}
	if c.Refresh < time.Second || c.Refresh > time.Hour {
		return fmt.Errorf("refresh: %s is not between 1s and 1h", c.Refresh)
	}
	for _, n := range c.Nodes {
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("nodes: %q is not an http(s)://host:port URL", n)
		}
	}
	return checkNames(c.ClickHouse.Database, c.ClickHouse.TableSuffix)
}

// checkNames checks the database (when set; else the URL's or sinks'
// default, which sinks checks) and the table suffix that Bind writes into
// SQL.
func checkNames(database, suffix string) error {
	if database != "" {
		if err := sinks.CheckName("clickhouse.database", sinks.Identifier, database); err != nil {
			return err
		}
	}
	return sinks.CheckName("clickhouse.table_suffix", sinks.Suffix, suffix)
}

//go:embed assets
var assets embed.FS

// Server serves the dashboard. It is safe for concurrent use.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	queries map[string]Query
	ln      net.Listener
	srv     *http.Server
	now     func() time.Time
	// dial connects to ClickHouse; a test replaces it.
	dial func(ctx context.Context) (querier, error)

	mu     sync.Mutex
	client querier // nil until connected, and again after losing the server

	closeOnce sync.Once
}

// querier is the part of *sinks.Client the server uses.
type querier interface {
	Query(ctx context.Context, sql string, ncols int) ([][]string, error)
	ServerVersion() sinks.Version
	Database() string
	Close() error
}

// Open checks cfg, reads the queries and listens on cfg.Listen. It does
// not connect to ClickHouse: pages do, and show the server being
// unreachable until it answers.
func Open(cfg Config, log zerolog.Logger) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	qs, err := ParseQueries(deploy.QueriesSQL)
	if err != nil {
		return nil, fmt.Errorf("reading deploy/clickhouse/queries.sql: %w", err)
	}
	s := &Server{cfg: cfg, log: log.With().Str("component", "dashboard").Logger(), queries: map[string]Query{}, now: time.Now}
	for _, q := range qs {
		s.queries[q.Name] = q
	}
	for _, p := range Pages {
		for _, n := range p.Queries {
			if _, ok := s.queries[n]; !ok {
				return nil, fmt.Errorf("page %s: queries.sql has no query %s", p.Name, n)
			}
		}
	}
	s.dial = func(ctx context.Context) (querier, error) {
		return sinks.Dial(ctx, s.cfg.ClickHouse, log) // sinks names its own component
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the dashboard's address as a browser opens it.
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// Source describes where the figures come from: the ClickHouse address
// (without its password), database and table suffix.
func (s *Server) Source() string {
	addr := s.cfg.ClickHouse.Addr
	if u, err := url.Parse(addr); err == nil {
		addr = u.Redacted()
	}
	if addr == "" {
		addr = "ClickHouse's default address"
	}
	out := addr
	if s.cfg.ClickHouse.Database != "" {
		out += ", database " + s.cfg.ClickHouse.Database
	}
	if s.cfg.ClickHouse.TableSuffix != "" {
		out += ", tables *_" + s.cfg.ClickHouse.TableSuffix
	}
	return out
}

// Run serves until ctx ends, then shuts down within 5s and returns nil.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.log.Info().Str("url", s.URL()).Str("source", s.Source()).Msg("dashboard serving")
	select {
	case err := <-errc:
		return fmt.Errorf("serving the dashboard: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(sctx)
	<-errc
	return nil
}

// Close stops serving and closes the ClickHouse client. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		_ = s.srv.Close()
		s.mu.Lock()
		if s.client != nil {
			_ = s.client.Close()
			s.client = nil
		}
		s.mu.Unlock()
	})
	return nil
}

// Handler returns the dashboard's routes: the pages (/<page>), their data
// (/api/page/<page>), /api/meta, the static assets and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/"+Pages[0].Name, http.StatusFound)
	})
	mux.HandleFunc("GET /{page}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := PageNamed(r.PathValue("page")); !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.HandleFunc("GET /api/meta", s.serveMeta)
	mux.HandleFunc("GET /api/page/{page}", s.servePage)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	return secureHeaders(mux)
}

// secureHeaders forbids scripts, styles and requests from anywhere but
// the dashboard itself.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

type pageMeta struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Period  bool   `json:"period,omitempty"`
	History bool   `json:"history,omitempty"`
	Search  bool   `json:"search,omitempty"`
}

type meta struct {
	RefreshMS     int64             `json:"refresh_ms"`
	DefaultPeriod int64             `json:"default_period_s"`
	Pages         []pageMeta        `json:"pages"`
	Titles        map[string]string `json:"titles"`
}

func (s *Server) serveMeta(w http.ResponseWriter, _ *http.Request) {
	m := meta{RefreshMS: s.cfg.Refresh.Milliseconds(),
		DefaultPeriod: int64(DefaultPeriod / time.Second), Titles: map[string]string{}}
	for _, p := range Pages {
		m.Pages = append(m.Pages, pageMeta{Name: p.Name, Title: p.Title, Period: p.Period, History: p.History, Search: p.Search})
		for _, q := range p.Queries {
			m.Titles[q] = s.queries[q].Title
		}
	}
	writeJSON(w, http.StatusOK, m)
}

// Table is one query's result.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Numeric []bool     `json:"numeric"` // per column: a number or time, not text
	Rows    [][]string `json:"rows"`
}

// Page states.
const (
	StatusOK          = "ok"          // every query ran
	StatusUnreachable = "unreachable" // ClickHouse did not answer
	StatusMissing     = "missing"     // the database or tables do not exist yet
	StatusError       = "error"       // ClickHouse answered with another error
)

// PageData is what /api/page/<page> answers.
type PageData struct {
	Page     string `json:"page"`
	Status   string `json:"status"`
	Message  string `json:"message,omitempty"`
	Server   string `json:"server,omitempty"`   // ClickHouse version
	Database string `json:"database,omitempty"` // the database read
	// Params are the values bound to the queries, as text (times RFC 3339):
	// running the same queries with them gives the same figures.
	Params  map[string]string `json:"params"`
	Results map[string]*Table `json:"results"`
	Nodes   []NodeReport      `json:"nodes,omitempty"`
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	p, ok := PageNamed(r.PathValue("page"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no page " + r.PathValue("page")})
		return
	}
	args, err := p.args(r.URL.Query(), s.now())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.Load(r.Context(), p, args))
}

// Load runs p's queries with args and reports the page's state: figures,
// or why there are none.
func (s *Server) Load(ctx context.Context, p Page, args Args) *PageData {
	d := &PageData{Page: p.Name, Status: StatusOK, Params: map[string]string{}, Results: map[string]*Table{}}
	for k, v := range args {
		switch v := v.(type) {
		case time.Time:
			d.Params[k] = v.UTC().Format(time.RFC3339)
		default:
			d.Params[k] = fmt.Sprint(v)
		}
	}
	if p.Nodes {
		d.Nodes = s.nodeReports(ctx)
	}
	c, err := s.connect(ctx)
	if err != nil {
		d.Status, d.Message = StatusUnreachable, fmt.Sprintf("ClickHouse is unreachable: %v", err)
		return d
	}
	d.Server, d.Database = c.ServerVersion().String(), c.Database()
	for _, name := range p.Queries {
		q := s.queries[name]
		sql, err := q.Bind(d.Database, s.cfg.ClickHouse.TableSuffix, args)
		if err != nil {
			// Pages and queries are checked against each other by tests.
			d.Status, d.Message = StatusError, err.Error()
			return d
		}
		rows, err := c.Query(ctx, sql, len(q.Columns))
		if err != nil {
			d.Status, d.Message = s.classify(c, err, d.Database)
			d.Results = map[string]*Table{}
			return d
		}
		if rows == nil {
			rows = [][]string{}
		}
		d.Results[name] = &Table{Title: q.Title, Columns: q.Columns, Numeric: q.Numeric, Rows: rows}
	}
	return d
}

// connect returns the ClickHouse client, dialling it when there is none.
func (s *Server) connect(ctx context.Context) (querier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	c, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	s.client = c
	return c, nil
}

// classify turns a query error into a page state. An error the server
// did not send (a refused or broken connection, a timeout) drops the
// client, so the next request dials again.
func (s *Server) classify(c querier, err error, database string) (status, msg string) {
	var se *sinks.ServerError
	var ce *ch.Exception
	switch {
	case errors.As(err, &se):
		if se.Code == int(proto.ErrUnknownTable) || se.Code == int(proto.ErrUnknownDatabase) {
			return StatusMissing, missing(database, se.Message)
		}
		return StatusError, err.Error()
	case errors.As(err, &ce):
		if ce.IsCode(proto.ErrUnknownTable, proto.ErrUnknownDatabase) {
			return StatusMissing, missing(database, ce.Message)
		}
		return StatusError, err.Error()
	}
	s.mu.Lock()
	if s.client == c {
		_ = c.Close()
		s.client = nil
	}
	s.mu.Unlock()
	return StatusUnreachable, fmt.Sprintf("ClickHouse is unreachable: %v", err)
}

func missing(database, why string) string {
	return fmt.Sprintf("no drivetrain tables in database %s yet (%s): a node (drivetrain run) creates them when it starts",
		database, strings.TrimSpace(why))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
