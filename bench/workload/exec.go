package workload

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
)

// opTimeout bounds one round trip (one or a pipeline of transactions).
// Transactions in flight run to the end even when the run's context is
// cancelled, so that every commit is counted.
const opTimeout = time.Minute

// executor runs planned operations on a pool of connections and tallies
// what PostgreSQL committed.
//
// Ordering: the dispatcher hands operations out in plan order through one
// FIFO queue. Before executing, a worker waits for the previous operation on
// each entity (order, customer or vehicle) the operation touches. So two
// operations on the same rows commit in plan order, exactly as if one
// connection ran them all, while unrelated ones overlap. This cannot
// deadlock: an operation only waits for earlier ones, which workers took
// from the queue before it; a pipeline starts only once its first operation
// may run and holds only operations that need not wait; so the earliest
// unfinished operation is never blocked.
//
// Counting: a transaction's row counts are added only once PostgreSQL
// acknowledged its commit; the first error stops the run.
type executor struct {
	log   zerolog.Logger
	conns []*pgx.Conn

	mu         sync.Mutex // guards the tallies below
	got        tally
	ops        [numOpKinds]int64
	txns       int64
	changes    int64
	mismatches int64

	failOnce sync.Once
	failed   chan struct{} // closed on the first failure
	firstErr error         // set before failed is closed
	aborted  atomic.Bool

	interrupted bool
	elapsed     time.Duration
}

func newExecutor(log zerolog.Logger, conns []*pgx.Conn) *executor {
	return &executor{log: log, conns: conns, failed: make(chan struct{})}
}

func (x *executor) fail(err error) {
	x.failOnce.Do(func() {
		x.firstErr = err
		x.aborted.Store(true)
		close(x.failed)
	})
}

// run plans and executes the steady mix until a limit, cancellation or the
// first failure, and returns after every dispatched operation finished.
func (x *executor) run(ctx context.Context, p *planner, opts *Options) error {
	queue := make(chan *op, 2*len(x.conns))
	var wg sync.WaitGroup
	for _, c := range x.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.work(ctx, c, queue)
		}()
	}
	start := time.Now()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go x.progress(opts, start, stop, stopped)

	err := x.dispatch(ctx, p, opts, queue, start)
	close(queue)
	wg.Wait()
	x.elapsed = time.Since(start)
	close(stop)
	<-stopped
	if x.firstErr != nil {
		return x.firstErr
	}
	return err
}

func (x *executor) dispatch(ctx context.Context, p *planner, opts *Options, queue chan<- *op, start time.Time) error {
	var deadline <-chan time.Time
	if opts.Duration > 0 {
		t := time.NewTimer(opts.Duration)
		defer t.Stop()
		deadline = t.C
	}
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	defer pace.Stop()
	// last holds, per entity, the done channel of the latest operation that
	// touched it. Entries of finished operations are swept now and then; the
	// sweep's order does not matter.
	last := make(map[entity]chan struct{})
	base := start // pacing origin: op i may start at base + changes before it / rate
	var planned int64
	for n := 1; ; n++ {
		if opts.Changes > 0 && planned >= opts.Changes {
			return nil
		}
		select {
		case <-ctx.Done():
			x.interrupted = true
			return nil
		case <-deadline:
			return nil
		case <-x.failed:
			return nil
		default:
		}
		budget := int64(math.MaxInt64)
		if opts.Changes > 0 {
			budget = opts.Changes - planned
		}
		o, err := p.next(ctx, budget)
		if err != nil {
			if ctx.Err() != nil {
				x.interrupted = true
				return nil
			}
			return fmt.Errorf("planning operation %d: %w", p.seq+1, err)
		}
		if opts.Rate > 0 {
			due := base.Add(time.Duration(float64(planned) / opts.Rate * float64(time.Second)))
			now := time.Now()
			if behind := now.Sub(due); behind > time.Second {
				// Fell behind (a stall): catch up at most one second's worth
				// in a burst, not the whole backlog.
				base = base.Add(behind - time.Second)
			} else if wait := -behind; wait > 0 {
				pace.Reset(wait)
				select {
				case <-pace.C:
				case <-ctx.Done():
					x.interrupted = true
					return nil
				case <-deadline:
					return nil
				case <-x.failed:
					return nil
				}
			}
		}
		for _, k := range o.keys {
			if ch, ok := last[k]; ok && ch != o.done {
				o.deps = append(o.deps, ch)
			}
			last[k] = o.done
		}
		select {
		case queue <- o:
		case <-ctx.Done():
			x.interrupted = true
			return nil
		case <-x.failed:
			return nil
		}
		planned += o.want.total()
		if n%8192 == 0 {
			for k, ch := range last {
				select {
				case <-ch:
					delete(last, k)
				default:
				}
			}
		}
	}
}

