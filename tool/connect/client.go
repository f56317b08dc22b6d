// Package connect is a client of the Kafka Connect REST API and what
// `drivetrain connector` does with it: register the Debezium connector from
// deploy/debezium/connector.json and wait until it runs, show its status,
// delete it. A Client is safe for concurrent use.
package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to the Kafka Connect REST API at one base URL; each request
// has 15 s. Safe for concurrent use.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of the Connect REST API at base, an http(s)
// URL; the error names the --connect flag.
func NewClient(base string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--connect: %q is not an http(s) URL", base)
	}
	return &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 15 * time.Second}}, nil
}

// Base returns the REST API's base URL.
func (c *Client) Base() string { return c.base }

// ErrNotFound is returned for a 404 from Connect (no such connector).
var ErrNotFound = errors.New("not found")

// Status is GET /connectors/{name}/status.
type Status struct {
	Name      string `json:"name"`
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	} `json:"connector"`
	Tasks []struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	} `json:"tasks"`
}

// Running reports whether the connector and all its tasks (at least one)
// are RUNNING.
func (s *Status) Running() bool {
	if s.Connector.State != "RUNNING" || len(s.Tasks) == 0 {
		return false
	}
	for _, t := range s.Tasks {
		if t.State != "RUNNING" {
			return false
		}
	}
	return true
}

// Failure returns the first FAILED component's description and trace, or "".
func (s *Status) Failure() string {
	if s.Connector.State == "FAILED" {
		return "connector " + s.Name + " FAILED:\n" + s.Connector.Trace
	}
	for _, t := range s.Tasks {
		if t.State == "FAILED" {
			return fmt.Sprintf("task %d of %s FAILED:\n%s", t.ID, s.Name, t.Trace)
		}
	}
	return ""
}

// Do sends a request with body (JSON-encoded unless nil) and decodes the
// answer into out (unless nil). A 404 is ErrNotFound; another status of
// 300 or more is an error carrying Connect's message.
func (c *Client) Do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("kafka connect at %s is unreachable: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("reading response of %s %s: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return ErrNotFound
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Message)
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding response of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// PutConfig creates the connector or updates its config (idempotent).
func (c *Client) PutConfig(ctx context.Context, name string, config map[string]string) error {
	return c.Do(ctx, http.MethodPut, "/connectors/"+url.PathEscape(name)+"/config", config, nil)
}

// Status returns the connector's status; ErrNotFound if it does not exist.
func (c *Client) Status(ctx context.Context, name string) (*Status, error) {
	var st Status
	if err := c.Do(ctx, http.MethodGet, "/connectors/"+url.PathEscape(name)+"/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Delete removes the connector; ErrNotFound if it does not exist.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/connectors/"+url.PathEscape(name), nil, nil)
}

// RestartFailed restarts the connector's failed instance and tasks.
func (c *Client) RestartFailed(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodPost, "/connectors/"+url.PathEscape(name)+"/restart?includeTasks=true&onlyFailed=true", nil, nil)
}
