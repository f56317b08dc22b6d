package sinks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigEndpoint(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want endpoint // compared field by field below (cfg ignored)
	}{
		{
			name: "zero value",
			in:   Config{},
			want: endpoint{native: true, scheme: "clickhouse", host: "127.0.0.1:9000", database: "drivetrain"},
		},
		{
			name: "native with user, database path and TLS",
			in:   Config{Addr: "clickhouse://bob:s3cret@ch.example.com/analytics?secure=true&skip_verify=1"},
			want: endpoint{native: true, scheme: "clickhouse", host: "ch.example.com:9440", user: "bob", password: "s3cret",
				database: "analytics", secure: true, tls: TLSConfig{InsecureSkipVerify: true}},
		},
		{
			name: "native TLS fields imply secure",
			in:   Config{Addr: "clickhouse://h:9001", TLS: TLSConfig{ServerName: "x"}},
			want: endpoint{native: true, scheme: "clickhouse", host: "h:9001", database: "drivetrain", secure: true, tls: TLSConfig{ServerName: "x"}},
		},
		{
			name: "http with database parameter",
			in:   Config{Addr: "http://127.0.0.1:18123/?database=dt"},
			want: endpoint{scheme: "http", host: "127.0.0.1:18123", path: "/", database: "dt"},
		},
		{
			name: "https proxy path, fields override the URL",
			in: Config{Addr: "https://u:p@proxy.example.com/clickhouse", Database: "other", User: "alice", Password: "pw",
				TableSuffix: "replay_2", Compression: "LZ4"},
			want: endpoint{scheme: "https", host: "proxy.example.com:8443", path: "/clickhouse/", user: "alice", password: "pw",
				database: "other", secure: true, suffix: "replay_2", lz4: true},
		},
		{
			name: "a password without a user is user default's",
			in:   Config{Addr: "http://h", Password: "pw"},
			want: endpoint{scheme: "http", host: "h:8123", path: "/", user: "default", password: "pw", database: "drivetrain"},
		},
		{
			name: "a URL password without a user is user default's",
			in:   Config{Addr: "clickhouse://:pw@h"},
			want: endpoint{native: true, scheme: "clickhouse", host: "h:9000", user: "default", password: "pw", database: "drivetrain"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.in
			cfg.setDefaults()
			got, err := cfg.endpoint()
			require.NoError(t, err)
			got.cfg = Config{}
			assert.Equal(t, tt.want, *got)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.setDefaults()
	assert.Equal(t, DefaultAddr, c.Addr)
	assert.Equal(t, DefaultQueryTimeout, c.QueryTimeout)
	assert.Equal(t, DefaultBatchRows, c.Batch.MaxRows)
	assert.Equal(t, DefaultBatchBytes, c.Batch.MaxBytes)
	assert.Equal(t, 200*time.Millisecond, c.Batch.MaxDelay)
	assert.Equal(t, time.Second, c.Batch.CatchUpDelay)
	assert.Equal(t, 100*time.Millisecond, c.Retry.InitialBackoff)
	assert.NoError(t, Config{}.Validate())
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Config
		wantErr string
	}{
		{"bad scheme", Config{Addr: "tcp://h:9000"}, `Addr: unsupported scheme "tcp"`},
		{"scheme error hides password", Config{Addr: "ftp://u:hunter2@h"}, "ftp://u:xxxxx@h"},
		{"no host", Config{Addr: "http:///x"}, "Addr: no host"},
		{"bad port", Config{Addr: "http://h:99999"}, `Addr: bad port "99999"`},
		{"unknown parameter", Config{Addr: "http://h/?user=x"}, `Addr: unknown parameter "user"`},
		{"secure not bool", Config{Addr: "clickhouse://h?secure=maybe"}, `Addr: secure="maybe" is not a boolean`},
		{"secure on http", Config{Addr: "http://h?secure=true"}, "contradicts the http scheme"},
		{"database twice", Config{Addr: "clickhouse://h/a?database=b"}, "database named twice"},
		{"bad database", Config{Database: "drop table"}, `Database: "drop table" is not a plain identifier`},
		{"bad suffix", Config{TableSuffix: "a-b"}, "TableSuffix"},
		{"TLS on plain http", Config{Addr: "http://h", TLS: TLSConfig{CAFile: "ca.pem"}}, "TLS: set for a plain http:// address"},
		{"cert without key", Config{TLS: TLSConfig{CertFile: "c.pem"}}, "TLS: CertFile and KeyFile go together"},
		{"compression", Config{Compression: "zstd"}, `Compression: "zstd" is not none or lz4`},
		{"negative timeout", Config{QueryTimeout: -time.Second}, "QueryTimeout: -1s is negative"},
		{"negative conns", Config{MaxConns: -1}, "MaxConns"},
		{"negative rows", Config{Batch: BatchConfig{MaxRows: -1}}, "Batch.MaxRows"},
		{"negative delay", Config{Batch: BatchConfig{MaxDelay: -1}}, "Batch.MaxDelay"},
		{"negative catch-up delay", Config{Batch: BatchConfig{CatchUpDelay: -1}}, "Batch.CatchUpDelay"},
		{"backoff order", Config{Retry: RetryConfig{InitialBackoff: time.Minute, MaxBackoff: time.Second}}, "Retry.MaxBackoff"},
		{"negative elapsed", Config{Retry: RetryConfig{MaxElapsed: -1}}, "Retry.MaxElapsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "hunter2")
			assert.False(t, IsRetryable(err))
		})
	}
}

