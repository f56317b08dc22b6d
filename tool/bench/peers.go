package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// A peer is a system people would use instead of drivetrain, given the
// same work: read the preloaded topics from the earliest offsets and
// produce the same sales facts.
type peer struct {
	name string
	// run runs the peer once over the workload, writing its facts into
	// db, and returns the measured sample.
	run func(ctx context.Context, r *runner, w *workload, db string) (sample, error)
}

var peers = []peer{
	{name: "python", run: runPython},
	{name: "kafka-streams", run: runKafkaStreams},
	{name: "flink", run: runFlink},
}

// runPeers runs every peer Runs times on the preloaded topics, each run
// into a fresh ClickHouse database, and checks the last run's facts
// against drivetrain's catch-up of the same topics. The figures are in
// the catchup suite, beside drivetrain's.
func runPeers(ctx context.Context, r *runner) error {
	w, err := r.reference(ctx)
	if err != nil {
		return err
	}
	for _, p := range peers {
		var last string
		var dbs []string
		samples, err := r.repeat(ctx, p.name, func(ctx context.Context, run int) (sample, error) {
			db := r.name(strings.ReplaceAll(p.name, "-", "_"))
			r.stack.drop = append(r.stack.drop, db)
			dbs = append(dbs, db)
			if err := r.ensureSchema(ctx, db); err != nil {
				return sample{}, err
			}
			pr := newProgress(r.opts.Progress, r.opts.Terminal, fmt.Sprintf("%s run %d", p.name, run+1), 0)
			s, err := p.run(ctx, r, w, db)
			if err != nil {
				return s, err
			}
			pr.done(fmt.Sprintf("%s records in %v", count(s.events), time.Duration(float64(s.events)/s.value*float64(time.Second)).Round(time.Millisecond)))
			last = db
			return s, nil
		})
		if len(samples) > 0 {
			r.add(figureOf("catchup", p.name, "throughput", "events/s", true, samples))
		}
		if err == nil {
			err = r.check(ctx, p.name, last)
		}
		if err != nil {
			r.fail("peers", p.name, err)
		}
		for _, db := range dbs {
			r.dropNow(ctx, db)
		}
	}
	return nil
}

// check compares a peer's sales_facts_current with drivetrain's.
func (r *runner) check(ctx context.Context, system, db string) error {
	wantN, wantSum, err := r.factChecksum(ctx, r.stack.refDB)
	if err != nil {
		return err
	}
	n, sum, err := r.factChecksum(ctx, db)
	if err != nil {
		return err
	}
	c := Check{System: system, Equal: n == wantN && sum == wantSum, Facts: n, Checksum: sum,
		WantFacts: wantN, WantChecksum: wantSum, Columns: factColumns()}
	r.res.Checks = append(r.res.Checks, c)
	if !c.Equal {
		return fmt.Errorf("its facts differ from drivetrain's: %d facts, checksum %s; drivetrain %d, %s", n, sum, wantN, wantSum)
	}
	fmt.Fprintf(r.opts.Progress, "%s: the same %s facts as drivetrain (checksum %s)\n", system, count(n), sum)
	return nil
}

// runPython runs bench/peers/python/peer.py in its virtual environment.
func runPython(ctx context.Context, r *runner, w *workload, db string) (sample, error) {
	py, err := r.pythonEnv(ctx)
	if err != nil {
		return sample{}, err
	}
	u, err := url.Parse(r.opts.ClickHouse)
	if err != nil || u.Scheme != "http" {
		return sample{}, fmt.Errorf("the python peer needs an http:// ClickHouse URL (got %q)", r.opts.ClickHouse)
	}
	port := u.Port()
	if port == "" {
		port = "8123"
	}
	cmd := exec.CommandContext(ctx, py, filepath.Join(r.opts.PeersDir, "python", "peer.py"),
		"--brokers", strings.Join(r.opts.Kafka, ","), "--prefix", r.opts.TopicPrefix,
		"--clickhouse-host", u.Hostname(), "--clickhouse-port", port, "--database", db)
	return runPeerProcess(cmd, w)
}

// peerSummary is the JSON line a peer prints at its end.
type peerSummary struct {
	Records int64   `json:"records"`
	Facts   int64   `json:"facts"`
	Seconds float64 `json:"seconds"`
}

// runPeerProcess runs a peer to its end. Its rate is the records over
// the seconds the peer reports, from its start to its last write (as
// drivetrain's: from the node's start to its last write); its CPU is the
// process's, user and system, from start to exit.
func runPeerProcess(cmd *exec.Cmd, w *workload) (sample, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, lastLines(stderr.String(), 5))
	}
	var s peerSummary
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		return sample{}, fmt.Errorf("reading the peer's summary %q: %w", lines[len(lines)-1], err)
	}
	if s.Records < w.Records {
		return sample{}, fmt.Errorf("the peer read %d records of %d", s.Records, w.Records)
	}
	if s.Seconds <= 0 {
		return sample{}, fmt.Errorf("the peer reports %g seconds", s.Seconds)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return sample{value: float64(s.Records) / s.Seconds, events: s.Records, cpu: cpu}, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// pythonEnv creates the peer's virtual environment under StackDir (once
// per requirements.txt: a copy beside it says which) and returns its
// python.
func (r *runner) pythonEnv(ctx context.Context) (string, error) {
	req := filepath.Join(r.opts.PeersDir, "python", "requirements.txt")
	want, err := os.ReadFile(req)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(want)
	dir := filepath.Join(r.opts.StackDir, "bench-python")
	py := filepath.Join(dir, "bin", "python")
	stamp := filepath.Join(dir, "requirements.sha256")
	if have, err := os.ReadFile(stamp); err == nil && string(have) == hex.EncodeToString(sum[:]) {
		r.res.Machine.Versions["python-peer"] = strings.Join(pinned(want), ", ")
		return py, nil
	}
	fmt.Fprintf(r.opts.Progress, "python: creating %s (pip install -r %s)\n", dir, req)
	os.RemoveAll(dir)
	for _, args := range [][]string{
		{"python3", "-m", "venv", dir},
		{filepath.Join(dir, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", req},
	} {
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
		}
	}
	if err := os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644); err != nil {
		return "", err
	}
	r.res.Machine.Versions["python-peer"] = strings.Join(pinned(want), ", ")
	return py, nil
}

// pinned returns the requirement lines of a requirements file.
func pinned(req []byte) []string {
	var out []string
	for _, l := range strings.Split(string(req), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
