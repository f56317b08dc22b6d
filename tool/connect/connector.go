package connect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/drivetrain-cdc/drivetrain/deploy"
)

// File is deploy/debezium/connector.json's shape.
type File struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
}

// PasswordKey is the config key of the connector's database password. The
// built-in connector.json holds PasswordRef, a reference the Connect worker
// resolves with its config provider (config.providers=env and the variable
// in its environment: deploy/local/stack.sh and deploy/compose set both),
// so the password is in neither this repository, the binary, nor Connect's
// config topic.
const (
	PasswordKey = "database.password"
	PasswordRef = "${env:DRIVETRAIN_PG_PASSWORD}"
)

// configRefRe matches a Kafka Connect config provider reference,
// ${provider:[path:]key}, as the whole value.
var configRefRe = regexp.MustCompile(`^\$\{[A-Za-z0-9_.-]+:[^{}]*\}$`)

// IsConfigRef reports whether v is a config provider reference
// (${provider:[path:]key}) rather than a literal value.
func IsConfigRef(v string) bool { return configRefRe.MatchString(v) }

// ReadPasswordFile reads a password from path, without its trailing
// newline; errors name the --password-file flag.
func ReadPasswordFile(path string) (string, error) {
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

// LoadFile reads a connector file; path "" is the built-in
// deploy/debezium/connector.json. Errors name the --file flag.
func LoadFile(path string) (*File, error) {
	data := deploy.ConnectorJSON
	src := "built-in deploy/debezium/connector.json"
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		src = path
	}
	var cf File
	if err := json.Unmarshal(data, &cf); err != nil {
		return nil, fmt.Errorf("--file: parsing %s: %w", src, err)
	}
	if cf.Name == "" || len(cf.Config) == 0 {
		return nil, fmt.Errorf("--file: %s must hold {\"name\": …, \"config\": {…}}", src)
	}
	return &cf, nil
}

// Register creates or updates the connector, then waits (at most timeout)
// until the connector and its tasks are RUNNING, telling out what it does.
// A connector that was FAILED is restarted once; if it fails again, its
// own error trace goes to errOut and the error says so.
func Register(ctx context.Context, out, errOut io.Writer, cc *Client, cf *File, timeout time.Duration) error {
	if err := cc.PutConfig(ctx, cf.Name, cf.Config); err != nil {
		return fmt.Errorf("registering connector %s: %w", cf.Name, err)
	}
	fmt.Fprintf(out, "connector %s registered at %s; waiting for it to run\n", cf.Name, cc.base)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	restarted := false
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last *Status
	for {
		st, err := cc.Status(ctx, cf.Name)
		switch {
		case err == nil:
			last = st
			if st.Running() {
				fmt.Fprintf(out, "connector %s RUNNING with %d task(s) on %s\n", cf.Name, len(st.Tasks), st.Connector.WorkerID)
				return nil
			}
			if f := st.Failure(); f != "" {
				if restarted {
					fmt.Fprintln(errOut, f)
					if ref := cf.Config[PasswordKey]; IsConfigRef(ref) && strings.Contains(f, "password authentication failed") {
						fmt.Fprintf(errOut, "hint: %s is %s, which the Connect worker resolves: does its config enable that provider "+
							"(config.providers), and does the provider find the password (for env, the variable in the worker's environment)?\n", PasswordKey, ref)
					}
					return fmt.Errorf("connector %s failed (trace above)", cf.Name)
				}
				restarted = true
				if err := cc.RestartFailed(ctx, cf.Name); err != nil && ctx.Err() == nil {
					return fmt.Errorf("restarting failed connector %s: %w", cf.Name, err)
				}
			}
		case errors.Is(err, ErrNotFound):
			// Just created: the status appears a moment later.
		case ctx.Err() == nil:
			return fmt.Errorf("reading status of connector %s: %w", cf.Name, err)
		}
		select {
		case <-ctx.Done():
			state := "no status yet"
			if last != nil {
				state = last.Describe()
			}
			return fmt.Errorf("connector %s not RUNNING after %s (%s); see 'drivetrain connector status' and the Connect log", cf.Name, timeout, state)
		case <-tick.C:
		}
	}
}

// Describe summarises the states, e.g. "connector RUNNING, task 0 FAILED".
func (s *Status) Describe() string {
	parts := []string{"connector " + s.Connector.State}
	for _, t := range s.Tasks {
		parts = append(parts, fmt.Sprintf("task %d %s", t.ID, t.State))
	}
	if len(s.Tasks) == 0 {
		parts = append(parts, "no tasks")
	}
	return strings.Join(parts, ", ")
}

// Write prints the status for people: the connector's state and worker,
// one line per task by id, and the first failure's trace.
func (s *Status) Write(w io.Writer) {
	fmt.Fprintf(w, "connector %s: %s (worker %s)\n", s.Name, s.Connector.State, s.Connector.WorkerID)
	tasks := append(s.Tasks[:0:0], s.Tasks...)
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
	for _, t := range tasks {
		fmt.Fprintf(w, "  task %d: %s (worker %s)\n", t.ID, t.State, t.WorkerID)
	}
	if f := s.Failure(); f != "" {
		fmt.Fprintln(w, f)
	}
}
