package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"
)

// Status is what a node serves as JSON on /status: the figures `demo`
// shows and the tests wait on. Fields are stable.
type Status struct {
	Node string `json:"node"`
	// Ready is what /readyz answers: bootstrapped, ClickHouse and Kafka
	// answering (or not failing for longer than ready_max_unreachable),
	// lag below ready_max_lag, no partition stalled; Reason says why not.
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
	// Idle: nothing left to do right now: ready, lag 0 on every topic the
	// node reads (order stream and global tables), nothing buffered or in
	// flight to the sinks, every acknowledged offset committed.
	Idle         bool `json:"idle"`
	Bootstrapped bool `json:"bootstrapped"`
	// Consumed counts records read per topic since start.
	Consumed map[string]int64 `json:"consumed"`
	// Lag is the sum of LagByTopic.
	Lag int64 `json:"lag"`
	// LagByTopic is, per topic the node reads, the sum over its
	// partitions of the end offset minus the next offset whose records
	// are fully processed: for the order-stream topics, the consumer
	// group's committed offset (of every partition, owned by this node or
	// not); for the global tables (customers, vehicles), the node's own
	// progress, records applied and the mirror rows and facts they
	// changed acknowledged by ClickHouse.
	LagByTopic map[string]int64 `json:"lag_by_topic,omitempty"`
	// FactsWritten and RowsWritten count rows ClickHouse acknowledged
	// (sales_facts, and per mirror table).
	FactsWritten int64            `json:"facts_written"`
	RowsWritten  map[string]int64 `json:"rows_written"`
	// SinkBacklog is the number of rows buffered or in flight to sinks.
	SinkBacklog int64 `json:"sink_backlog"`
	// Stalled lists the order-stream partitions that have had work and
	// made no progress for longer than ready_max_stall.
	Stalled []int32 `json:"stalled,omitempty"`
	// DLQ counts dead-lettered records by error kind.
	DLQ map[string]int64 `json:"dlq"`
	// Freshness summarises, per fact row, the time from the source commit
	// (source.ts_ms of the latest change that went into it) to ClickHouse
	// acknowledging its insert, in milliseconds; rows whose changes were
	// committed before the node started (history it caught up on) are
	// left out.
	Freshness FreshnessSummary `json:"freshness"`
	// LastCommit is when offsets were last committed to Kafka.
	LastCommit time.Time `json:"last_commit,omitzero"`
	// State describes the state store while it is open.
	State *StateStatus `json:"state,omitempty"`
}

// StateStatus is the size of a node's state store.
type StateStatus struct {
	// DiskBytes is the disk space the Pebble store uses (tables, log,
	// manifest).
	DiskBytes uint64 `json:"disk_bytes"`
	// GlobalBytes and PartitionBytes estimate the share of the global
	// tables and of each order-stream partition with state, held or not
	// (revoked partitions keep their state); they count flushed tables
	// only, so recent writes still in memtables are not in them.
	GlobalBytes    uint64           `json:"global_bytes"`
	PartitionBytes map[int32]uint64 `json:"partition_bytes,omitempty"`
	// UsageError says why GlobalBytes and PartitionBytes are missing.
	UsageError string `json:"usage_error,omitempty"`
	// CompactionDebtBytes and ReadAmplification tell whether compactions
	// keep up (see the drivetrain_pebble_* metrics).
	CompactionDebtBytes uint64 `json:"compaction_debt_bytes"`
	ReadAmplification   int    `json:"read_amplification"`
}

// NodeState reads the state store of n; nil when it is not open.
func NodeState(n NodeView) *StateStatus {
	m, ok := n.StateMetrics()
	if !ok {
		return nil
	}
	st := &StateStatus{DiskBytes: m.DiskBytes, CompactionDebtBytes: m.CompactionDebtBytes, ReadAmplification: m.ReadAmplification}
	u, ok, err := n.StateUsage()
	switch {
	case err != nil:
		st.UsageError = err.Error()
	case ok:
		st.GlobalBytes, st.PartitionBytes = u.Global, u.Partitions
	}
	return st
}

// FreshnessSummary is the count, quantiles and maximum of the freshness
// of fact rows, in milliseconds.
type FreshnessSummary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Server serves /healthz, /readyz, /status and /metrics for one node,
// on http_addr. Go's profiles are not served here: they are off unless
// pprof_addr is set, and then served by a PprofServer of their own.
type Server struct {
	mux      *http.ServeMux
	status   func() Status
	timeouts serverTimeouts
}