func TestConfigStringHidesSecrets(t *testing.T) {
	tests := []Config{
		{Addr: "clickhouse://bob:hunter2@h:9000/db"},
		{Addr: "https://bob:hunter2@h/?database=db"},
		{Addr: "http://h", User: "bob", Password: "hunter2"},
		{Addr: "http://bob:hunter2@h", Compression: "bogus"}, // invalid: still redacted
		{Addr: "::hunter2"},
	}
	for _, c := range tests {
		s := c.String()
		assert.NotContains(t, s, "hunter2")
		assert.NotEmpty(t, s)
	}
	assert.Equal(t, "clickhouse://bob@h:9000/db", Config{Addr: "clickhouse://bob:hunter2@h:9000/db"}.String())
	assert.Equal(t, "https://h:8443/?database=drivetrain (table suffix r1)", Config{Addr: "https://h", TableSuffix: "r1"}.String())
}

func TestTLSConfig(t *testing.T) {
	c := Config{Addr: "https://ch.example.com", TLS: TLSConfig{ServerName: "other", InsecureSkipVerify: true}}
	c.setDefaults()
	e, err := c.endpoint()
	require.NoError(t, err)
	tc, err := e.tlsConfig()
	require.NoError(t, err)
	assert.Equal(t, "other", tc.ServerName)
	assert.True(t, tc.InsecureSkipVerify)

	c = Config{Addr: "https://ch.example.com", TLS: TLSConfig{CAFile: "/nonexistent/ca.pem"}}
	c.setDefaults()
	e, err = c.endpoint()
	require.NoError(t, err)
	_, err = e.tlsConfig()
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "TLS.CAFile")

	c = Config{Addr: "http://h"}
	c.setDefaults()
	e, err = c.endpoint()
	require.NoError(t, err)
	tc, err = e.tlsConfig()
	require.NoError(t, err)
	assert.Nil(t, tc)
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr bool
	}{
		{in: "18.16.1", want: Version{18, 16, 1}},
		{in: "24.8.4.13\n", want: Version{24, 8, 4}},
		{in: "21.9", want: Version{21, 9, 0}},
		{in: "x.1", wantErr: true},
		{in: "24", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if tt.wantErr {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got)
	}
	assert.Equal(t, legacyLayout, layoutFor(Version{18, 16, 1}))
	assert.Equal(t, layout{micros: true}, layoutFor(Version{20, 3, 0}))
	assert.Equal(t, modernLayout, layoutFor(Version{21, 9, 0}))
	assert.Equal(t, modernLayout, layoutFor(Version{24, 8, 4}))
	assert.Equal(t, []layout{legacyLayout}, layoutsFor(Version{18, 16, 1}))
	assert.Equal(t, []layout{{micros: true}, legacyLayout}, layoutsFor(Version{20, 3, 0}))
	assert.Equal(t, []layout{modernLayout, {micros: true}, {date32: true}, legacyLayout}, layoutsFor(Version{24, 1, 0}))
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(path, []byte("s3cret\n"), 0o600))
	e, err := Config{Addr: "http://h:8123", PasswordFile: path}.WithDefaults().endpoint()
	require.NoError(t, err)
	assert.Equal(t, "s3cret", e.password)

	e, err = Config{Addr: "http://h:8123", PasswordFile: path, Password: "explicit"}.WithDefaults().endpoint()
	require.NoError(t, err)
	assert.Equal(t, "explicit", e.password, "Password wins")

	_, err = Config{Addr: "http://h:8123", PasswordFile: filepath.Join(dir, "missing")}.WithDefaults().endpoint()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PasswordFile")
	assert.NotContains(t, Config{Addr: "http://h:8123", PasswordFile: path}.String(), "s3cret")
}

