package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// node is a drivetrain node (`drivetrain run`) started by the suite, as
// an operator starts one: a process of its own, configured by flags and
// environment, watched through its /status.
type node struct {
	cmd      *exec.Cmd
	addr     string
	stateDir string
	log      *os.File
	// exited is closed once the process ended, exitErr then holds
	// what Wait returned: every waiter sees it.
	exited  chan struct{}
	exitErr error
}

// nodeStatus is the part of a node's /status the suite reads.
type nodeStatus struct {
	Ready        bool             `json:"ready"`
	Idle         bool             `json:"idle"`
	Consumed     map[string]int64 `json:"consumed"`
	RowsWritten  map[string]int64 `json:"rows_written"`
	FactsWritten int64            `json:"facts_written"`
	Lag          int64            `json:"lag"`
	Freshness    struct {
		Count int64   `json:"count"`
		P50   float64 `json:"p50_ms"`
		P90   float64 `json:"p90_ms"`
		P99   float64 `json:"p99_ms"`
	} `json:"freshness"`
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// startNode starts a node of the given consumer group writing into the
// given database, on a new state directory unless stateDir is set.
func (r *runner) startNode(ctx context.Context, name, group, db, stateDir string, env ...string) (*node, error) {
	bin := r.opts.Drivetrain
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the drivetrain binary: %w", err)
		}
		bin = exe
	}
	if stateDir == "" {
		stateDir = filepath.Join(r.opts.Out, name+".state")
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// A node started again under the same name appends to its log.
	logFile, err := os.OpenFile(filepath.Join(r.opts.Out, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--node-id", name, "--group", group, "--database", db, "--state-dir", stateDir,
		"--http-addr", addr, "--kafka", strings.Join(r.opts.Kafka, ","), "--clickhouse", r.opts.ClickHouse)
	cmd.Env = append(os.Environ(), "DRIVETRAIN_TOPIC_PREFIX="+r.opts.TopicPrefix, "DRIVETRAIN_LOG_LEVEL=info")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s run: %w", bin, err)
	}
	n := &node{cmd: cmd, addr: addr, stateDir: stateDir, log: logFile, exited: make(chan struct{})}
	go func() {
		n.exitErr = cmd.Wait()
		close(n.exited)
	}()
	return n, nil
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// status reads the node's /status.
func (n *node) status(ctx context.Context) (*nodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.addr+"/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st nodeStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// cpu returns the node's CPU time so far (user and system).
func (n *node) cpu() time.Duration { return procCPU(n.cmd.Process.Pid) }

// procCPU reads a process's user and system time from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ, 100 on Linux
}

// idleRun is what waitIdle measured.
type idleRun struct {
	consumed  int64
	toLast    time.Duration // from start to the last change of consumed or rows written
	toIdle    time.Duration
	cpu       time.Duration
	status    *nodeStatus
	lastWrite time.Time
}

// waitIdle polls the node every 250 ms until it is idle having consumed
// at least min records, with progress.
func (r *runner) waitIdle(ctx context.Context, n *node, label string, min int64, start time.Time) (idleRun, error) {
	total := min
	if total <= 1 {
		total = 0 // any progress will do: show the count alone
	}
	p := newProgress(r.opts.Progress, r.opts.Terminal, label, total)
	var seen string
	last := start
	for {
		select {
		case <-n.exited:
			return idleRun{}, n.exitedError()
		case <-ctx.Done():
			return idleRun{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		st, err := n.status(ctx)
		now := time.Now()
		if err != nil {
			continue // not serving yet
		}
		consumed := sum(st.Consumed)
		if s := fmt.Sprint(consumed, sum(st.RowsWritten)); s != seen {
			seen, last = s, now
		}
		p.update(consumed)
		if st.Idle && consumed >= min {
			run := idleRun{consumed: consumed, toLast: last.Sub(start), toIdle: now.Sub(start), cpu: n.cpu(), status: st, lastWrite: last}
			p.done(fmt.Sprintf("%s records, %s facts written; %v to the last write, %v to idle", count(consumed),
				count(st.FactsWritten), run.toLast.Round(time.Millisecond), run.toIdle.Round(time.Millisecond)))
			return run, nil
		}
	}
}

// exitedError says that the node exited, how, and where its log is.
func (n *node) exitedError() error {
	return fmt.Errorf("the node exited (%v); its log: %s", n.exitErr, n.log.Name())
}

// stop stops the node gracefully (SIGTERM: flush, commit, leave) and
// removes its state directory unless keep.
func (n *node) stop(keep bool) error {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-n.exited:
		err = n.exitErr
	case <-time.After(90 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
		err = errors.Join(errors.New("the node did not stop within 90 s: killed"), n.exitErr)
	}
	n.log.Close()
	if !keep {
		os.RemoveAll(n.stateDir)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 0 {
		err = nil
	}
	return err
}
