package workload

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

type table uint8

const (
	tCustomers table = iota
	tVehicles
	tOrders
	tOrderItems
	tPayments
	numTables
)

// Tables lists the source tables in schema order (parents first).
var Tables = []string{"customers", "vehicles", "orders", "order_items", "payments"}

func (t table) String() string { return Tables[t] }

type change uint8

const (
	cInsert change = iota
	cUpdate
	cDelete
	numChanges
)

// tally counts row changes by table and kind.
type tally [numTables][numChanges]int64

func (t *tally) add(o *tally) {
	for i := range t {
		for j := range t[i] {
			t[i][j] += o[i][j]
		}
	}
}

func (t *tally) total() int64 {
	var n int64
	for i := range t {
		for j := range t[i] {
			n += t[i][j]
		}
	}
	return n
}

// TableCounts counts the committed row changes of one table; each is one
// Debezium event (op c, u or d).
type TableCounts struct {
	Insert int64 `json:"insert"`
	Update int64 `json:"update"`
	Delete int64 `json:"delete"`
}

// Total is Insert + Update + Delete.
func (c TableCounts) Total() int64 { return c.Insert + c.Update + c.Delete }

// Report is what a Run did. Counts are exact: one per row that a committed
// transaction inserted, updated or deleted, cascaded deletes included, which
// is one Debezium change event each. Field names are stable (JSON too).
type Report struct {
	// Seed and Scale are the options the run used.
	Seed  uint64 `json:"seed"`
	Scale int    `json:"scale"`
	// StartXID is the transaction id (32-bit, as Debezium's source.txId) of
	// a transaction taken just before the run's first change, seeding
	// included: every change of the run has source.txId > StartXID (as long
	// as xids do not wrap around during the run).
	StartXID uint64 `json:"start_xid"`
	// SeedElapsed is the time spent topping up the catalogue.
	SeedElapsed time.Duration `json:"-"`
	// Elapsed is the duration of the steady mix, seeding excluded.
	Elapsed time.Duration `json:"-"`
	// SeedSeconds and ElapsedSeconds are SeedElapsed and Elapsed in seconds.
	SeedSeconds    float64 `json:"seed_seconds"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// Changes is the number of row changes of the steady mix (seeding
	// excluded); Transactions the number of committed mix transactions.
	Changes      int64 `json:"changes"`
	Transactions int64 `json:"transactions"`
	// Rate is Changes / Elapsed, in changes per second.
	Rate float64 `json:"rate"`
	// Seeded counts the rows inserted to top up the catalogue: customers
	// and vehicles.
	Seeded map[string]int64 `json:"seeded"`
	// Counts has every table of Tables: seeding and steady mix together.
	Counts map[string]TableCounts `json:"counts"`
	// Operations counts the committed mix transactions by kind (new_order,
	// cancel_order, ..., move_item, recreate_order, ...); each half of a
	// move or re-creation split over two transactions counts as one.
	Operations map[string]int64 `json:"operations"`
	// Mismatches counts transactions whose affected rows differed from what
	// the generator planned: someone else changed the same rows. Counts stay
	// exact (they come from PostgreSQL), but the sequence is then no longer
	// reproducible.
	Mismatches int64 `json:"mismatches"`
	// Skipped counts the mix transactions that PostgreSQL rejected with a
	// data error (Options.Strict unset) and that the run rolled back and
	// left out, by SQLSTATE: "22003" (numeric_value_out_of_range), ... They
	// changed nothing and are in no other count; the run made up for their
	// changes with other operations.
	Skipped map[string]int64 `json:"skipped"`
	// SkippedDependents counts the operations left out, unrun, because
	// they touch an order, customer or vehicle of a skipped operation
	// planned before them (they assumed its changes had happened).
	SkippedDependents int64 `json:"skipped_dependents"`
	// Retried counts the transactions run again after a transient
	// failure, by SQLSTATE: "40001" (serialization_failure) and "40P01"
	// (deadlock_detected). A transaction retried twice counts twice.
	Retried map[string]int64 `json:"retried"`
	// Interrupted is true when the context was cancelled before the run's
	// limits were reached.
	Interrupted bool `json:"interrupted"`
}

// SkippedTotal is the number of operations the run left out: the sum of
// Skipped and SkippedDependents.
func (r *Report) SkippedTotal() int64 {
	n := r.SkippedDependents
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

func newReport(seed uint64, scale int) *Report {
	r := &Report{
		Seed:       seed,
		Scale:      scale,
		Seeded:     make(map[string]int64, len(Tables)),
		Counts:     make(map[string]TableCounts, len(Tables)),
		Operations: make(map[string]int64, int(numOpKinds)),
		Skipped:    make(map[string]int64),
		Retried:    make(map[string]int64),
	}
	for _, t := range Tables {
		r.Counts[t] = TableCounts{}
	}
	r.Seeded["customers"], r.Seeded["vehicles"] = 0, 0
	return r
}

func (r *Report) setCounts(t *tally) {
	for i := range t {
		r.Counts[Tables[i]] = TableCounts{Insert: t[i][cInsert], Update: t[i][cUpdate], Delete: t[i][cDelete]}
	}
}

// WriteText writes the report as a short summary and an aligned table of
// row changes by table and operation.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	state := ""
	if r.Interrupted {
		state = " (interrupted)"
	}
	fmt.Fprintf(&b, "%d changes in %d transactions in %s (%.0f changes/s)%s; seed %d, scale %d, start xid %d\n",
		r.Changes, r.Transactions, r.Elapsed.Round(time.Millisecond), r.Rate, state, r.Seed, r.Scale, r.StartXID)
	var seeded []string
	for _, t := range Tables {
		if n := r.Seeded[t]; n > 0 {
			seeded = append(seeded, fmt.Sprintf("%d %s", n, t))
		}
	}
	if len(seeded) > 0 {
		fmt.Fprintf(&b, "catalogue topped up with %s in %s\n", strings.Join(seeded, " and "), r.SeedElapsed.Round(time.Millisecond))
	}
	if r.Mismatches > 0 {
		fmt.Fprintf(&b, "warning: %d transactions affected other rows than planned (concurrent writers?)\n", r.Mismatches)
	}
	if n := r.SkippedTotal(); n > 0 {
		parts := describeCounts(r.Skipped)
		if r.SkippedDependents > 0 {
			if parts != "" {
				parts += ", "
			}
			parts += fmt.Sprintf("%d not run after a skipped operation on the same rows", r.SkippedDependents)
		}
		fmt.Fprintf(&b, "skipped %d operations: %s\n", n, parts)
	}
	if len(r.Retried) > 0 {
		var n int64
		for _, c := range r.Retried {
			n += c
		}
		fmt.Fprintf(&b, "retried transactions %d times after transient failures: %s\n", n, describeCounts(r.Retried))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%-12s %10s %10s %10s %10s\n", "table", "insert", "update", "delete", "total")
	var sum TableCounts
	for _, t := range Tables {
		c := r.Counts[t]
		sum.Insert += c.Insert
		sum.Update += c.Update
		sum.Delete += c.Delete
		fmt.Fprintf(&b, "%-12s %10d %10d %10d %10d\n", t, c.Insert, c.Update, c.Delete, c.Total())
	}
	fmt.Fprintf(&b, "%-12s %10d %10d %10d %10d\n", "all", sum.Insert, sum.Update, sum.Delete, sum.Total())
	if len(r.Operations) > 0 {
		names := make([]string, 0, len(r.Operations))
		for n := range r.Operations {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprintf(&b, "\n%-20s %12s\n", "operation", "transactions")
		for _, n := range names {
			fmt.Fprintf(&b, "%-20s %12d\n", n, r.Operations[n])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Progress is a snapshot of a running generator, passed to
// Options.Progress.
type Progress struct {
	// Phase is "seeding" or "running".
	Phase string
	// Elapsed is the time since the phase started.
	Elapsed time.Duration
	// Changes and Transactions are committed so far in the steady mix.
	Changes      int64
	Transactions int64
	// Rate is the mean rate since the last progress call (over the whole
	// phase in the last call), changes/s.
	Rate float64
	// Limit and Duration repeat the run's limits (0: none), for ETAs.
	Limit    int64
	Duration time.Duration
}