// maxPipeline bounds how many ready transactions a worker sends in one
// round trip.
const maxPipeline = 8

// work executes operations from queue on conn. When more operations are
// ready than workers, it pipelines up to maxPipeline of them in one round
// trip, each still its own transaction (BEGIN ... COMMIT): that saves
// system calls on both sides when the CPU is the limit, and changes nothing
// at low rates, where each operation finds an idle worker. An operation
// joins a pipeline only if everything it waits for has finished or runs
// earlier in the same pipeline.
func (x *executor) work(ctx context.Context, conn *pgx.Conn, queue <-chan *op) {
	// No cancellation and no deadline in the context (so pgx arms no
	// watcher per query); opTimeout is enforced on the socket instead.
	execCtx := context.WithoutCancel(ctx)
	var next *op // taken from the queue, but could not join the last pipeline
	closed := false
	batch := make([]*op, 0, maxPipeline)
	for {
		first := next
		next = nil
		if first == nil {
			if closed {
				return
			}
			o, ok := <-queue
			if !ok {
				return
			}
			first = o
		}
		for _, d := range first.deps {
			<-d
		}
		batch = append(batch[:0], first)
	collect:
		for !closed && len(batch) < maxPipeline {
			select {
			case o, ok := <-queue:
				if !ok {
					closed = true
					break collect
				}
				if !ready(o, batch) {
					next = o
					break collect
				}
				batch = append(batch, o)
			default:
				break collect
			}
		}
		if !x.aborted.Load() {
			x.execute(execCtx, conn, batch)
		}
		for _, o := range batch {
			o.deps = nil
			close(o.done)
		}
	}
}

// ready reports whether every operation o waits for has finished or is in
// batch (and so runs before o on the same connection).
func ready(o *op, batch []*op) bool {
	for _, d := range o.deps {
		select {
		case <-d:
			continue
		default:
		}
		if !slices.ContainsFunc(batch, func(b *op) bool { return b.done == d }) {
			return false
		}
	}
	return true
}

func (x *executor) execute(ctx context.Context, conn *pgx.Conn, batch []*op) {
	_ = conn.PgConn().Conn().SetDeadline(time.Now().Add(opTimeout))
	got, committed, err := runOps(ctx, conn, batch)
	_ = conn.PgConn().Conn().SetDeadline(time.Time{})
	var mismatched []int
	x.mu.Lock()
	for i, o := range batch[:committed] {
		x.got.add(&got[i])
		x.ops[o.kind]++
		x.txns++
		x.changes += got[i].total()
		if got[i] != o.want {
			x.mismatches++
			if x.mismatches <= 5 {
				mismatched = append(mismatched, i)
			}
		}
	}
	x.mu.Unlock()
	for _, i := range mismatched {
		o := batch[i]
		x.log.Warn().Uint64("seq", o.seq).Str("operation", o.kind.String()).
			Str("planned", fmt.Sprint(o.want)).Str("committed", fmt.Sprint(got[i])).
			Msg("transaction changed other rows than planned; is another client writing?")
	}
	if err != nil {
		o := batch[committed]
		x.fail(fmt.Errorf("running %s (operation %d): %w", o.kind, o.seq, err))
	}
}

