// Package connecttest has a stand-in for the Kafka Connect REST API, for
// tests of what talks to it.
package connecttest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Fake is a Kafka Connect REST stand-in whose connector goes through
// States, one per status request (the last one repeats). Safe for
// concurrent use; read Config and Restarts with Snapshot.
type Fake struct {
	// States holds the task state answered per status call; "" answers
	// 404, "FAILED" carries a trace of a failed password login.
	States []string

	mu       sync.Mutex
	calls    int
	config   map[string]string
	restarts int
}

// Snapshot returns the config last PUT and the number of restarts asked.
func (f *Fake) Snapshot() (config map[string]string, restarts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.config, f.restarts
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/config"):
		f.config = map[string]string{}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &f.config)
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/status"):
		i := min(f.calls, len(f.States)-1)
		f.calls++
		if f.States[i] == "" {
			http.Error(w, `{"error_code":404,"message":"Connector x not found"}`, http.StatusNotFound)
			return
		}
		trace := ""
		if f.States[i] == "FAILED" {
			trace = "org.postgresql.util.PSQLException: FATAL: password authentication failed"
		}
		_, _ = io.WriteString(w, `{"name":"drivetrain-postgres","connector":{"state":"RUNNING","worker_id":"w1"},"tasks":[{"id":0,"state":"`+f.States[i]+`","worker_id":"w1","trace":"`+trace+`"}]}`)
	case r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/restart"):
		f.restarts++
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}