// TestDialPasswordWithoutUser dials a stand-in for ClickHouse's HTTP
// interface that, as the real one does, rejects a key sent without a user
// ("Unknown user"): a password alone is user default's.
func TestDialPasswordWithoutUser(t *testing.T) {
	var mu sync.Mutex
	var users []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, key := r.Header.Get("X-ClickHouse-User"), r.Header.Get("X-ClickHouse-Key")
		mu.Lock()
		users = append(users, user)
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		switch {
		case user == "" && key != "":
			w.Header().Set("X-ClickHouse-Exception-Code", "192")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "Code: 192, e.displayText() = DB::Exception: Unknown user , e.what() = DB::Exception\n")
		case user != "default" || key != "s3cret":
			w.Header().Set("X-ClickHouse-Exception-Code", "193")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "Code: 193, e.displayText() = DB::Exception: Wrong password for user "+user+", e.what() = DB::Exception\n")
		default:
			_, _ = io.WriteString(w, "18.16.1\n")
		}
	}))
	t.Cleanup(srv.Close)

	for name, cfg := range map[string]Config{
		"password field": {Addr: srv.URL, Password: "s3cret"},
		"password file":  {Addr: srv.URL, PasswordFile: writePassword(t, "s3cret\n")},
		"URL password":   {Addr: strings.Replace(srv.URL, "http://", "http://:s3cret@", 1)},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Dial(context.Background(), cfg, zerolog.Nop())
			require.NoError(t, err)
			assert.NoError(t, c.Close())
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range users {
		assert.Equal(t, "default", u, "X-ClickHouse-User")
	}
}

func writePassword(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestCheckName(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen+1)
	tests := []struct {
		name    string
		kind    NameKind
		in      string
		wantErr string // "" when valid
	}{
		{"plain database", Identifier, "drivetrain", ""},
		{"underscores and digits", Identifier, "_e2e_1796663602", ""},
		{"longest", Identifier, long[:MaxNameLen], ""},
		{"suffix of digits", Suffix, "2024", ""},
		{"no suffix", Suffix, "", ""},
		{"empty database", Identifier, "", "it is empty"},
		{"leading digit", Identifier, "1db", "it starts with a digit"},
		{"statement injection", Identifier, "x; DROP DATABASE drivetrain", "characters other than"},
		{"comment", Identifier, "drivetrain--", "characters other than"},
		{"qualified name", Identifier, "system.tables", "characters other than"},
		{"backquote", Identifier, "a`b", "characters other than"},
		{"double quote", Identifier, `a"b`, "characters other than"},
		{"space", Suffix, "r1 r2", "characters other than"},
		{"newline", Suffix, "r1\nDROP", "characters other than"},
		{"NUL", Identifier, "db\x00", "characters other than"},
		{"non-ASCII letter", Identifier, "drivetraín", "characters other than"},
		{"look-alike digit", Suffix, "r\u0661", "characters other than"},
		{"too long", Identifier, long, "longer than 64 bytes"},
		{"suffix injection", Suffix, "x FORMAT Native", "characters other than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckName("--database", tt.kind, tt.in)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			msg := err.Error()
			assert.Contains(t, msg, tt.wantErr)
			assert.True(t, strings.HasPrefix(msg, "--database: "), "names the field: %s", msg)
			assert.NotContains(t, msg, "\n", "one line")
			assert.NotContains(t, msg, "\x00")
			assert.LessOrEqual(t, len(msg), 250, "a hostile name does not flood the message")
		})
	}
}

func TestConfigRejectsHostileNames(t *testing.T) {
	for _, c := range []Config{
		{Database: "drivetrain; DROP TABLE x"},
		{Addr: "clickhouse://h/db%3BDROP"},
		{Addr: "http://h/?database=a%20b"},
		{TableSuffix: "r1; DROP DATABASE drivetrain"},
		{TableSuffix: strings.Repeat("r", 100)},
	} {
		err := c.Validate()
		require.Error(t, err, "%+v", c)
		assert.ErrorIs(t, err, ErrInvalidConfig)
		assert.Regexp(t, `^invalid clickhouse config: (Database|TableSuffix): `, err.Error())
	}
}
