package workload

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"
)

// opTimeout bounds one round trip (one or a pipeline of transactions).
// Transactions in flight run to the end even when the run's context is
// cancelled, so that every commit is counted.
const opTimeout = time.Minute

// maxRetries bounds the runs of a transaction after transient failures
// (serialization failures, deadlocks); retryBackoff is the pause before
// the first, doubled for each next one.
const (
	maxRetries   = 5
	retryBackoff = 10 * time.Millisecond
)

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
// acknowledged its commit.
//
// Failures (see classify): a transaction that fails with a serialization
// failure or a deadlock runs again, with the ones pipelined after it, up to
// maxRetries times. One that fails with a data error (values written by
// others: a numeric overflow on a list price near the NUMERIC(12,2) bound,
// a check, foreign key or unique violation) rolled back: it is skipped,
// and so is every later operation that depends on it (shares a key with it
// or with another skipped one), since the planner planned them assuming
// its changes. The model then describes changes that never happened, so
// before planning anything else the dispatcher waits for every dispatched
// operation to finish and reloads the model from the database (resync).
// With strict, the first data error stops the run; so does any error of
// another kind, and a transient one still failing after maxRetries.
type executor struct {
	log    zerolog.Logger
	conns  []*pgx.Conn
	strict bool

	mu         sync.Mutex // guards the tallies below
	got        tally
	ops        [numOpKinds]int64
	txns       int64
	changes    int64
	mismatches int64
	skipped    map[string]int64 // by SQLSTATE
	dependents int64            // left out after a skipped operation
	retried    map[string]int64 // by SQLSTATE
	logged     map[string]bool  // SQLSTATEs (and "dependents") already logged

	// unplanned sums the planned changes of skipped operations, which the
	// run makes up for; resync is set when an operation was skipped since
	// the model was last loaded. Both are written before the operation's
	// inflight.Done.
	unplanned atomic.Int64
	resync    atomic.Bool
	inflight  sync.WaitGroup // dispatched operations not finished yet

	failOnce sync.Once
	failed   chan struct{} // closed on the first failure
	firstErr error         // set before failed is closed
	aborted  atomic.Bool

	interrupted bool
	elapsed     time.Duration
}

func newExecutor(log zerolog.Logger, conns []*pgx.Conn, strict bool) *executor {
	return &executor{
		log: log, conns: conns, strict: strict, failed: make(chan struct{}),
		skipped: make(map[string]int64), retried: make(map[string]int64), logged: make(map[string]bool),
	}
}

func (x *executor) fail(err error) {
	x.failOnce.Do(func() {
		x.firstErr = err
		x.aborted.Store(true)
		close(x.failed)
	})
}

