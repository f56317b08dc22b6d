package workload

import (
	"fmt"
	"math"
	"time"
)

// Defaults of Options' zero fields.
const (
	DefaultScale   = 1000
	DefaultWorkers = 8
	maxScale       = 10_000_000
	maxWorkers     = 64
	maxRate        = 1_000_000
)

// Options configure one Run. The zero value works: catalogue of
// DefaultScale, as fast as possible, until the context is cancelled.
// Validation errors name the matching flag of `drivetrain generate`.
type Options struct {
	// Rate is the target number of row changes per second (a change is one
	// inserted, updated or deleted row: one Debezium event). 0 means as fast
	// as possible.
	Rate float64
	// Duration bounds the steady mix (seeding excluded). 0 means no limit.
	Duration time.Duration
	// Changes bounds the row changes of the steady mix; the run then makes
	// exactly this many. 0 means no limit. With Duration too, the run stops
	// at whichever comes first; with neither, when ctx is cancelled.
	Changes int64
	// Seed selects the sequence: the same seed against the same starting
	// database plans the same operations with the same values.
	Seed uint64
	// Scale sizes the catalogue: about Scale customers and Scale/5
	// vehicles, topped up if the tables hold fewer. 0 means DefaultScale.
	Scale int
	// Workers is the number of connections executing transactions
	// concurrently. 0 means DefaultWorkers.
	Workers int
	// Strict stops the run at the first transaction that PostgreSQL
	// rejects, returning its error. By default a transaction that fails
	// with a data error (SQLSTATE class 22, or a check, foreign key or
	// unique violation: rows someone else wrote) is rolled back, skipped,
	// counted in Report.Skipped, and the run goes on. Serialization
	// failures and deadlocks are retried either way.
	Strict bool
	// Progress, if set, is called about every ProgressInterval (0: one
	// second) from a goroutine Run owns, never concurrently, and once more
	// at the end of each phase.
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// Validate reports the first invalid option, naming its flag.
func (o *Options) Validate() error {
	switch {
	case math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return fmt.Errorf("--rate must be a number of changes per second (got %v)", o.Rate)
	case o.Rate < 0:
		return fmt.Errorf("--rate must be ≥ 0 (got %v; 0 means as fast as possible)", o.Rate)
	case o.Rate > maxRate:
		return fmt.Errorf("--rate must be ≤ %d (got %v)", maxRate, o.Rate)
	case o.Duration < 0:
		return fmt.Errorf("--duration must be ≥ 0 (got %v)", o.Duration)
	case o.Changes < 0:
		return fmt.Errorf("--changes must be ≥ 0 (got %d)", o.Changes)
	case o.Scale < 0 || o.Scale > maxScale:
		return fmt.Errorf("--scale must be between 1 and %d (got %d)", maxScale, o.Scale)
	case o.Workers < 0 || o.Workers > maxWorkers:
		return fmt.Errorf("--workers must be between 1 and %d (got %d)", maxWorkers, o.Workers)
	case o.ProgressInterval < 0:
		return fmt.Errorf("progress interval must be ≥ 0 (got %v)", o.ProgressInterval)
	}
	return nil
}

func (o *Options) setDefaults() {
	if o.Scale == 0 {
		o.Scale = DefaultScale
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = time.Second
	}
}
