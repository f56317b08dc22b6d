package main

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

// connectClient talks to the Kafka Connect REST API.
type connectClient struct {
	base string
	http *http.Client
}

func newConnectClient(base string) (*connectClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--connect: %q is not an http(s) URL", base)
	}
	return &connectClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 15 * time.Second}}, nil
}

// errNotFound is returned for a 404 from Connect (no such connector).
var errNotFound = errors.New("not found")

// connectorStatus is GET /connectors/{name}/status.
type connectorStatus struct {
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

// running reports whether the connector and all its tasks (at least one)
// are RUNNING.
func (s *connectorStatus) running() bool {
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

// failure returns the first FAILED component's description and trace, or "".
func (s *connectorStatus) failure() string {
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

func (c *connectClient) do(ctx context.Context, method, path string, body any, out any) error {
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
		return errNotFound
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

// putConfig creates the connector or updates its config (idempotent).
func (c *connectClient) putConfig(ctx context.Context, name string, config map[string]string) error {
	return c.do(ctx, http.MethodPut, "/connectors/"+url.PathEscape(name)+"/config", config, nil)
}

func (c *connectClient) status(ctx context.Context, name string) (*connectorStatus, error) {
	var st connectorStatus
	if err := c.do(ctx, http.MethodGet, "/connectors/"+url.PathEscape(name)+"/status", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (c *connectClient) delete(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/connectors/"+url.PathEscape(name), nil, nil)
}

func (c *connectClient) restartFailed(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/connectors/"+url.PathEscape(name)+"/restart?includeTasks=true&onlyFailed=true", nil, nil)
}
