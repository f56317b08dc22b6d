package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// NodeReport is what the pipeline page shows of one node: the figures of
// its /status, or why it could not be read.
type NodeReport struct {
	URL   string `json:"url"`
	Error string `json:"error,omitempty"`
	// The fields below are the node's /status fields of the same names.
	Node         string    `json:"node,omitempty"`
	Ready        bool      `json:"ready"`
	Reason       string    `json:"reason,omitempty"`
	Idle         bool      `json:"idle"`
	Lag          int64     `json:"lag"`
	SinkBacklog  int64     `json:"sink_backlog"`
	FactsWritten int64     `json:"facts_written"`
	LastCommit   time.Time `json:"last_commit,omitzero"`
	// Freshness is the time from a change's commit in PostgreSQL to
	// ClickHouse acknowledging the fact rows it went into, in ms.
	Freshness struct {
		Count int64   `json:"count"`
		P50   float64 `json:"p50_ms"`
		P90   float64 `json:"p90_ms"`
		P99   float64 `json:"p99_ms"`
		Max   float64 `json:"max_ms"`
	} `json:"freshness"`
}

var statusClient = &http.Client{Timeout: 3 * time.Second}

// nodeReports reads every configured node's /status, concurrently.
func (s *Server) nodeReports(ctx context.Context) []NodeReport {
	out := make([]NodeReport, len(s.cfg.Nodes))
	var wg sync.WaitGroup
	for i, base := range s.cfg.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = readNode(ctx, base)
		}()
	}
	wg.Wait()
	return out
}

func readNode(ctx context.Context, base string) NodeReport {
	base = strings.TrimRight(base, "/")
	r := NodeReport{URL: base}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/status", nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	resp, err := statusClient.Do(req)
	if err != nil {
		r.Error = fmt.Sprintf("unreachable: %v", err)
		return r
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.Error = "GET /status: " + resp.Status
		return r
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		r.Error = fmt.Sprintf("decoding /status: %v", err)
	}
	r.URL = base
	return r
}
