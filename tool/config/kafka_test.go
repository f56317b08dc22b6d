package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaClientOpts(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte("s3cret\n"), 0o600))
	notPEM := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))

	tests := []struct {
		name string
		set  func(k *Kafka)
		// wantOpts counts the options: seed brokers and client id, then
		// one for TLS and one for SASL.
		wantOpts int
		wantErr  string
	}{
		{name: "plaintext", set: func(*Kafka) {}, wantOpts: 2},
		{name: "no client id", set: func(k *Kafka) { k.ClientID = "" }, wantOpts: 1},
		{name: "tls with system roots", set: func(k *Kafka) { k.TLS.Enabled = true }, wantOpts: 3},
		{name: "scram-sha-512 with password file", set: func(k *Kafka) {
			k.SASL = SASL{Mechanism: "scram-sha-512", User: "app", PasswordFile: pwFile}
		}, wantOpts: 3},
		{name: "tls and plain", set: func(k *Kafka) {
			k.TLS.InsecureSkipVerify = true
			k.SASL = SASL{Mechanism: "PLAIN", User: "app", Password: "pw"}
		}, wantOpts: 4},
		{name: "no brokers", set: func(k *Kafka) { k.Brokers = nil }, wantErr: "kafka.brokers: at least one broker"},
		{name: "unknown mechanism", set: func(k *Kafka) { k.SASL = SASL{Mechanism: "GSSAPI", User: "app", Password: "pw"} }, wantErr: "kafka.sasl.mechanism"},
		{name: "sasl without user", set: func(k *Kafka) { k.SASL = SASL{Mechanism: "SCRAM-SHA-256", Password: "pw"} }, wantErr: "kafka.sasl.user"},
		{name: "sasl without password", set: func(k *Kafka) { k.SASL = SASL{Mechanism: "SCRAM-SHA-256", User: "app"} }, wantErr: "kafka.sasl.password"},
		{name: "missing password file", set: func(k *Kafka) {
			k.SASL = SASL{Mechanism: "PLAIN", User: "app", PasswordFile: filepath.Join(dir, "none")}
		}, wantErr: "kafka.sasl.password_file"},
		{name: "bad CA file", set: func(k *Kafka) { k.TLS.CAFile = notPEM }, wantErr: "kafka.tls.ca_file: no PEM certificate"},
		{name: "cert without key", set: func(k *Kafka) { k.TLS.CertFile = notPEM }, wantErr: "kafka.tls: cert_file and key_file go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := Kafka{Brokers: []string{"127.0.0.1:9092"}, ClientID: "drivetrain"}
			tt.set(&k)
			opts, err := k.ClientOpts()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, opts, tt.wantOpts)
		})
	}
}

// TestKafkaSASLMechanisms authenticates with each mechanism against an
// in-process cluster that requires SASL, with the right password and a
// wrong one.
func TestKafkaSASLMechanisms(t *testing.T) {
	for _, mech := range Mechanisms {
		t.Run(mech, func(t *testing.T) {
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, "app", "right"))
			require.NoError(t, err)
			t.Cleanup(cluster.Close)

			ping := func(password string) error {
				k := Kafka{Brokers: cluster.ListenAddrs(), ClientID: "test", SASL: SASL{Mechanism: mech, User: "app", Password: password}}
				opts, err := k.ClientOpts()
				require.NoError(t, err)
				cl, err := kgo.NewClient(append(opts, kgo.RetryTimeout(time.Second))...)
				require.NoError(t, err)
				defer cl.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return cl.Ping(ctx)
			}
			assert.NoError(t, ping("right"))
			assert.Error(t, ping("wrong"))
		})
	}
}

// TestKafkaTLS connects to an in-process cluster that speaks TLS with a
// certificate of a CA made here: with kafka.tls.ca_file naming the CA the
// client verifies the broker (for its IP address, as no server name is
// set); with the system's roots it refuses the broker.
func TestKafkaTLS(t *testing.T) {
	caPEM, serverCert := newTestCA(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, caPEM, 0o600))

	ping := func(tlsCfg KafkaTLS) error {
		k := Kafka{Brokers: cluster.ListenAddrs(), ClientID: "test", TLS: tlsCfg}
		opts, err := k.ClientOpts()
		require.NoError(t, err)
		cl, err := kgo.NewClient(append(opts, kgo.RetryTimeout(time.Second))...)
		require.NoError(t, err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	}
	assert.NoError(t, ping(KafkaTLS{CAFile: caFile}))
	err = ping(KafkaTLS{Enabled: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate signed by unknown authority")
}

// newTestCA returns a CA certificate (PEM) and a server certificate for
// 127.0.0.1 that it signed.
func newTestCA(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
}
