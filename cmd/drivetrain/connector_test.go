package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/tool/connect"
	"github.com/drivetrain-cdc/drivetrain/tool/connect/connecttest"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(context.Background(), args, &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: zerolog.Nop()})
	return out.String(), errb.String(), code
}

func TestConnectorRegister(t *testing.T) {
	tests := []struct {
		name         string
		states       []string
		wantCode     int
		wantRestarts int
		wantOut      string
		wantErr      string
	}{
		{name: "becomes running", states: []string{"", "UNASSIGNED", "RUNNING"}, wantOut: "RUNNING with 1 task(s)"},
		{name: "failed once then restarted", states: []string{"FAILED", "RUNNING"}, wantRestarts: 1, wantOut: "RUNNING"},
		{name: "keeps failing prints trace", states: []string{"FAILED"}, wantCode: 1, wantRestarts: 1, wantErr: "password authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &connecttest.Fake{States: tt.states}
			srv := httptest.NewServer(fc)
			defer srv.Close()
			out, errOut, code := runCLI(t, "connector", "register", "--connect", srv.URL, "--set", "database.hostname=db.internal", "--timeout", "20s")
			require.Equal(t, tt.wantCode, code, "stdout: %s\nstderr: %s", out, errOut)
			assert.Contains(t, out, tt.wantOut)
			assert.Contains(t, errOut, tt.wantErr)
			config, restarts := fc.Snapshot()
			assert.Equal(t, tt.wantRestarts, restarts)
			assert.Equal(t, "db.internal", config["database.hostname"], "--set overrides the file")
			assert.Equal(t, "pgoutput", config["plugin.name"], "the built-in config is sent")
		})
	}
}

func TestFlagErrorsNameTheFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"connector", "register", "--timeout", "soon"}, "-timeout"},
		{[]string{"connector", "register", "--set", "novalue"}, "-set"},
		{[]string{"connector", "explode"}, `unknown action "explode"`},
		{[]string{"health", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"health", "--nope"}, "-nope"},
		{[]string{"connector", "register", "--connect", "ftp://x"}, "--connect"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut, code := runCLI(t, tt.args...)
			assert.NotZero(t, code)
			assert.Contains(t, errOut, tt.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line: %q", errOut)
		})
	}
}

func TestHelpMasksSecrets(t *testing.T) {
	t.Setenv("DRIVETRAIN_POSTGRES_DSN", "postgres://app:s3cret@db:5432/ecommerce")
	out, _, code := runCLI(t, "health", "--help")
	require.Zero(t, code)
	assert.NotContains(t, out, "s3cret")
	assert.Contains(t, out, "postgres://drivetrain:xxxxx@127.0.0.1:15432/ecommerce", "the default, masked")
}

// connectorPasswordRe finds the database password of a connector config in
// JSON, as in deploy/debezium/connector.json.
var connectorPasswordRe = regexp.MustCompile(`"database\.password"\s*:\s*"([^"]*)"`)

// TestConnectorPasswordNotStored: the connector's database password is a
// config provider reference in the repository's connector.json, in the
// config the binary embeds, and in the built binary: never the password.
func TestConnectorPasswordNotStored(t *testing.T) {
	repo, err := os.ReadFile("../../deploy/debezium/connector.json")
	require.NoError(t, err)
	var cf connect.File
	require.NoError(t, json.Unmarshal(repo, &cf))
	assert.Equal(t, connect.PasswordRef, cf.Config[connect.PasswordKey], "the repository's connector.json")
	builtIn, err := connect.LoadFile("")
	require.NoError(t, err)
	assert.Equal(t, connect.PasswordRef, builtIn.Config[connect.PasswordKey], "the built-in config")

	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "drivetrain")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	found := connectorPasswordRe.FindAllSubmatch(data, -1)
	require.NotEmpty(t, found, "the binary embeds connector.json")
	for _, m := range found {
		assert.True(t, connect.IsConfigRef(string(m[1])), "the binary holds database.password %q, not a config provider reference", m[1])
	}
}

func TestConnectorRegisterPassword(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pg-password")
	require.NoError(t, os.WriteFile(pwFile, []byte("s3cret\n"), 0o600))
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // database.password sent
		wantErr  string
	}{
		{name: "the built-in reference", want: connect.PasswordRef},
		{name: "a password file", args: []string{"--password-file", pwFile}, want: "s3cret"},
		{name: "another reference", args: []string{"--set", "database.password=${file:/etc/kafka/secrets/pg.properties:password}"},
			want: "${file:/etc/kafka/secrets/pg.properties:password}"},
		{name: "a literal warns", args: []string{"--set", "database.password=s3cret"}, want: "s3cret", wantErr: "warning: --set database.password puts the password in your shell history"},
		{name: "both", args: []string{"--set", "database.password=x", "--password-file", pwFile}, wantCode: 1, wantErr: "--password-file and --set database.password: give one"},
		{name: "missing file", args: []string{"--password-file", pwFile + ".missing"}, wantCode: 1, wantErr: "--password-file: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &connecttest.Fake{States: []string{"RUNNING"}}
			srv := httptest.NewServer(fc)
			defer srv.Close()
			out, errOut, code := runCLI(t, append([]string{"connector", "register", "--connect", srv.URL, "--timeout", "20s"}, tt.args...)...)
			require.Equal(t, tt.wantCode, code, "stdout: %s\nstderr: %s", out, errOut)
			assert.Contains(t, errOut, tt.wantErr)
			if tt.wantCode == 0 {
				config, _ := fc.Snapshot()
				assert.Equal(t, tt.want, config[connect.PasswordKey])
			}
			assert.NotContains(t, out, "s3cret", "the password is never printed")
		})
	}
}

func TestConnectorRegisterHintsAtTheProvider(t *testing.T) {
	fc := &connecttest.Fake{States: []string{"FAILED"}}
	srv := httptest.NewServer(fc)
	defer srv.Close()
	_, errOut, code := runCLI(t, "connector", "register", "--connect", srv.URL, "--timeout", "20s")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "password authentication failed")
	assert.Contains(t, errOut, "hint: database.password is "+connect.PasswordRef+", which the Connect worker resolves")
}
