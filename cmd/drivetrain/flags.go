package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/drivetrain-cdc/drivetrain/tool/config"
	"github.com/drivetrain-cdc/drivetrain/tool/observe"
)

// errHelpShown reports that --help printed the usage; the command succeeds.
var errHelpShown = errors.New("help shown")

// flagSet wraps flag.FlagSet with drivetrain's conventions: usage on --help
// (exit 0), one-line errors naming the flag, and the configuration of
// tool/config: every command reads --config, the DRIVETRAIN_* environment
// and its flags, and the flags registered with keyString set
// configuration keys.
type flagSet struct {
	*flag.FlagSet
	cmd        command
	a          *app
	positional []string
	// keys are the flags that set configuration keys, and where their
	// effective values go once parse has loaded the configuration.
	keys []keyFlag
	eps  []*endpoints
	cfg  config.Config
}

// keyFlag is a flag that sets a configuration key.
type keyFlag struct {
	name, key string
	p         *string
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
	fmt.Fprintln(w, "\nEvery configuration key can also be set in the --config file or a DRIVETRAIN_* environment\nvariable (flags win over the environment, which wins over the file); see docs/configuration.md.")
}

// parse parses args, flags and positional arguments in any order (as in
// `connector register --timeout 1m`); on a bad flag it returns a one-line
// error naming it. The positional arguments are then in args(). It then
// loads the configuration (config.Load: defaults, --config, environment,
// the key flags that were set) and fills the key flags and endpoints with
// the effective values; config() returns it.
func (f *flagSet) parse(args []string) error {
	if f.Lookup("config") == nil {
		f.String("config", "", "YAML configuration file (docs/configuration.md); DRIVETRAIN_* variables override it, flags override both")
	}
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
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			f.positional = append(f.positional, rest...)
			break
		}
		f.positional = append(f.positional, rest[0])
		args = rest[1:]
	}
	return f.load()
}

// load loads the configuration and hands the effective values to the key
// flags and endpoints.
func (f *flagSet) load() error {
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	src := config.Sources{File: f.Lookup("config").Value.String()}
	for _, k := range f.keys {
		if set[k.name] {
			src.Flags = append(src.Flags, config.Flag{Name: k.name, Key: k.key, Value: *k.p})
		}
	}
	cfg, err := config.Load(src)
	if err != nil {
		return err
	}
	f.cfg = cfg
	for _, k := range f.keys {
		*k.p = cfg.Value(k.key)
	}
	for _, e := range f.eps {
		e.cfg, e.configPath = cfg, src.File
	}
	return nil
}

// config returns the configuration parse loaded.
func (f *flagSet) config() config.Config { return f.cfg }

// args returns the positional arguments found by parse.
func (f *flagSet) args() []string { return f.positional }

// keyString registers a flag that sets the configuration key key; after
// parse, *p holds the key's effective value (from the flag, else the
// environment, the file or the default).
func (f *flagSet) keyString(p *string, name, key, help string) {
	f.StringVar(p, name, "", fmt.Sprintf("%s (%s, env %s; default %s)", help, key, strings.Join(config.EnvNames(key), " or "), defaultOf(key)))
	f.keys = append(f.keys, keyFlag{name: name, key: key, p: p})
}

// defaultOf describes a key's default for --help, passwords masked.
func defaultOf(key string) string {
	v := config.MaskURL(config.Default().Value(key))
	if key == "processor.node_id" {
		v = "the host name"
	}
	if v == "" {
		return "none"
	}
	return v
}

// envString registers a string flag (not a configuration key) whose
// default comes from the environment variable env, else def.
func (f *flagSet) envString(p *string, name, env, def, help string) {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		def = v
	}
	f.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", help, env))
}

// endpoints are the addresses of the pipeline's services, as the
// configuration has them after parse; cfg is the whole configuration
// (Kafka TLS and SASL, ClickHouse credentials).
type endpoints struct {
	postgres    string
	kafka       string
	connect     string
	clickhouse  string
	topicPrefix string
	cfg         config.Config
	// configPath is the --config file, "" for none.
	configPath string
}

