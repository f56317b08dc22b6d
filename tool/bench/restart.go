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
// for each checkpoint interval. A node of a new group reads the restart
// workload to idle (its state then holds the 1,000,000 customers); the
// suite then writes more of the stream, three tenths of the snapshot's
// size, and kills the node with SIGKILL as soon as it has read all of it:
// a node running at full speed, which loses what it changed since its
// last checkpoint (up to one interval of work) and whose last rows may
// not be committed. A node started with the same id, group, state
// directory and database is timed from its start until it is ready
// (/readyz: bootstrapped, lag below ready_max_lag) and until it is idle.
// It reports the records read twice (by both nodes). Each interval
// adds its records to the topics, after those of the previous one.
func runRestart(ctx context.Context, r *runner) error {
	prefix := r.opts.TopicPrefix + "_restart"
	w := r.restartWorkload()
	if err := r.preload(ctx, prefix, w); err != nil {
		return err
	}
	fmt.Fprintf(r.opts.Progress, "restart: %s customers, %s vehicles, %s orders, %s records, then %s more per interval\n",
		count(int64(w.Customers)), count(int64(w.Vehicles)), count(int64(w.Orders)), count(w.Records), count(restartExtra(w)))
	end := w.Records
	for _, interval := range r.restartIntervals() {
		if err := r.restartOnce(ctx, prefix, w, &end, interval); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.fail("restart", "", fmt.Errorf("checkpoint interval %v: %w", interval, err))
		}
	}
	return nil
}

// restartExtra is the number of records written while the first node
// runs.
func restartExtra(w workload) int64 { return w.Records * 3 / 11 }

// restartOnce measures one interval over the topics holding the first
// *end records of the workload's stream, and adds records to them.
func (r *runner) restartOnce(ctx context.Context, prefix string, w workload, end *int64, interval time.Duration) error {
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
	label := fmt.Sprintf("restart (interval %v)", interval)
	if _, err := r.waitIdle(ctx, first, label+": first node", *end, time.Now()); err != nil {
		_ = first.stop(true)
		return err
	}
	total := *end + restartExtra(w)
	err = r.produceRange(ctx, prefix, w, *end, total)
	*end = total
	if err != nil {
		_ = first.stop(true)
		return err
	}
	consumed, err := r.waitConsumed(ctx, first, label+": first node, to be killed at", total)
	if err != nil {
		_ = first.stop(true)
		return err
	}
	// The second node has the same id, so that it takes the member's
	// place in the group at once (static membership, as a restarted node
	// does).
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
	back, err := r.waitIdle(ctx, second, label+": after kill -9", 0, start)
	if serr := second.stop(true); err == nil && serr != nil {
		err = fmt.Errorf("stopping the node: %w", serr)
	}
	if err != nil {
		return err
	}
	suffix := fmt.Sprintf(" after kill -9 (interval %v)", interval)
	r.add(figureOf("restart", "drivetrain", "ready"+suffix, "s", false, []sample{{value: ready.Seconds()}}))
	r.add(figureOf("restart", "drivetrain", "idle"+suffix, "s", false, []sample{{value: back.toIdle.Seconds(), events: back.consumed, cpu: back.cpu}}))
	r.add(figureOf("restart", "drivetrain", "records read again"+suffix, "records", false, []sample{{value: float64(max(0, consumed+back.consumed-total))}}))
	return nil
}

// waitReady polls the node until its status says ready, and returns
// the time since start.
func (r *runner) waitReady(ctx context.Context, n *node, start time.Time) (time.Duration, error) {
	err := n.poll(ctx, func(st *nodeStatus) bool { return st.Ready })
	return time.Since(start), err
}

// waitConsumed polls the node until it has consumed at least target
// records, and returns the count it read (records read after the last
// poll are not in it).
func (r *runner) waitConsumed(ctx context.Context, n *node, label string, target int64) (int64, error) {
	p := newProgress(r.opts.Progress, r.opts.Terminal, label, target)
	var c int64
	err := n.poll(ctx, func(st *nodeStatus) bool {
		c = sum(st.Consumed)
		p.update(c)
		return c >= target
	})
	if err != nil {
		return 0, err
	}
	p.done(fmt.Sprintf("%s records", count(c)))
	return c, nil
}

// poll reads the node's status every 100 ms until done says so, the node
// exits or ctx ends.
func (n *node) poll(ctx context.Context, done func(*nodeStatus) bool) error {
	for {
		select {
		case <-n.exited:
			return n.exitedError()
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if st, err := n.status(ctx); err == nil && done(st) {
			return nil
		}
	}
}