// serverTimeouts bound what a client of the node's HTTP servers may hold:
// a slow or stalled client gives up its connection after Read (request
// headers and body) or Write (the response), an idle keep-alive
// connection is closed after Idle.
type serverTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// statusTimeouts suit /metrics, /healthz, /readyz and /status: small
// requests, responses built in milliseconds, scrapes every few seconds.
var statusTimeouts = serverTimeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: 60 * time.Second}

// NewServer serves status on /status and /readyz and metrics (if not
// nil) on /metrics.
func NewServer(status func() Status, metrics http.Handler) *Server {
	s := &Server{mux: http.NewServeMux(), status: status, timeouts: statusTimeouts}
	if metrics != nil {
		s.mux.Handle("/metrics", metrics)
	}
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		st := s.status()
		if !st.Ready {
			http.Error(w, "not ready: "+st.Reason, http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintln(w, "ready")
	})
	s.mux.HandleFunc("/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.status())
	})
	return s
}

// listen opens the listener first, so a taken port fails at start.
func (s *Server) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s for /metrics and health checks: %w", addr, err)
	}
	return ln, nil
}

// serve serves on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return serveHTTP(ctx, ln, s.mux, s.timeouts)
}

// serveHTTP serves h on ln with timeouts t until ctx ends, then shuts down
// within 2 s.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, t serverTimeouts) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// maxProfileDuration bounds the seconds parameter of the pprof endpoints
// (CPU profile, execution trace, delta heap/alloc/mutex/block profiles): a
// longer one is refused, so one request cannot keep the profiler, and the
// cost of profiling, on for long.
const maxProfileDuration = 60 * time.Second

// PprofServer serves Go's /debug/pprof on an address of its own (pprof_addr,
// off by default). /debug/pprof/cmdline is left out: the command line may
// hold a ClickHouse URL with its password.
type PprofServer struct {
	mux      *http.ServeMux
	timeouts serverTimeouts
}

// NewPprofServer returns the pprof server; Listen, then Serve.
func NewPprofServer() *PprofServer {
	p := &PprofServer{mux: http.NewServeMux(), timeouts: serverTimeouts{
		ReadHeader: 5 * time.Second,
		Read:       10 * time.Second,
		// A profile takes its seconds before the first byte is written.
		Write: maxProfileDuration + 30*time.Second,
		Idle:  60 * time.Second,
	}}
	p.mux.HandleFunc("/debug/pprof/", pprof.Index)
	p.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	p.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	p.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return p
}

// ServeHTTP refuses a seconds parameter that is not a number from 0 to
// maxProfileDuration, then serves pprof. It reads seconds as the pprof
// handlers do (FormValue: a POST body's value wins over the query's).
func (p *PprofServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v := r.FormValue("seconds"); v != "" {
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil || !(sec >= 0 && sec <= maxProfileDuration.Seconds()) {
			http.Error(w, fmt.Sprintf("seconds=%.20q: want a number of seconds from 0 to %d", v, int(maxProfileDuration.Seconds())), http.StatusBadRequest)
			return
		}
	}
	p.mux.ServeHTTP(w, r)
}

// listen opens the pprof listener; a bare port (":6060" or "6060") listens
// on loopback only.
func (p *PprofServer) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", PprofListenAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("listening on %s for /debug/pprof (pprof_addr): %w", PprofListenAddr(addr), err)
	}
	return ln, nil
}

// Serve serves on ln until ctx ends.
func (p *PprofServer) Serve(ctx context.Context, ln net.Listener) error {
	return serveHTTP(ctx, ln, p, p.timeouts)
}

// PprofListenAddr returns addr with an empty host replaced by 127.0.0.1:
// profiles are for someone on the machine (or at the end of an ssh or
// kubectl port-forward), never for the network unless asked by name.
func PprofListenAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// IsLoopback reports whether a listen address's host is a loopback address
// or localhost.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FetchStatus reads a node's /status.
func FetchStatus(ctx context.Context, base string) (*Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/status: %s", base, resp.Status)
	}
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("decoding %s/status: %w", base, err)
	}
	return &st, nil
}
