package sinks

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config configures the ClickHouse client, its writers and batchers. The
// zero value works (a native connection to 127.0.0.1:9000, database
// drivetrain); every field documents its default. Fields set here override
// what Addr says.
type Config struct {
	// Addr is the server's URL; the scheme chooses the transport:
	//
	//	clickhouse://[user[:password]@]host[:port][/database][?secure=true&skip_verify=true]
	//	http(s)://[user[:password]@]host[:port][/path][?database=db&skip_verify=true]
	//
	// clickhouse:// speaks the native TCP protocol (ch-go's client; port
	// 9000, 9440 with secure=true) and needs a server of 2020 or later;
	// http:// and https:// post Native-format blocks to the HTTP interface
	// (ports 8123 and 8443), which works with every server from 18.16 on,
	// ClickHouse Cloud and HTTP proxies (a path is kept as the proxy's
	// prefix). Default clickhouse://127.0.0.1:9000.
	Addr string `yaml:"addr"`
	// Database holds the output tables; default the URL's database, else
	// "drivetrain". Created if missing.
	Database string `yaml:"database"`
	// User and Password authenticate; default the URL's user info, else
	// user "default" with no password. A password without a user is the
	// password of user "default" (ClickHouse's HTTP interface would
	// otherwise answer "Unknown user"). Never logged.
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// PasswordFile names a file holding the password (a trailing newline
	// is ignored), such as a mounted Kubernetes secret; read when the
	// client dials. Password, when set, wins.
	PasswordFile string `yaml:"password_file"`
	// TableSuffix, when set, is appended to every output table name with
	// an underscore (sales_facts_<suffix>, customers_<suffix>, …): replays
	// into fresh tables use it. ASCII letters, digits and underscores (see
	// CheckName).
	TableSuffix string `yaml:"table_suffix"`
	// TLS configures encryption: used with https:// and with
	// clickhouse://…?secure=true (or when any TLS field is set).
	TLS TLSConfig `yaml:"tls"`
	// Compression of inserted blocks: "none" (default; best on loopback
	// and fast networks) or "lz4" (ClickHouse's own block compression on
	// both transports; worth it over slower links).
	Compression string `yaml:"compression"`
	// DialTimeout bounds connecting (TCP, TLS, handshake); default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// QueryTimeout bounds each attempt of a query or insert; default 60s.
	QueryTimeout time.Duration `yaml:"query_timeout"`
	// MaxConns bounds the connections kept open (native: the pool of
	// ch-go clients; HTTP: idle keep-alive connections); default 8.
	MaxConns int `yaml:"max_conns"`
	// Batch sizes the batches of a Batcher.
	Batch BatchConfig `yaml:"batch"`
	// Retry paces the retries of transient insert errors.
	Retry RetryConfig `yaml:"retry"`
}