// run plans and executes the steady mix until a limit, cancellation or the
// first failure that is not skipped, and returns after every dispatched
// operation finished. load reads the model from the database again after
// skipped operations.
func (x *executor) run(ctx context.Context, p *planner, opts *Options, load func(context.Context) (*model, error)) error {
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

	err := x.dispatch(ctx, p, opts, queue, start, load)
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

func (x *executor) dispatch(ctx context.Context, p *planner, opts *Options, queue chan<- *op, start time.Time, load func(context.Context) (*model, error)) error {
	var deadline <-chan time.Time
	if opts.Duration > 0 {
		t := time.NewTimer(opts.Duration)
		defer t.Stop()
		deadline = t.C
	}
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	defer pace.Stop()
	// last holds, per entity, the latest operation that touched it.
	// Entries of finished operations are swept now and then; the sweep's
	// order does not matter.
	last := make(map[entity]*op)
	base := start // pacing origin: op i may start at base + changes before it / rate
	// planned counts the changes of the dispatched operations, skipped ones
	// included; planned - x.unplanned those that commit unless skipped.
	var planned int64
	for n := 1; ; n++ {
		if opts.Changes > 0 && planned-x.unplanned.Load() >= opts.Changes {
			// Operations in flight may still be skipped: the run is over
			// when they committed, else it makes up for them.
			x.inflight.Wait()
			if planned-x.unplanned.Load() >= opts.Changes {
				return nil
			}
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
		if x.resync.Load() {
			if err := x.reload(ctx, p, load); err != nil {
				if ctx.Err() != nil {
					x.interrupted = true
					return nil
				}
				return err
			}
			clear(last) // every operation finished
		}
		budget := int64(math.MaxInt64)
		if opts.Changes > 0 {
			budget = opts.Changes - (planned - x.unplanned.Load())
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
			if prev, ok := last[k]; ok && prev != o && !slices.Contains(o.deps, prev) {
				o.deps = append(o.deps, prev)
			}
			last[k] = o
		}
		x.inflight.Add(1)
		select {
		case queue <- o:
		case <-ctx.Done():
			x.inflight.Done()
			x.interrupted = true
			return nil
		case <-x.failed:
			x.inflight.Done()
			return nil
		}
		planned += o.want.total()
		if n%8192 == 0 {
			for k, prev := range last {
				select {
				case <-prev.done:
					delete(last, k)
				default:
				}
			}
		}
	}
}

// reload brings the planner's model back in line with the database after
// skipped operations: it waits until every dispatched operation finished
// (so no change of this run is in flight), then reads the model again, as
// at the start of the run. What the skipped operations and those left out
// after them would have changed is then simply absent. Rows between the
// two transactions of a move or a re-creation are forgotten, left deleted
// as when a run stops between them. The planner's random sequence goes
// on, so the run is no longer reproducible from here, as with mismatches.
func (x *executor) reload(ctx context.Context, p *planner, load func(context.Context) (*model, error)) error {
	x.inflight.Wait()
	x.resync.Store(false)
	start := time.Now()
	m, err := load(ctx)
	if err != nil {
		return fmt.Errorf("reloading the rows after a skipped operation: %w", err)
	}
	p.m = m
	x.log.Debug().Int("customers", len(m.customers)).Int("vehicles", len(m.vehicles)).Int("orders", m.liveOrders()).
		Dur("took", time.Since(start)).Msg("reloaded the rows after a skipped operation")
	return nil
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
			<-d.done
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
			o.deps = nil // only o reads them; dropping them lets finished operations go
			close(o.done)
			x.inflight.Done()
		}
	}
}

// ready reports whether every operation o waits for has finished or is in
// batch (and so runs before o on the same connection).
func ready(o *op, batch []*op) bool {
	for _, d := range o.deps {
		select {
		case <-d.done:
			continue
		default:
		}
		if !slices.Contains(batch, d) {
			return false
		}
	}
	return true
}

// execute runs batch, retrying transient failures and skipping data errors
// (see executor). A failed transaction rolled back and the server ignored
// the rest of the pipeline, so what follows it runs again in a new round
// trip.
func (x *executor) execute(ctx context.Context, conn *pgx.Conn, batch []*op) {
	for {
		batch = x.dropDependents(batch)
		if len(batch) == 0 || x.aborted.Load() {
			return
		}
		_ = conn.PgConn().Conn().SetDeadline(time.Now().Add(opTimeout))
		got, committed, err := runOps(ctx, conn, batch)
		rolledBack := true
		if err != nil && !conn.IsClosed() && conn.PgConn().TxStatus() != 'I' {
			// A pipelined BEGIN ... COMMIT that failed is left aborted
			// (the Sync that ends the pipeline does not end it).
			if _, rerr := conn.Exec(ctx, "ROLLBACK"); rerr != nil {
				err, rolledBack = fmt.Errorf("%w (then rolling back: %v)", err, rerr), false
			}
		}
		_ = conn.PgConn().Conn().SetDeadline(time.Time{})
		x.count(batch[:committed], got)
		if err == nil {
			return
		}
		o := batch[committed]
		class, code := classify(err)
		if !rolledBack {
			class = fatal
		}
		switch {
		case class == transient && o.retries < maxRetries:
			o.retries++
			x.retry(o, code, err)
			d := retryBackoff << (o.retries - 1)
			time.Sleep(d/2 + rand.N(d/2)) // jitter: the other party retries too
			batch = batch[committed:]
		case class == dataError && !x.strict:
			x.skip(o, code, err)
			batch = batch[committed+1:]
		default:
			if class == transient {
				err = fmt.Errorf("giving up after %d retries: %w", maxRetries, err)
			}
			x.fail(fmt.Errorf("running %s (operation %d): %w", o.kind, o.seq, err))
			return
		}
	}
}

