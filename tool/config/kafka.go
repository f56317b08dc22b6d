package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/drivetrain-cdc/drivetrain/sinks"
)

// Kafka is how every Kafka client of every command connects. The zero
// value (with Brokers set) is plaintext without authentication.
type Kafka struct {
	// Brokers are the bootstrap brokers, host:port. Default
	// 127.0.0.1:19092 (the local stack).
	Brokers []string `yaml:"brokers"`
	// ClientID is the client id the commands' clients send (quotas and
	// broker logs see it). Default "drivetrain". A node's own clients
	// are named after processor.node_id instead (<node_id>,
	// <node_id>-dlq, …), so that each node can be told apart.
	ClientID string `yaml:"client_id"`
	// TLS encrypts the connections.
	TLS KafkaTLS `yaml:"tls"`
	// SASL authenticates the connections (usually with TLS on).
	SASL SASL `yaml:"sasl"`
}

// KafkaTLS configures TLS to the brokers. Setting any field turns TLS on.
type KafkaTLS struct {
	// Enabled turns TLS on with the system's roots.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the roots to verify the brokers with,
	// instead of the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that authenticate clients by certificate (mTLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name verified in the brokers'
	// certificates; default each broker's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables verification of the brokers'
	// certificates (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// On reports whether t turns TLS on.
func (t KafkaTLS) On() bool { return t != KafkaTLS{} }

// SASL configures SASL authentication.
type SASL struct {
	// Mechanism is SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (any case);
	// empty: no SASL.
	Mechanism string `yaml:"mechanism"`
	// User is the SASL user name; required with a mechanism.
	User string `yaml:"user"`
	// Password, or PasswordFile naming a file that holds it (a trailing
	// newline is ignored; read when a client is made). Password wins
	// when both are set. Never logged; masked by --print-config.
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// Mechanisms are the SASL mechanisms drivetrain speaks.
var Mechanisms = []string{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"}

// Validate reports the first invalid field, by key, without reading
// files.
func (k Kafka) Validate() error {
	if len(k.Brokers) == 0 {
		return errors.New("kafka.brokers: at least one broker is required")
	}
	for _, b := range k.Brokers {
		if b == "" || strings.ContainsAny(b, " \t/") {
			return fmt.Errorf("kafka.brokers: %q is not host:port", b)
		}
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		return errors.New("kafka.tls: cert_file and key_file go together")
	}
	m := strings.ToUpper(strings.TrimSpace(k.SASL.Mechanism))
	if m == "" {
		return nil
	}
	if !slices.Contains(Mechanisms, m) {
		return fmt.Errorf("kafka.sasl.mechanism: %q is not one of %s", k.SASL.Mechanism, strings.Join(Mechanisms, ", "))
	}
	if k.SASL.User == "" {
		return fmt.Errorf("kafka.sasl.user is required with mechanism %s", m)
	}
	if k.SASL.Password == "" && k.SASL.PasswordFile == "" {
		return fmt.Errorf("kafka.sasl.password or kafka.sasl.password_file is required with mechanism %s", m)
	}
	return nil
}

// ClientOpts returns the options of a franz-go client that connects as k
// says: seed brokers, client id, TLS and SASL. It reads the TLS and
// password files; errors name the key. Callers append their own options
// (a later kgo.ClientID replaces this one).
func (k Kafka) ClientOpts() ([]kgo.Opt, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(k.Brokers...)}
	if k.ClientID != "" {
		opts = append(opts, kgo.ClientID(k.ClientID))
	}
	sec, err := k.SecurityOpts()
	if err != nil {
		return nil, err
	}
	return append(opts, sec...), nil
}

// SecurityOpts returns only the TLS and SASL options of k, for clients
// that choose their own brokers and id (a node's).
func (k Kafka) SecurityOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if k.TLS.On() {
		t := sinks.TLSConfig{CAFile: k.TLS.CAFile, CertFile: k.TLS.CertFile, KeyFile: k.TLS.KeyFile,
			ServerName: k.TLS.ServerName, InsecureSkipVerify: k.TLS.InsecureSkipVerify}
		// An empty server name: franz-go verifies each broker's host.
		cfg, err := t.Build("")
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.%w", err)
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	mech, err := k.SASL.mechanism()
	if err != nil {
		return nil, err
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

// mechanism returns the franz-go mechanism s configures, nil for none.
func (s SASL) mechanism() (sasl.Mechanism, error) {
	m := strings.ToUpper(strings.TrimSpace(s.Mechanism))
	if m == "" {
		return nil, nil
	}
	password := s.Password
	if password == "" && s.PasswordFile != "" {
		data, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.sasl.password_file: %w", err)
		}
		password = strings.TrimRight(string(data), "\r\n")
	}
	switch m {
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.User, Pass: password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.User, Pass: password}.AsSha512Mechanism(), nil
	case "PLAIN":
		return plain.Auth{User: s.User, Pass: password}.AsMechanism(), nil
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism: %q is not one of %s", s.Mechanism, strings.Join(Mechanisms, ", "))
}