func (f *flagSet) endpoints(e *endpoints) {
	if !slices.Contains(f.eps, e) {
		f.eps = append(f.eps, e)
	}
}

func (f *flagSet) postgresFlag(e *endpoints) {
	f.endpoints(e)
	f.keyString(&e.postgres, "postgres", "postgres.dsn", "PostgreSQL connection string")
}

func (f *flagSet) kafkaFlag(e *endpoints) {
	f.endpoints(e)
	f.keyString(&e.kafka, "kafka", "kafka.brokers", "Kafka bootstrap brokers, comma-separated")
}

func (f *flagSet) connectFlag(e *endpoints) {
	f.endpoints(e)
	f.keyString(&e.connect, "connect", "connect.url", "Kafka Connect REST URL")
}

func (f *flagSet) clickhouseFlag(e *endpoints) {
	f.endpoints(e)
	f.keyString(&e.clickhouse, "clickhouse", "clickhouse.addr", "ClickHouse URL: http(s)://host:port or clickhouse://host:port")
}

func (f *flagSet) topicPrefixFlag(e *endpoints) {
	f.endpoints(e)
	f.keyString(&e.topicPrefix, "topic-prefix", "processor.topic_prefix", "Debezium topic prefix: topics are <prefix>.public.<table>")
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

// kafkaOpts returns the options of a Kafka client that connects as the
// kafka section says (brokers, client id, TLS, SASL).
func (e *endpoints) kafkaOpts() ([]kgo.Opt, error) { return e.cfg.Kafka.ClientOpts() }

// nodeFlags are the flags of the commands that run a node (run, replay):
// each sets a configuration key.
type nodeFlags struct {
	fs                                                                          *flagSet
	nodeID, stateDir, httpAddr, kafka, clickhouse, database, group, topicPrefix string
}

func registerNodeFlags(fs *flagSet) *nodeFlags {
	f := &nodeFlags{fs: fs}
	fs.keyString(&f.nodeID, "node-id", "processor.node_id", "node name")
	fs.keyString(&f.stateDir, "state-dir", "processor.state_dir", "state directory")
	fs.keyString(&f.httpAddr, "http-addr", "http_addr", "address of /metrics, /healthz, /readyz, /status; a client has 10s to send a request "+
		"and 30s to read the answer, idle connections close after 60s; no /debug/pprof here (pprof_addr)")
	fs.keyString(&f.kafka, "kafka", "kafka.brokers", "Kafka bootstrap brokers, comma-separated")
	fs.keyString(&f.clickhouse, "clickhouse", "clickhouse.addr", "ClickHouse URL: http(s)://host:port or clickhouse://host:port")
	fs.keyString(&f.database, "database", "clickhouse.database", "ClickHouse database (empty: the URL's, else drivetrain)")
	fs.keyString(&f.group, "group", "processor.group", "consumer group")
	fs.keyString(&f.topicPrefix, "topic-prefix", "processor.topic_prefix", "Debezium topic prefix: topics are <prefix>.public.<table>")
	return f
}

// load returns the configuration parse loaded, checked for a node (the
// profiles' address), and a name for where it came from, for messages.
func (f *nodeFlags) load() (runConfig, string, error) {
	cfg := f.fs.config()
	where := "config"
	if p := f.fs.Lookup("config").Value.String(); p != "" {
		where = "config " + p
	}
	if cfg.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(observe.PprofListenAddr(cfg.PprofAddr)); err != nil {
			return cfg, where, fmt.Errorf("%s: pprof_addr %q is not host:port or :port", where, cfg.PprofAddr)
		}
		if observe.PprofListenAddr(cfg.PprofAddr) == cfg.HTTPAddr {
			return cfg, where, fmt.Errorf("%s: pprof_addr must differ from http_addr (%s): profiles are not served with /metrics", where, cfg.HTTPAddr)
		}
	}
	return cfg, where, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