// dropDependents leaves out, in order, the operations of batch that depend
// on a skipped one, marking them skipped in turn, and returns the others
// (batch itself when it keeps them all: the caller's slice is not
// modified). A dependency is either finished or earlier in batch, so its
// skipped flag is settled.
func (x *executor) dropDependents(batch []*op) []*op {
	var kept []*op
	for i, o := range batch {
		if !slices.ContainsFunc(o.deps, func(d *op) bool { return d.skipped }) {
			if kept != nil {
				kept = append(kept, o)
			}
			continue
		}
		if kept == nil {
			kept = append(make([]*op, 0, len(batch)), batch[:i]...)
		}
		o.skipped = true
		x.unplanned.Add(o.want.total())
		x.resync.Store(true)
		x.mu.Lock()
		x.dependents++
		first := !x.logged["dependents"]
		x.logged["dependents"] = true
		x.mu.Unlock()
		if first {
			x.log.Warn().Str("operation", o.kind.String()).Uint64("seq", o.seq).
				Msg("leaving out operations planned on the rows of a skipped one; later ones are only counted")
		}
	}
	if kept == nil {
		return batch
	}
	return kept
}

// skip records that o rolled back with a data error and is left out. The
// first skip of each SQLSTATE is logged.
func (x *executor) skip(o *op, code string, err error) {
	o.skipped = true
	x.unplanned.Add(o.want.total())
	x.resync.Store(true)
	x.mu.Lock()
	x.skipped[code]++
	first := !x.logged[code]
	x.logged[code] = true
	x.mu.Unlock()
	if first {
		ev := x.log.Warn().Str("sqlstate", code).Str("condition", conditionName(code)).
			Str("operation", o.kind.String()).Uint64("seq", o.seq)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.TableName != "" {
			ev = ev.Str("table", pgErr.TableName)
		}
		ev.Err(err).Msg("skipping a transaction PostgreSQL rejected for its data (rolled back); later ones with this SQLSTATE are only counted")
	}
}

// retry records that o failed with a transient error and runs again. The
// first retry of each SQLSTATE is logged.
func (x *executor) retry(o *op, code string, err error) {
	x.mu.Lock()
	x.retried[code]++
	first := !x.logged[code]
	x.logged[code] = true
	x.mu.Unlock()
	if first {
		x.log.Warn().Str("sqlstate", code).Str("condition", conditionName(code)).
			Str("operation", o.kind.String()).Uint64("seq", o.seq).Err(err).
			Msg("retrying a transaction after a transient failure; later retries with this SQLSTATE are only counted")
	}
}

// count adds the rows that the committed operations changed, as PostgreSQL
// reported them in got, and warns about the first mismatches.
func (x *executor) count(committed []*op, got []tally) {
	var mismatched []int
	x.mu.Lock()
	for i, o := range committed {
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
		o := committed[i]
		x.log.Warn().Uint64("seq", o.seq).Str("operation", o.kind.String()).
			Str("planned", fmt.Sprint(o.want)).Str("committed", fmt.Sprint(got[i])).
			Msg("transaction changed other rows than planned; is another client writing?")
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
	for c, n := range x.skipped {
		rep.Skipped[c] = n
	}
	for c, n := range x.retried {
		rep.Retried[c] = n
	}
	rep.SkippedDependents = x.dependents
	rep.Interrupted = x.interrupted
}
