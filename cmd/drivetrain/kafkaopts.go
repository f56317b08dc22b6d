package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/drivetrain-cdc/drivetrain/sinks"
)

// kafkaSecurity configures how every Kafka client of a node connects:
// TLS and SASL. The zero value is plaintext without authentication.
type kafkaSecurity struct {
	// TLS: Enabled turns it on (also implied by any other field); the
	// fields are those of clickhouse.tls (CA, client certificate, server
	// name, insecure_skip_verify for tests).
	TLS struct {
		Enabled         bool `yaml:"enabled"`
		sinks.TLSConfig `yaml:",inline"`
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
	if s.TLS.Enabled || s.TLS.TLSConfig != (sinks.TLSConfig{}) {
		cfg, err := s.TLS.Build("")
		if err != nil {
			return nil, fmt.Errorf("kafka.tls: %w", err)
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
