package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// errHelpShown reports that --help printed the usage; the command succeeds.
var errHelpShown = errors.New("help shown")

// Defaults point at the local stack of deploy/local (see the README for the
// ports); the environment variables override them, and flags override both.
const (
	defaultPostgresDSN = "postgres://drivetrain:drivetrain@127.0.0.1:15432/ecommerce?sslmode=disable"
	defaultKafka       = "127.0.0.1:19092"
	defaultConnectURL  = "http://127.0.0.1:18083"
	defaultClickHouse  = "http://127.0.0.1:18123"
	defaultTopicPrefix = "ecommerce"
)

// flagSet wraps flag.FlagSet with drivetrain's conventions: usage on --help
// (exit 0), one-line errors naming the flag, environment defaults.
type flagSet struct {
	*flag.FlagSet
	cmd        command
	a          *app
	positional []string
}

func newFlagSet(a *app, c command) *flagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	f := &flagSet{FlagSet: fs, cmd: c, a: a}
	// parse prints the usage itself, and only for --help: a bad flag gets
	// one line, not the whole usage.
	fs.Usage = func() {}
	return f
}

func (f *flagSet) usage() {
	w := f.a.stdout
	fmt.Fprintf(w, "Usage: drivetrain %s [flags] %s\n\n%s\n\nFlags:\n", f.cmd.name, f.cmd.args, f.cmd.summary)
	f.FlagSet.SetOutput(w)
	f.PrintDefaults()
	f.FlagSet.SetOutput(f.a.stderr)
}

// parse parses args, flags and positional arguments in any order (as in
// `connector register --timeout 1m`); on a bad flag it returns a one-line
// error naming it. The positional arguments are then in args().
func (f *flagSet) parse(args []string) error {
	f.FlagSet.SetOutput(discard{})
	defer f.FlagSet.SetOutput(f.a.stderr)
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.usage()
			return errHelpShown
		}
		if err != nil {
			return fmt.Errorf("%v (see 'drivetrain %s --help')", err, f.cmd.name)
		}
		rest := f.Args()
		if len(rest) == 0 {
			return nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			f.positional = append(f.positional, rest...)
			return nil
		}
		f.positional = append(f.positional, rest[0])
		args = rest[1:]
	}
}

// args returns the positional arguments found by parse.
func (f *flagSet) args() []string { return f.positional }

// envString registers a string flag whose default comes from the
// environment variable env, else def.
func (f *flagSet) envString(p *string, name, env, def, help string) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		def = v
	}
	f.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", help, env))
}

// endpoints are the addresses of the pipeline's services.
type endpoints struct {
	postgres    string
	kafka       string
	connect     string
	clickhouse  string
	topicPrefix string
}

func (f *flagSet) postgresFlag(e *endpoints) {
	f.envString(&e.postgres, "postgres", "DRIVETRAIN_POSTGRES_DSN", defaultPostgresDSN, "PostgreSQL connection string")
	f.maskDefault("postgres")
}

// maskDefault hides the password of a URL-valued flag's default in --help.
func (f *flagSet) maskDefault(name string) {
	fl := f.Lookup(name)
	if u, err := url.Parse(fl.DefValue); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			fl.DefValue = u.String()
		}
	}
}

func (f *flagSet) kafkaFlag(e *endpoints) {
	f.envString(&e.kafka, "kafka", "DRIVETRAIN_KAFKA_BROKERS", defaultKafka, "Kafka bootstrap brokers, comma-separated")
}

func (f *flagSet) connectFlag(e *endpoints) {
	f.envString(&e.connect, "connect", "DRIVETRAIN_CONNECT_URL", defaultConnectURL, "Kafka Connect REST URL")
}

func (f *flagSet) clickhouseFlag(e *endpoints) {
	f.envString(&e.clickhouse, "clickhouse", "DRIVETRAIN_CLICKHOUSE_URL", defaultClickHouse, "ClickHouse URL (http(s)://host:port or clickhouse://host:port)")
	f.maskDefault("clickhouse")
}

func (f *flagSet) topicPrefixFlag(e *endpoints) {
	f.envString(&e.topicPrefix, "topic-prefix", "DRIVETRAIN_TOPIC_PREFIX", defaultTopicPrefix, "Debezium topic prefix (topics are <prefix>.public.<table>)")
}

// brokers splits the comma-separated broker list.
func (e *endpoints) brokers() []string {
	var out []string
	for _, b := range strings.Split(e.kafka, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
