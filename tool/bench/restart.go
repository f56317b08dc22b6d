package bench

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// restartWorkload is the restart suite's state: the process suite's
// sizes (1,000,000 customers, 100,000 vehicles, 200,000 orders; 20,000,
// 2,000 and 10,000 with --quick), their snapshot and some streaming
// after it, in topics of their own (<prefix>_restart.public.*).
func (r *runner) restartWorkload() workload {
	w := workload{Customers: 1_000_000, Vehicles: 100_000, Orders: 200_000, Partitions: 6, Seed: 1}
	if r.opts.Quick {
		w.Customers, w.Vehicles, w.Orders = 20_000, 2_000, 10_000
	}
	// The snapshot holds about Customers + Vehicles + 4 × Orders records
	// (an order, two items and a payment on average); a tenth more of
	// streaming follows.
	snapshot := int64(w.Customers + w.Vehicles + 4*w.Orders)
	w.Records = snapshot + snapshot/10
	return w
}

// restartIntervals are the checkpoint intervals the restart suite
// measures.
func (r *runner) restartIntervals() []time.Duration {
	if r.opts.Quick {
		return []time.Duration{5 * time.Second}
	}
	return []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
}

// runRestart measures how long a node takes to be back after a kill -9,
// for each checkpoint interval: a node of a new group reads the restart
// workload and is killed with SIGKILL once it has read nine tenths of it
// (so it loses what it changed since its last checkpoint, up to one
// interval of work at full speed); a node started on the same group,
// state directory and database is timed from its start until it is
// ready (/readyz: bootstrapped, lag below ready_max_lag) and until it is
// idle, having read the last tenth too. It reports the records read twice
// (by both nodes).
func runRestart(ctx context.Context, r *runner) error {
	prefix := r.opts.TopicPrefix + "_restart"
	w := r.restartWorkload()
	if err := r.preload(ctx, prefix, w); err != nil {
		return err
	}
	fmt.Fprintf(r.opts.Progress, "restart: %s customers, %s vehicles, %s orders, %s records\n",
		count(int64(w.Customers)), count(int64(w.Vehicles)), count(int64(w.Orders)), count(w.Records))
	for _, interval := range r.restartIntervals() {
		if err := r.restartOnce(ctx, prefix, w, interval); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.fail("restart", "", fmt.Errorf("checkpoint interval %v: %w", interval, err))
		}
	}
	return nil
}

func (r *runner) restartOnce(ctx context.Context, prefix string, w workload, interval time.Duration) error {
	name := r.name("restart")
	r.stack.drop, r.stack.groups = append(r.stack.drop, name), append(r.stack.groups, name)
	defer func() {
		r.dropNow(ctx, name)
		deleteGroups(ctx, kadm.NewClient(r.stack.kafka), name)
	}()
	if err := r.ensureSchema(ctx, name); err != nil {
		return err
	}
	env := []string{"DRIVETRAIN_TOPIC_PREFIX=" + prefix, "DRIVETRAIN_PROCESSOR_CHECKPOINT_INTERVAL=" + interval.String()}
	first, err := r.startNode(ctx, name, name, name, "", env...)
	if err != nil {
		return err
	}
	defer os.RemoveAll(first.stateDir)
	killAt := w.Records * 9 / 10
	consumed, err := r.waitConsumed(ctx, first, fmt.Sprintf("restart (interval %v): first node, killed at", interval), killAt)
	if err != nil {
		_ = first.stop(true)
		return err
	}
	// Killed under load: what it changed since its last checkpoint is
	// lost. The second node has the same id, so that it takes the
	// member's place in the group at once (static membership, as a
	// restarted node does).
	// The count read just before the kill (records read after it are
	// read twice but not counted as such).
	if st, err := first.status(ctx); err == nil {
		consumed = max(consumed, sum(st.Consumed))
	}
	_ = first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.exited
	first.log.Close()

	start := time.Now()
	second, err := r.startNode(ctx, name, name, name, first.stateDir, env...)
	if err != nil {
		return err
	}
	ready, err := r.waitReady(ctx, second, start)
	if err != nil {
		_ = second.stop(true)
		return err
	}
	back, err := r.waitIdle(ctx, second, fmt.Sprintf("restart (interval %v): after kill -9", interval), 0, start)
	if serr := second.stop(true); err == nil && serr != nil {
		err = fmt.Errorf("stopping the node: %w", serr)
	}
	if err != nil {
		return err
	}
	label := fmt.Sprintf(" after kill -9 (interval %v)", interval)
	r.add(figureOf("restart", "drivetrain", "ready"+label, "s", false, []sample{{value: ready.Seconds()}}))
	r.add(figureOf("restart", "drivetrain", "idle"+label, "s", false, []sample{{value: back.toIdle.Seconds(), events: back.consumed, cpu: back.cpu}}))
	r.add(figureOf("restart", "drivetrain", "records read again"+label, "records", false, []sample{{value: float64(max(0, consumed+back.consumed-w.Records))}}))
	return nil
}

// waitReady polls the node every 100 ms until its status says ready, and
// returns the time since start.
func (r *runner) waitReady(ctx context.Context, n *node, start time.Time) (time.Duration, error) {
	for {
		select {
		case err := <-n.exited:
			n.exited <- err // waitIdle and stop read it too
			return 0, fmt.Errorf("the node exited (%v); its log: %s", err, n.log.Name())
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if st, err := n.status(ctx); err == nil && st.Ready {
			return time.Since(start), nil
		}
	}
}

// waitConsumed polls the node every 100 ms until it has consumed at
// least target records, and returns the count it read.
func (r *runner) waitConsumed(ctx context.Context, n *node, label string, target int64) (int64, error) {
	p := newProgress(r.opts.Progress, r.opts.Terminal, label, target)
	for {
		select {
		case err := <-n.exited:
			n.exited <- err
			return 0, fmt.Errorf("the node exited (%v); its log: %s", err, n.log.Name())
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		st, err := n.status(ctx)
		if err != nil {
			continue
		}
		c := sum(st.Consumed)
		p.update(c)
		if c >= target {
			p.done(fmt.Sprintf("%s records", count(c)))
			return c, nil
		}
	}
}
