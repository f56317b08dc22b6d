package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/drivetrain-cdc/drivetrain/deploy"
)

var connectorCommand = command{
	name:    "connector",
	args:    "register|status|delete",
	summary: "register, show or delete the Debezium connector through the Kafka Connect REST API",
	run:     runConnector,
}

// connectorFile is deploy/debezium/connector.json's shape.
type connectorFile struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
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
	file := fs.String("file", "", "connector JSON ({\"name\":…,\"config\":{…}}); default: the built-in deploy/debezium/connector.json")
	name := fs.String("name", "", "connector name (default: the file's name, drivetrain-postgres)")
	sets := setFlags{}
	fs.Var(sets, "set", "override one config entry, key=value (repeatable), e.g. --set database.hostname=db.internal")
	passwordFile := fs.String("password-file", "", "register: a file holding the database password, sent in place of the built-in "+
		passwordRef+" for a Connect worker without a config provider (Connect then stores the password itself); a trailing newline is ignored")
	timeout := fs.Duration("timeout", 3*time.Minute, "register: how long to wait for the connector and its task to be RUNNING")
	asJSON := fs.Bool("json", false, "status: print Connect's status object as JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	if len(fs.args()) != 1 {
		return fmt.Errorf("want one action, register, status or delete (see 'drivetrain connector --help')")
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %s", *timeout)
	}
	cf, err := loadConnectorFile(*file)
	if err != nil {
		return err
	}
	if *name != "" {
		cf.Name = *name
	}
	for k, v := range sets {
		cf.Config[k] = v
	}
	if v, ok := sets[passwordKey]; ok && !isConfigRef(v) {
		fmt.Fprintf(a.stderr, "warning: --set %s puts the password in your shell history and in Connect's config topic; "+
			"use --password-file, or better a config provider on the worker (%s)\n", passwordKey, passwordRef)
	}
	if *passwordFile != "" {
		if _, ok := sets[passwordKey]; ok {
			return fmt.Errorf("--password-file and --set %s: give one", passwordKey)
		}
		pw, err := readPasswordFile(*passwordFile)
		if err != nil {
			return err
		}
		cf.Config[passwordKey] = pw
	}
	cc, err := newConnectClient(ep.connect)
	if err != nil {
		return err
	}
	switch action := fs.args()[0]; action {
	case "register":
		return registerConnector(ctx, a, cc, cf, *timeout)
	case "status":
		return printConnectorStatus(ctx, a, cc, cf.Name, *asJSON)
	case "delete":
		if err := cc.delete(ctx, cf.Name); errors.Is(err, errNotFound) {
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

// passwordKey is the config key of the connector's database password. The
// built-in connector.json holds passwordRef, a reference the Connect worker resolves
// with its config provider (config.providers=env and the variable in its
// environment: deploy/local/stack.sh and deploy/compose set both), so the
// password is in neither this repository, the binary, nor Connect's
// config topic.
const (
	passwordKey = "database.password"
	passwordRef = "${env:DRIVETRAIN_PG_PASSWORD}"
)

// configRefRe matches a Kafka Connect config provider reference,
// ${provider:[path:]key}, as the whole value.
var configRefRe = regexp.MustCompile(`^\$\{[A-Za-z0-9_.-]+:[^{}]*\}$`)

func isConfigRef(v string) bool { return configRefRe.MatchString(v) }

// readPasswordFile reads a password from path, without its trailing newline.
func readPasswordFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	pw := strings.TrimRight(string(data), "\r\n")
	if pw == "" {
		return "", fmt.Errorf("--password-file: %s is empty", path)
	}
	return pw, nil
}

func loadConnectorFile(path string) (*connectorFile, error) {
	data := deploy.ConnectorJSON
	src := "built-in deploy/debezium/connector.json"
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		src = path
	}
	var cf connectorFile
	if err := json.Unmarshal(data, &cf); err != nil {
		return nil, fmt.Errorf("--file: parsing %s: %w", src, err)
	}
	if cf.Name == "" || len(cf.Config) == 0 {
		return nil, fmt.Errorf("--file: %s must hold {\"name\": …, \"config\": {…}}", src)
	}
	return &cf, nil
}

// registerConnector creates or updates the connector, then waits until the
// connector and its task are RUNNING. A connector that was FAILED is restarted
// once; if it fails again, its own error trace is returned.
func registerConnector(ctx context.Context, a *app, cc *connectClient, cf *connectorFile, timeout time.Duration) error {
	if err := cc.putConfig(ctx, cf.Name, cf.Config); err != nil {
		return fmt.Errorf("registering connector %s: %w", cf.Name, err)
	}
	fmt.Fprintf(a.stdout, "connector %s registered at %s; waiting for it to run\n", cf.Name, cc.base)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	restarted := false
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last *connectorStatus
	for {
		st, err := cc.status(ctx, cf.Name)
		switch {
		case err == nil:
			last = st
			if st.running() {
				fmt.Fprintf(a.stdout, "connector %s RUNNING with %d task(s) on %s\n", cf.Name, len(st.Tasks), st.Connector.WorkerID)
				return nil
			}
			if f := st.failure(); f != "" {
				if restarted {
					fmt.Fprintln(a.stderr, f)
					if ref := cf.Config[passwordKey]; isConfigRef(ref) && strings.Contains(f, "password authentication failed") {
						fmt.Fprintf(a.stderr, "hint: %s is %s, which the Connect worker resolves: does its config enable that provider "+
							"(config.providers), and does the provider find the password (for env, the variable in the worker's environment)?\n", passwordKey, ref)
					}
					return fmt.Errorf("connector %s failed (trace above)", cf.Name)
				}
				restarted = true
				if err := cc.restartFailed(ctx, cf.Name); err != nil && ctx.Err() == nil {
					return fmt.Errorf("restarting failed connector %s: %w", cf.Name, err)
				}
			}
		case errors.Is(err, errNotFound):
			// Just created: the status appears a moment later.
		case ctx.Err() == nil:
			return fmt.Errorf("reading status of connector %s: %w", cf.Name, err)
		}
		select {
		case <-ctx.Done():
			state := "no status yet"
			if last != nil {
				state = describeStatus(last)
			}
			return fmt.Errorf("connector %s not RUNNING after %s (%s); see 'drivetrain connector status' and the Connect log", cf.Name, timeout, state)
		case <-tick.C:
		}
	}
}

func describeStatus(st *connectorStatus) string {
	parts := []string{"connector " + st.Connector.State}
	for _, t := range st.Tasks {
		parts = append(parts, fmt.Sprintf("task %d %s", t.ID, t.State))
	}
	if len(st.Tasks) == 0 {
		parts = append(parts, "no tasks")
	}
	return strings.Join(parts, ", ")
}

func printConnectorStatus(ctx context.Context, a *app, cc *connectClient, name string, asJSON bool) error {
	st, err := cc.status(ctx, name)
	if errors.Is(err, errNotFound) {
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
	fmt.Fprintf(a.stdout, "connector %s: %s (worker %s)\n", st.Name, st.Connector.State, st.Connector.WorkerID)
	sort.Slice(st.Tasks, func(i, j int) bool { return st.Tasks[i].ID < st.Tasks[j].ID })
	for _, t := range st.Tasks {
		fmt.Fprintf(a.stdout, "  task %d: %s (worker %s)\n", t.ID, t.State, t.WorkerID)
	}
	if f := st.failure(); f != "" {
		fmt.Fprintln(a.stdout, f)
		return &exitError{code: 1}
	}
	if !st.running() {
		return &exitError{code: 1, msg: "drivetrain connector: not RUNNING"}
	}
	return nil
}
