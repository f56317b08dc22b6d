//go:build integration

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/bench/workload"
	"github.com/drivetrain-cdc/drivetrain/tool/config"
	"github.com/drivetrain-cdc/drivetrain/tool/observe"
)

// saslListener is the local stack's SASL_SSL listener (deploy/local/stack.sh)
// and a SCRAM-SHA-512 user this test made on it.
type saslListener struct {
	addr, caFile    string
	user, password  string
	plainBrokers    []string
	passwordFile    string
	admin           *kadm.Client
	adminCl         *kgo.Client
	configDir       string
	wrongConfigPath string
}

// newSASLListener creates a SCRAM-SHA-512 user through the admin API over
// the plaintext listener, deleted at the end, and waits until the SASL_SSL
// listener accepts it. It skips when the stack's addresses are not set.
func newSASLListener(ctx context.Context, t *testing.T) *saslListener {
	t.Helper()
	addr, caFile := os.Getenv("DRIVETRAIN_TEST_KAFKA_SASL_SSL"), os.Getenv("DRIVETRAIN_TEST_KAFKA_CA_FILE")
	plain := os.Getenv("DRIVETRAIN_KAFKA_BROKERS")
	if addr == "" || caFile == "" || plain == "" {
		t.Skip("DRIVETRAIN_TEST_KAFKA_SASL_SSL, DRIVETRAIN_TEST_KAFKA_CA_FILE and DRIVETRAIN_KAFKA_BROKERS are not all set; run `make stack-up && source .stack/env` (make test does it)")
	}
	secret := make([]byte, 16)
	_, err := rand.Read(secret)
	require.NoError(t, err)
	l := &saslListener{
		addr: addr, caFile: caFile, plainBrokers: strings.Split(plain, ","),
		user:     "drivetrain-it-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		password: hex.EncodeToString(secret), configDir: t.TempDir(),
	}
	l.adminCl, err = kgo.NewClient(kgo.SeedBrokers(l.plainBrokers...))
	require.NoError(t, err)
	t.Cleanup(l.adminCl.Close)
	l.admin = kadm.NewClient(l.adminCl)
	// One credential per mechanism the listener offers; a request names a
	// user once.
	for _, m := range []kadm.ScramMechanism{kadm.ScramSha512, kadm.ScramSha256} {
		res, err := l.admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: l.user, Mechanism: m, Iterations: 4096, Password: l.password}})
		require.NoError(t, err)
		require.NoError(t, res.Error())
		t.Cleanup(func() {
			_, _ = l.admin.AlterUserSCRAMs(context.Background(), []kadm.DeleteSCRAM{{User: l.user, Mechanism: m}}, nil)
		})
	}

	l.passwordFile = filepath.Join(l.configDir, "kafka-password")
	require.NoError(t, os.WriteFile(l.passwordFile, []byte(l.password+"\n"), 0o600))
	wrongFile := filepath.Join(l.configDir, "wrong-password")
	require.NoError(t, os.WriteFile(wrongFile, []byte("not-"+l.password+"\n"), 0o600))
	l.wrongConfigPath = l.writeConfig(t, "wrong.yaml", "SCRAM-SHA-512", wrongFile)

	// The broker applies a new credential from the metadata log: wait
	// until the listener accepts it.
	k := config.Kafka{Brokers: []string{addr}, ClientID: "sasl-it",
		TLS:  config.KafkaTLS{CAFile: caFile},
		SASL: config.SASL{Mechanism: "SCRAM-SHA-512", User: l.user, PasswordFile: l.passwordFile}}
	opts, err := k.ClientOpts()
	require.NoError(t, err)
	require.NoError(t, waitFor(ctx, time.Minute, func(ctx context.Context) (bool, string) {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return false, err.Error()
		}
		defer cl.Close()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := cl.Ping(pctx); err != nil {
			return false, err.Error()
		}
		return true, ""
	}), "the SASL_SSL listener %s does not accept the new user", addr)
	return l
}

