package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drivetrain-cdc/drivetrain/actors"
	"github.com/drivetrain-cdc/drivetrain/tool/config"
	"github.com/drivetrain-cdc/drivetrain/tool/connect"
	"github.com/drivetrain-cdc/drivetrain/tool/health"
)

var connectorCommand = command{
	name:    "connector",
	args:    "register|status|delete",
	summary: "register, show or delete the Debezium connector through the Kafka Connect REST API",
	run:     runConnector,
}

// setFlags collects repeated --set key=value flags.
type setFlags map[string]string

func (s setFlags) String() string { return "" }

func (s setFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	s[strings.TrimSpace(k)] = val
	return nil
}

func runConnector(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.connectFlag(&ep)
	fs.kafkaFlag(&ep)
	file := fs.String("file", "", "connector JSON ({\"name\":…,\"config\":{…}}); default: the built-in deploy/debezium/connector.json")
	name := fs.String("name", "", "connector name (default: the file's name, drivetrain-postgres)")
	sets := setFlags{}
	fs.Var(sets, "set", "override one config entry, key=value (repeatable), e.g. --set database.hostname=db.internal")
	passwordFile := fs.String("password-file", "", "register: a file holding the database password, sent in place of the built-in "+
		connect.PasswordRef+" for a Connect worker without a config provider (Connect then stores the password itself); a trailing newline is ignored")
	timeout := fs.Duration("timeout", 3*time.Minute, "register: how long to wait for the connector and its task to be RUNNING")
	asJSON := fs.Bool("json", false, "status: print Connect's status object as JSON (without the Kafka checks)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if len(fs.args()) != 1 {
		return fmt.Errorf("want one action, register, status or delete (see 'drivetrain connector --help')")
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %s", *timeout)
	}
	cf, err := connect.LoadFile(*file)
	if err != nil {
		return err
	}
	if *name != "" {
		cf.Name = *name
	}
	for k, v := range sets {
		cf.Config[k] = v
	}
	if v, ok := sets[connect.PasswordKey]; ok && !connect.IsConfigRef(v) {
		fmt.Fprintf(a.stderr, "warning: --set %s puts the password in your shell history and in Connect's config topic; "+
			"use --password-file, or better a config provider on the worker (%s)\n", connect.PasswordKey, connect.PasswordRef)
	}
	if *passwordFile != "" {
		if _, ok := sets[connect.PasswordKey]; ok {
			return fmt.Errorf("--password-file and --set %s: give one", connect.PasswordKey)
		}
		pw, err := connect.ReadPasswordFile(*passwordFile)
		if err != nil {
			return err
		}
		cf.Config[connect.PasswordKey] = pw
	}
	cc, err := connect.NewClient(ep.connect)
	if err != nil {
		return err
	}
	switch action := fs.args()[0]; action {
	case "register":
		return connect.Register(ctx, a.stdout, a.stderr, cc, cf, *timeout)
	case "status":
		if err := printConnectorStatus(ctx, a, cc, cf.Name, *asJSON); err != nil || *asJSON {
			return err
		}
		return printConnectorTopics(ctx, a, ep.cfg.Kafka, cf.Config["topic.prefix"], *timeout)
	case "delete":
		if err := cc.Delete(ctx, cf.Name); errors.Is(err, connect.ErrNotFound) {
			fmt.Fprintf(a.stdout, "connector %s does not exist; nothing to delete\n", cf.Name)
			return nil
		} else if err != nil {
			return fmt.Errorf("deleting connector %s: %w", cf.Name, err)
		}
		fmt.Fprintf(a.stdout, "connector %s deleted (its replication slot %q stays in PostgreSQL; drop it with SELECT pg_drop_replication_slot('%s') if you will not register it again)\n",
			cf.Name, cf.Config["slot.name"], cf.Config["slot.name"])
		return nil
	default:
		return fmt.Errorf("unknown action %q: want register, status or delete", action)
	}
}

func printConnectorStatus(ctx context.Context, a *app, cc *connect.Client, name string, asJSON bool) error {
	st, err := cc.Status(ctx, name)
	if errors.Is(err, connect.ErrNotFound) {
		return fmt.Errorf("connector %s is not registered (run 'drivetrain connector register')", name)
	}
	if err != nil {
		return fmt.Errorf("reading status of connector %s: %w", name, err)
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	st.Write(a.stdout)
	if st.Failure() != "" {
		return &exitError{code: 1}
	}
	if !st.Running() {
		return &exitError{code: 1, msg: "drivetrain connector: not RUNNING"}
	}
	return nil
}

// printConnectorTopics prints the Kafka checks of the connector's topics
// (reachable, present, co-partitioned, compacted), through a client that
// connects as the kafka section says. They inform: a topic appears with
// the first change of its table, so missing topics do not fail the
// command; an unreachable Kafka does.
func printConnectorTopics(ctx context.Context, a *app, kafka config.Kafka, prefix string, timeout time.Duration) error {
	if prefix == "" {
		prefix = actors.DefaultTopicPrefix
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	checks := health.Kafka(ctx, kafka, prefix)
	fmt.Fprintln(a.stdout)
	health.Write(a.stdout, checks)
	if !checks[0].OK {
		return &exitError{code: 1, msg: "drivetrain connector: Kafka unreachable: " + checks[0].Detail}
	}
	return nil
}
