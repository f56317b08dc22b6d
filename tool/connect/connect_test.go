package connect

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/tool/connect/connecttest"
)

func TestRegister(t *testing.T) {
	tests := []struct {
		name         string
		states       []string
		wantErr      string
		wantRestarts int
		wantOut      string
		wantErrOut   string
	}{
		{name: "becomes running", states: []string{"", "UNASSIGNED", "RUNNING"}, wantOut: "RUNNING with 1 task(s) on w1"},
		{name: "failed once then restarted", states: []string{"FAILED", "RUNNING"}, wantRestarts: 1, wantOut: "RUNNING"},
		{name: "keeps failing prints trace and hint", states: []string{"FAILED"}, wantRestarts: 1, wantErr: "failed (trace above)",
			wantErrOut: "hint: database.password is " + PasswordRef + ", which the Connect worker resolves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &connecttest.Fake{States: tt.states}
			srv := httptest.NewServer(fc)
			defer srv.Close()
			cc, err := NewClient(srv.URL + "/")
			require.NoError(t, err)
			cf, err := LoadFile("")
			require.NoError(t, err)
			var out, errOut bytes.Buffer
			err = Register(context.Background(), &out, &errOut, cc, cf, 20*time.Second)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Contains(t, errOut.String(), "password authentication failed")
			} else {
				require.NoError(t, err)
			}
			assert.Contains(t, out.String(), tt.wantOut)
			assert.Contains(t, errOut.String(), tt.wantErrOut)
			config, restarts := fc.Snapshot()
			assert.Equal(t, tt.wantRestarts, restarts)
			assert.Equal(t, cf.Config, config, "the file's config is sent as it is")
		})
	}
}

func TestRegisterTimesOutNamingTheState(t *testing.T) {
	srv := httptest.NewServer(&connecttest.Fake{States: []string{"UNASSIGNED"}})
	defer srv.Close()
	cc, err := NewClient(srv.URL)
	require.NoError(t, err)
	var out bytes.Buffer
	err = Register(context.Background(), &out, &out, cc, &File{Name: "x", Config: map[string]string{"a": "b"}}, time.Second)
	require.ErrorContains(t, err, "not RUNNING after 1s (connector RUNNING, task 0 UNASSIGNED)")
}

func TestClientErrors(t *testing.T) {
	_, err := NewClient("ftp://connect:8083")
	require.ErrorContains(t, err, "--connect")
	srv := httptest.NewServer(&connecttest.Fake{States: []string{""}})
	defer srv.Close()
	cc, err := NewClient(srv.URL)
	require.NoError(t, err)
	_, err = cc.Status(context.Background(), "missing")
	assert.True(t, errors.Is(err, ErrNotFound), "%v", err)
	srv.Close()
	_, err = cc.Status(context.Background(), "missing")
	assert.ErrorContains(t, err, "is unreachable")
}

func TestStatusWrite(t *testing.T) {
	var st Status
	st.Name = "c"
	st.Connector.State, st.Connector.WorkerID = "RUNNING", "w1"
	st.Tasks = append(st.Tasks, struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	}{ID: 1, State: "FAILED", WorkerID: "w2", Trace: "boom"}, struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	}{ID: 0, State: "RUNNING", WorkerID: "w1"})
	var b bytes.Buffer
	st.Write(&b)
	assert.Equal(t, "connector c: RUNNING (worker w1)\n  task 0: RUNNING (worker w1)\n  task 1: FAILED (worker w2)\ntask 1 of c FAILED:\nboom\n", b.String())
	assert.False(t, st.Running())
	assert.Equal(t, "connector RUNNING, task 1 FAILED, task 0 RUNNING", st.Describe())
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret\r\n"), 0o600))
	got, err := ReadPasswordFile(pw)
	require.NoError(t, err)
	assert.Equal(t, "s3cret", got)
	require.NoError(t, os.WriteFile(pw, []byte("\n"), 0o600))
	_, err = ReadPasswordFile(pw)
	assert.ErrorContains(t, err, "is empty")

	bad := filepath.Join(dir, "c.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"name":"x"}`), 0o600))
	_, err = LoadFile(bad)
	assert.ErrorContains(t, err, `--file: `+bad+` must hold {"name": …, "config": {…}}`)

	assert.True(t, IsConfigRef("${file:/etc/secrets.properties:password}"))
	assert.False(t, IsConfigRef("s3cret${env:X}"))
}
