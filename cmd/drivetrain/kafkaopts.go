package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// kafkaSecurity configures how every Kafka client of a node connects:
// TLS and SASL. The zero value is plaintext without authentication.
type kafkaSecurity struct {
	TLS struct {
		// Enabled turns TLS on (also implied by any other TLS field).
		Enabled bool `yaml:"enabled"`
		// CAFile is a PEM bundle of roots to verify the brokers with,
		// instead of the system's.
		CAFile string `yaml:"ca_file"`
		// CertFile and KeyFile are a client certificate and its key, for
		// brokers that authenticate clients by certificate.
		CertFile string `yaml:"cert_file"`
		KeyFile  string `yaml:"key_file"`
		// ServerName overrides the name verified in the brokers'
		// certificates.
		ServerName string `yaml:"server_name"`
		// InsecureSkipVerify disables verification (tests only).
		InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	} `yaml:"tls"`
	SASL struct {
		// Mechanism is SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN; empty: no
		// SASL.
		Mechanism string `yaml:"mechanism"`
		User      string `yaml:"user"`
		// Password, or PasswordFile naming a file that holds it (a
		// trailing newline is ignored). Never logged.
		Password     string `yaml:"password"`
		PasswordFile string `yaml:"password_file"`
	} `yaml:"sasl"`
}

// opts returns the kgo options for s; errors name the field.
func (s kafkaSecurity) opts() ([]kgo.Opt, error) {
	var out []kgo.Opt
	t := s.TLS
	if t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka.tls.ca_file: no PEM certificate in %s", t.CAFile)
			}
			cfg.RootCAs = pool
		}
		if (t.CertFile == "") != (t.KeyFile == "") {
			return nil, fmt.Errorf("kafka.tls.cert_file and kafka.tls.key_file go together")
		}
		if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls.cert_file: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		out = append(out, kgo.DialTLSConfig(cfg))
	}
	m := strings.ToUpper(strings.TrimSpace(s.SASL.Mechanism))
	if m == "" {
		return out, nil
	}
	password := s.SASL.Password
	if password == "" && s.SASL.PasswordFile != "" {
		data, err := os.ReadFile(s.SASL.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.sasl.password_file: %w", err)
		}
		password = strings.TrimRight(string(data), "\r\n")
	}
	if s.SASL.User == "" {
		return nil, fmt.Errorf("kafka.sasl.user is required with mechanism %s", m)
	}
	switch m {
	case "SCRAM-SHA-256":
		out = append(out, kgo.SASL(scram.Auth{User: s.SASL.User, Pass: password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		out = append(out, kgo.SASL(scram.Auth{User: s.SASL.User, Pass: password}.AsSha512Mechanism()))
	case "PLAIN":
		out = append(out, kgo.SASL(plain.Auth{User: s.SASL.User, Pass: password}.AsMechanism()))
	default:
		return nil, fmt.Errorf("kafka.sasl.mechanism: %q is not SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN", s.SASL.Mechanism)
	}
	return out, nil
}