// writeConfig writes a configuration file whose kafka section reaches the
// SASL_SSL listener with the CA and the user, by mechanism, the password
// read from passwordFile.
func (l *saslListener) writeConfig(t *testing.T, name, mechanism, passwordFile string) string {
	t.Helper()
	path := filepath.Join(l.configDir, name)
	body := fmt.Sprintf(`kafka:
  brokers: [%s]
  client_id: drivetrain-sasl-it
  tls:
    ca_file: %s
  sasl:
    mechanism: %s
    user: %s
    password_file: %s
`, l.addr, l.caFile, mechanism, l.user, passwordFile)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

// TestIntegrationKafkaSASLSSL runs every command that reads Kafka through
// the stack's SASL_SSL listener, configured by a --config file only (TLS
// with the stack's CA, SCRAM-SHA-512 with a user made for the test): a
// short-lived node (run) processes a workload, then status, health (also
// with SCRAM-SHA-256), inspect, connector status and replay read the same
// cluster; with a wrong password each fails, saying that authentication
// failed, and a node says so on /readyz.
func TestIntegrationKafkaSASLSSL(t *testing.T) {
	r := newPipelineRun(t, "sasl")
	ctx, database, group := r.ctx, r.database, r.group
	l := newSASLListener(ctx, t)
	cfgPath := l.writeConfig(t, "drivetrain.yaml", "SCRAM-SHA-512", l.passwordFile)
	// Only the file says where Kafka is: the stack's plaintext address in
	// the environment would win over it.
	t.Setenv("DRIVETRAIN_KAFKA_BROKERS", "")

	// run: a node reading and committing through SASL_SSL.
	node := newTestNode(t, "sasl-1", group, database, t.TempDir())
	node.args = append(node.args, "--config", cfgPath)
	node.start()
	gen, err := workload.Open(ctx, r.pgDSN, zerolog.Nop())
	require.NoError(t, err)
	defer gen.Close()
	_, err = gen.Run(ctx, workload.Options{Changes: 200, Rate: 0, Seed: uint64(r.suffix), Scale: 200})
	require.NoError(t, err)
	var last *observe.Status
	require.NoError(t, waitFor(ctx, 3*time.Minute, func(ctx context.Context) (bool, string) {
		if node.exited() {
			return false, "the node exited"
		}
		st, err := node.status(ctx)
		if err != nil {
			return false, err.Error()
		}
		last = st
		return st.Idle && st.FactsWritten > 0, fmt.Sprintf("idle %v, facts %d, lag %d, reason %q", st.Idle, st.FactsWritten, st.Lag, st.Reason)
	}))
	assert.Positive(t, last.FactsWritten)
	groups, err := l.admin.DescribeGroups(ctx, group)
	require.NoError(t, err)
	require.Len(t, groups[group].Members, 1, "the node joined its group")
	assert.Equal(t, "sasl-1", groups[group].Members[0].ClientID)

	// status: the group seen through SASL_SSL.
	stdout, stderr, code := runCLI(t, "status", "--config", cfgPath, "--group", group, "--nodes", node.url, "--json")
	require.Zero(t, code, stderr)
	var cs observe.ClusterStatus
	require.NoError(t, json.Unmarshal([]byte(stdout), &cs), stdout)
	assert.Equal(t, "Stable", cs.State)
	assert.Len(t, cs.Members, 1)

	// health: its Kafka checks.
	stdout, _, _ = runCLI(t, "health", "--config", cfgPath)
	assert.Contains(t, stdout, "✓ Kafka reachable: "+l.addr+", ")
	assert.Contains(t, stdout, "✓ Kafka topics: ")
	stdout, _, _ = runCLI(t, "health", "--config", l.writeConfig(t, "sha256.yaml", "SCRAM-SHA-256", l.passwordFile))
	assert.Contains(t, stdout, "✓ Kafka reachable: "+l.addr+", ", "SCRAM-SHA-256 too")

	// connector status: the connector's topics.
	stdout, stderr, code = runCLI(t, "connector", "status", "--config", cfgPath)
	require.Zero(t, code, stdout+stderr)
	assert.Contains(t, stdout, "✓ Kafka reachable: "+l.addr+", ")

	// inspect: one record of a scratch topic, written over the plaintext
	// listener and read back over SASL_SSL.
	topic := "sasl_it_" + strconv.FormatInt(r.suffix, 36) + ".public.customers"
	_, err = l.admin.CreateTopic(ctx, 1, 1, nil, topic)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = l.admin.DeleteTopics(context.Background(), topic) })
	require.NoError(t, l.adminCl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(`{"id":9}`)}).FirstErr())
	stdout, stderr, code = runCLI(t, "inspect", "--config", cfgPath, "--topic", topic, "--partition", "0", "--offset", "0")
	require.Zero(t, code, stderr)
	assert.Equal(t, `{"topic":"`+topic+`","tombstone":true,"key":9}`+"\n", stdout)

	// replay: with the node stopped, a replay in place.
	node.stop()
	stdout, stderr, code = runCLI(t, "replay", "--config", cfgPath, "--group", group, "--database", database, "--state-dir", filepath.Join(t.TempDir(), "replay"))
	require.Zero(t, code, "replay:\n%s%s", stdout, stderr)
	assert.Contains(t, stdout, "replay done")

	// A wrong password: each command stops, saying so.
	for _, args := range [][]string{
		{"status", "--group", group},
		{"inspect", "--topic", topic, "--partition", "0", "--offset", "0", "--timeout", "20s"},
		{"replay", "--group", group, "--database", database, "--state-dir", filepath.Join(t.TempDir(), "wrong")},
	} {
		stdout, stderr, code := runCLI(t, append(args, "--config", l.wrongConfigPath)...)
		t.Logf("%s with a wrong password: %s", args[0], strings.TrimSpace(stderr))
		assert.NotZero(t, code, "%s with a wrong password: %s", args[0], stdout)
		assert.Contains(t, stderr, "SASL_AUTHENTICATION_FAILED", "%s names the failure", args[0])
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "%s: one line: %q", args[0], stderr)
	}
	stdout, _, code = runCLI(t, "health", "--config", l.wrongConfigPath)
	assert.NotZero(t, code)
	assert.Contains(t, stdout, "✗ Kafka reachable: "+l.addr+": ")
	assert.Contains(t, stdout, "SASL_AUTHENTICATION_FAILED")
	stdout, stderr, code = runCLI(t, "connector", "status", "--config", l.wrongConfigPath)
	assert.NotZero(t, code)
	assert.Contains(t, stdout+stderr, "SASL_AUTHENTICATION_FAILED")

	// A node with a wrong password says so on /readyz once Kafka has
	// failed its probes for ready_max_unreachable.
	wrong := newTestNode(t, "sasl-wrong", group+"-wrong", database, t.TempDir())
	wrong.args = append(wrong.args, "--config", l.wrongConfigPath, "--ready-max-unreachable", "1s")
	wrong.start()
	require.NoError(t, waitFor(ctx, time.Minute, func(ctx context.Context) (bool, string) {
		if wrong.exited() {
			return false, "the node exited"
		}
		st, err := wrong.status(ctx)
		if err != nil {
			return false, err.Error()
		}
		return !st.Ready && strings.Contains(st.Reason, "SASL_AUTHENTICATION_FAILED"), st.Reason
	}))
}