// TLSConfig configures TLS. The zero value verifies the server against the
// system's roots.
type TLSConfig struct {
	// CAFile is a PEM file of roots to verify the server with, instead of
	// the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// servers that authenticate clients by certificate.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name verified in the server's certificate;
	// default the URL's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables verification of the server's
	// certificate (tests only). Also set by skip_verify=true in Addr.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

func (t TLSConfig) isSet() bool { return t != TLSConfig{} }

// Defaults of Config.
const (
	DefaultAddr         = "clickhouse://127.0.0.1:9000"
	DefaultDatabase     = "drivetrain"
	DefaultDialTimeout  = 5 * time.Second
	DefaultQueryTimeout = 60 * time.Second
	DefaultMaxConns     = 8
)

// ErrInvalidConfig is wrapped by the errors of Config.Validate and Dial
// when the configuration is unusable; such errors are permanent.
var ErrInvalidConfig = errors.New("invalid clickhouse config")

// NameKind is what a name checked by CheckName stands for in SQL.
type NameKind int

const (
	// Identifier is a whole unquoted identifier, such as a database name:
	// it must not be empty nor start with a digit.
	Identifier NameKind = iota
	// Suffix is appended to table names after an underscore
	// (Config.TableSuffix): it may start with a digit, and empty means none.
	Suffix
)

// MaxNameLen bounds the names CheckName accepts, in bytes: ClickHouse keeps
// databases and tables as directories and files, whose names are limited
// (255 bytes on most filesystems, with room left for the table name a
// suffix is appended to).
const MaxNameLen = 64

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_]*$`)

// CheckName reports whether name can be written into SQL unquoted as kind:
// ASCII letters, digits and underscores only, at most MaxNameLen bytes, and
// for an Identifier not empty and not starting with a digit. drivetrain
// writes database names and table suffixes into its statements unquoted,
// so every such name goes through CheckName before any SQL is built from
// it. The error is one line naming field (a flag or a config field) and
// quoting name.
func CheckName(field string, kind NameKind, name string) error {
	var why string
	switch {
	case kind == Identifier && name == "":
		why = "it is empty"
	case len(name) > MaxNameLen:
		why = fmt.Sprintf("it is longer than %d bytes", MaxNameLen)
	case !nameRe.MatchString(name):
		why = "it has characters other than ASCII letters, digits and underscores"
	case kind == Identifier && name[0] >= '0' && name[0] <= '9':
		why = "it starts with a digit"
	default:
		return nil
	}
	what := "a plain identifier"
	if kind == Suffix {
		what = "a plain table suffix"
	}
	shown := name
	if len(shown) > MaxNameLen {
		shown = shown[:MaxNameLen] + "…"
	}
	return fmt.Errorf("%s: %q is not %s: %s", field, shown, what, why)
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	c.Batch.setDefaults()
	c.Retry.setDefaults()
}

// WithDefaults returns c with every unset field at its default (what Dial
// uses), for showing the effective configuration.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

// Validate reports the first invalid field, by name, after applying the
// defaults. It does not read the TLS files (Dial does).
func (c Config) Validate() error {
	c.setDefaults()
	_, err := c.endpoint()
	return err
}

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
}

// String describes c without its password.
func (c Config) String() string {
	c.setDefaults()
	e, err := c.endpoint()
	if err != nil {
		return "clickhouse(" + redactAddr(c.Addr) + ")"
	}
	return e.String()
}

// redactAddr returns addr with any password replaced, for messages.
func redactAddr(addr string) string {
	u, err := url.Parse(addr)
	if err != nil {
		// Unparsable: show nothing that could be a secret.
		return "<unparsable address>"
	}
	return u.Redacted()
}

// endpoint is a Config resolved against its Addr.
type endpoint struct {
	native   bool   // clickhouse:// (else HTTP)
	scheme   string // clickhouse, http or https
	host     string // host:port
	path     string // HTTP base path ("/" or a proxy prefix ending in "/")
	user     string
	password string
	database string
	suffix   string
	secure   bool
	tls      TLSConfig
	lz4      bool
	cfg      Config // with defaults
}

// String describes e without its password.
func (e *endpoint) String() string {
	u := url.URL{Scheme: e.scheme, Host: e.host}
	if e.user != "" {
		u.User = url.User(e.user)
	}
	if e.native {
		u.Path = "/" + e.database
	} else {
		u.Path = e.path
		u.RawQuery = "database=" + e.database
	}
	if e.native && e.secure {
		u.RawQuery = "secure=true"
	}
	s := u.String()
	if e.suffix != "" {
		s += " (table suffix " + e.suffix + ")"
	}
	return s
}

// endpoint resolves c (with defaults applied) into an endpoint, checking
// every field.
func (c Config) endpoint() (*endpoint, error) {
	u, err := url.Parse(c.Addr)
	if err != nil {
		return nil, invalid("Addr", "not a URL (want clickhouse://host:9000 or http(s)://host:8123)")
	}
	e := &endpoint{scheme: strings.ToLower(u.Scheme), cfg: c, tls: c.TLS, suffix: c.TableSuffix}
	defaultPort := ""
	switch e.scheme {
	case "clickhouse":
		e.native = true
	case "http":
		defaultPort = "8123"
	case "https":
		e.secure = true
		defaultPort = "8443"
	default:
		return nil, invalid("Addr", "unsupported scheme %q in %s (want clickhouse, http or https)", u.Scheme, u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, invalid("Addr", "no host in %s", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, invalid("Addr", "bad port %q", p)
		}
	}
	if u.User != nil {
		e.user = u.User.Username()
		e.password, _ = u.User.Password()
	}
	q := u.Query()
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "database":
			e.database = v
		case "secure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, invalid("Addr", "secure=%q is not a boolean", v)
			}
			if !e.native && b != e.secure {
				return nil, invalid("Addr", "secure=%s contradicts the %s scheme (use https:// for TLS)", v, e.scheme)
			}
			e.secure = b
		case "skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, invalid("Addr", "skip_verify=%q is not a boolean", v)
			}
			e.tls.InsecureSkipVerify = e.tls.InsecureSkipVerify || b
		default:
			return nil, invalid("Addr", "unknown parameter %q (known: database, secure, skip_verify)", k)
		}
	}
	if e.native {
		if db := strings.Trim(u.Path, "/"); db != "" {
			if e.database != "" && e.database != db {
				return nil, invalid("Addr", "database named twice (path %q, parameter %q)", db, e.database)
			}
			e.database = db
		}
		if c.TLS.isSet() {
			e.secure = true
		}
		defaultPort = "9000"
		if e.secure {
			defaultPort = "9440"
		}
	} else {
		e.path = u.Path
		if !strings.HasSuffix(e.path, "/") {
			e.path += "/"
		}
		if !e.secure && c.TLS.isSet() {
			return nil, invalid("TLS", "set for a plain http:// address (use https://)")
		}
	}
	e.host = u.Host
	if u.Port() == "" {
		e.host = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	if c.User != "" {
		e.user = c.User
	}
	if c.Password == "" && c.PasswordFile != "" {
		data, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, invalid("PasswordFile", "%v", err)
		}
		e.password = strings.TrimRight(string(data), "\r\n")
	}
	if c.Password != "" {
		e.password = c.Password
	}
	if e.user == "" && e.password != "" {
		// The native protocol sends "default" for an empty user, the HTTP
		// interface does not: without X-ClickHouse-User it rejects the key
		// with "Unknown user".
		e.user = "default"
	}
	if c.Database != "" {
		e.database = c.Database
	}
	if e.database == "" {
		e.database = DefaultDatabase
	}
	if err := CheckName("Database", Identifier, e.database); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := CheckName("TableSuffix", Suffix, c.TableSuffix); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return nil, invalid("TLS", "CertFile and KeyFile go together")
	}
	switch strings.ToLower(c.Compression) {
	case "none":
	case "lz4":
		e.lz4 = true
	default:
		return nil, invalid("Compression", "%q is not none or lz4", c.Compression)
	}
	switch {
	case c.DialTimeout < 0:
		return nil, invalid("DialTimeout", "%v is negative", c.DialTimeout)
	case c.QueryTimeout < 0:
		return nil, invalid("QueryTimeout", "%v is negative", c.QueryTimeout)
	case c.MaxConns < 0:
		return nil, invalid("MaxConns", "%d is negative", c.MaxConns)
	}
	if err := c.Batch.validate(); err != nil {
		return nil, err
	}
	if err := c.Retry.validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// tlsConfig builds the *tls.Config of e, or nil without TLS.
func (e *endpoint) tlsConfig() (*tls.Config, error) {
	if !e.secure {
		return nil, nil
	}
	host, _, _ := net.SplitHostPort(e.host)
	cfg, err := e.tls.Build(host)
	var fe *TLSFieldError
	if errors.As(err, &fe) {
		return nil, invalid("TLS."+fe.Field, "%v", fe.Err)
	}
	return cfg, err
}

// TLSFieldError is an error of TLSConfig.Build about one field: Field is
// its Go name (CAFile, CertFile), YAML its key (ca_file, cert_file).
type TLSFieldError struct {
	Field, YAML string
	Err         error
}

func (e *TLSFieldError) Error() string { return e.YAML + ": " + e.Err.Error() }

func (e *TLSFieldError) Unwrap() error { return e.Err }

// Build returns the *tls.Config t describes, verifying serverName unless
// t.ServerName overrides it. Errors name the YAML field. The node's Kafka
// clients use it too.
func (t TLSConfig) Build(serverName string) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as for tests
	}
	if t.ServerName != "" {
		cfg.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, &TLSFieldError{Field: "CAFile", YAML: "ca_file", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &TLSFieldError{Field: "CAFile", YAML: "ca_file", Err: fmt.Errorf("no PEM certificate in %s", t.CAFile)}
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, &TLSFieldError{Field: "CertFile", YAML: "cert_file", Err: errors.New("cert_file and key_file go together")}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, &TLSFieldError{Field: "CertFile", YAML: "cert_file", Err: err}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