// runOps executes ops as one pipelined batch, in one round trip. A single
// operation runs in the implicit transaction of the batch, which commits at
// its final Sync; several run each in its own BEGIN ... COMMIT. It returns
// the rows each operation changed and how many of them (a prefix of ops)
// committed; err, if not nil, belongs to ops[committed].
func runOps(ctx context.Context, conn *pgx.Conn, ops []*op) ([]tally, int, error) {
	got := make([]tally, len(ops))
	explicit := len(ops) > 1
	b := &pgx.Batch{}
	for _, o := range ops {
		if explicit {
			b.Queue("BEGIN")
		}
		for _, s := range o.stmts {
			b.Queue(s.sql, s.args...)
		}
		if explicit {
			b.Queue("COMMIT")
		}
	}
	br := conn.SendBatch(ctx, b)
	for i, o := range ops {
		err := readOp(br, o, &got[i], explicit)
		if err == nil && !explicit {
			err = br.Close() // the implicit transaction commits here
			if err != nil {
				return got, 0, err
			}
			return got, 1, nil
		}
		if err != nil {
			_ = br.Close()
			return got, i, err
		}
	}
	return got, len(ops), br.Close()
}

// readOp reads the results of o's statements (and its BEGIN and COMMIT when
// explicit) into got.
func readOp(br pgx.BatchResults, o *op, got *tally, explicit bool) error {
	if explicit {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	for _, s := range o.stmts {
		if s.kind == countChildren {
			var items, pays int64
			if err := br.QueryRow().Scan(&items, &pays); err != nil {
				return err
			}
			got[tOrderItems][cDelete] += items
			got[tPayments][cDelete] += pays
			continue
		}
		ct, err := br.Exec()
		if err != nil {
			return err
		}
		if s.kind == countRows {
			got[s.table][s.chg] += ct.RowsAffected()
		}
	}
	if explicit {
		ct, err := br.Exec()
		if err != nil {
			return err
		}
		if ct.String() != "COMMIT" { // COMMIT of a failed transaction answers ROLLBACK
			return fmt.Errorf("transaction not committed (%s)", ct.String())
		}
	}
	return nil
}

func (x *executor) progress(opts *Options, start time.Time, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	if opts.Progress == nil {
		<-stop
		return
	}
	t := time.NewTicker(opts.ProgressInterval)
	defer t.Stop()
	lastChanges, lastTime := int64(0), start
	report := func(final bool) {
		x.mu.Lock()
		ch, tx := x.changes, x.txns
		x.mu.Unlock()
		now := time.Now()
		if final { // the mean of the whole run, not of a last short interval
			lastChanges, lastTime = 0, start
		}
		rate := 0.0
		if d := now.Sub(lastTime).Seconds(); d > 0 {
			rate = float64(ch-lastChanges) / d
		}
		opts.Progress(Progress{Phase: "running", Elapsed: now.Sub(start), Changes: ch, Transactions: tx, Rate: rate, Limit: opts.Changes, Duration: opts.Duration})
		lastChanges, lastTime = ch, now
	}
	for {
		select {
		case <-t.C:
			report(false)
		case <-stop:
			report(true)
			return
		}
	}
}

// fill completes rep with what the mix committed; counts holds the seeding.
func (x *executor) fill(rep *Report, counts *tally) {
	x.mu.Lock()
	defer x.mu.Unlock()
	counts.add(&x.got)
	rep.setCounts(counts)
	rep.Changes, rep.Transactions, rep.Mismatches = x.changes, x.txns, x.mismatches
	rep.Elapsed = x.elapsed
	rep.ElapsedSeconds = x.elapsed.Seconds()
	if s := x.elapsed.Seconds(); s > 0 {
		rep.Rate = float64(x.changes) / s
	}
	for k := range numOpKinds {
		rep.Operations[opNames[k]] = x.ops[k]
	}
	rep.Interrupted = x.interrupted
}
