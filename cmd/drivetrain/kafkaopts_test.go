package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKafkaSecurityOpts(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret\n"), 0o600))
	notPEM := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))

	tests := []struct {
		name     string
		set      func(s *kafkaSecurity)
		wantOpts int
		wantErr  string
	}{
		{name: "plaintext", set: func(*kafkaSecurity) {}, wantOpts: 0},
		{name: "tls with system roots", set: func(s *kafkaSecurity) { s.TLS.Enabled = true }, wantOpts: 1},
		{name: "scram-sha-512 with password file", set: func(s *kafkaSecurity) {
			s.SASL.Mechanism, s.SASL.User, s.SASL.PasswordFile = "scram-sha-512", "app", pw
		}, wantOpts: 1},
		{name: "tls and plain", set: func(s *kafkaSecurity) {
			s.TLS.ServerName = "kafka.internal"
			s.SASL.Mechanism, s.SASL.User, s.SASL.Password = "PLAIN", "app", "x"
		}, wantOpts: 2},
		{name: "unknown mechanism", set: func(s *kafkaSecurity) { s.SASL.Mechanism, s.SASL.User = "GSSAPI", "app" }, wantErr: "kafka.sasl.mechanism"},
		{name: "sasl without user", set: func(s *kafkaSecurity) { s.SASL.Mechanism = "SCRAM-SHA-256" }, wantErr: "kafka.sasl.user"},
		{name: "missing password file", set: func(s *kafkaSecurity) {
			s.SASL.Mechanism, s.SASL.User, s.SASL.PasswordFile = "SCRAM-SHA-256", "app", filepath.Join(dir, "none")
		}, wantErr: "kafka.sasl.password_file"},
		{name: "bad CA file", set: func(s *kafkaSecurity) { s.TLS.CAFile = notPEM }, wantErr: "kafka.tls: ca_file: no PEM certificate"},
		{name: "cert without key", set: func(s *kafkaSecurity) { s.TLS.CertFile = notPEM }, wantErr: "go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s kafkaSecurity
			tt.set(&s)
			opts, err := s.opts()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, opts, tt.wantOpts)
		})
	}
}

func TestKafkaSecurityFromEnvironment(t *testing.T) {
	t.Setenv("DRIVETRAIN_KAFKA_TLS_SERVER_NAME", "kafka.internal")
	t.Setenv("DRIVETRAIN_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
	cfg := defaultRunConfig()
	require.NoError(t, envOverrides(&cfg, runEnvAliases))
	assert.Equal(t, "kafka.internal", cfg.Kafka.TLS.ServerName, "inline TLS fields have environment variables too")
	assert.Equal(t, "SCRAM-SHA-256", cfg.Kafka.SASL.Mechanism)
}
