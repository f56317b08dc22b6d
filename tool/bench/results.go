package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// SchemaVersion is the version of the results.json layout that this
// package writes. A change that removes or renames a field, or changes
// a field's meaning, increments it; new fields do not.
const SchemaVersion = 1

// Results is the content of results.json: one run of the suite.
type Results struct {
	// Schema is SchemaVersion at the time of writing.
	Schema int `json:"schema"`
	// Started and Finished bound the run (UTC). A run writes its results
	// after each suite: Finished is absent until the last.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Command is the command line that produced the results.
	Command string `json:"command"`
	// Settings are the options in effect.
	Settings Settings `json:"settings"`
	// Machine describes where the run happened, load included.
	Machine Machine `json:"machine"`
	// Figures are the measured numbers, one per suite, system and name
	// (and rate, for freshness).
	Figures []Figure `json:"figures"`
	// Distributions are latency distributions (freshness), as quantiles.
	Distributions []Distribution `json:"distributions,omitempty"`
	// Series are readings over time (the soak).
	Series []Series `json:"series,omitempty"`
	// Checks compare each peer's sales facts with drivetrain's.
	Checks []Check `json:"checks,omitempty"`
	// Failures are the suites or systems that did not produce figures,
	// with the reason.
	Failures []Failure `json:"failures,omitempty"`
	// Dir is the directory the results were written to (not stored).
	Dir string `json:"-"`
}

// Settings are the options of a run that shape its figures.
type Settings struct {
	Suites []string `json:"suites"`
	Quick  bool     `json:"quick"`
	Runs   int      `json:"runs"`
	// Events is the size of the preloaded topics' workload (records).
	Events int64 `json:"events"`
	// ProcessEvents is the number of records of each in-process run
	// (decode, process, scale, sink).
	ProcessEvents int64 `json:"process_events"`
	// TopicPrefix names the preloaded topics: <prefix>.public.<table>.
	TopicPrefix string `json:"topic_prefix"`
	// Rates is the freshness suite's ladder of source rates (changes/s).
	Rates []float64 `json:"rates,omitempty"`
	// SoakSeconds is the soak suite's duration.
	SoakSeconds float64 `json:"soak_seconds,omitempty"`
}

// Figure is one measured quantity: the median of Runs with their minimum
// and maximum.
type Figure struct {
	// Suite is the suite that measured it (one of Suites).
	Suite string `json:"suite"`
	// System is "drivetrain" or a peer's name (python, kafka-streams,
	// flink).
	System string `json:"system"`
	// Name says what is measured: "throughput", "freshness p50", …
	Name string `json:"name"`
	// Unit of Median, Min, Max and Runs: "events/s", "rows/s", "ms".
	Unit string `json:"unit"`
	// HigherIsBetter is true for rates, false for latencies.
	HigherIsBetter bool `json:"higher_is_better"`
	// Rate is the target source rate (changes/s) of a freshness figure.
	Rate float64 `json:"rate,omitempty"`
	// Customers is the size of the customers table of a scale figure.
	Customers int64 `json:"customers,omitempty"`
	// Events is the number of events (records, rows) of one run.
	Events int64 `json:"events"`
	// Median, Min and Max summarise Runs.
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
	// CPUSecondsPerMillion is the median, over the runs, of the CPU
	// seconds the measured process spent per million events (0 when not
	// measured). It is steadier than a rate on a shared machine.
	CPUSecondsPerMillion float64 `json:"cpu_seconds_per_million_events,omitempty"`
}

// Key identifies a figure across results files.
func (f Figure) Key() string {
	k := f.Suite + "/" + f.System + "/" + f.Name
	if f.Rate > 0 {
		k += fmt.Sprintf("@%g", f.Rate)
	}
	if f.Customers > 0 {
		k += fmt.Sprintf("@%d customers", f.Customers)
	}
	return k
}

// Distribution is a latency distribution as quantiles: Quantiles[i] is
// the latency (Unit) below which a fraction Q[i] of the samples lie.
type Distribution struct {
	Suite   string    `json:"suite"`
	System  string    `json:"system"`
	Name    string    `json:"name"`
	Rate    float64   `json:"rate,omitempty"`
	Unit    string    `json:"unit"`
	Samples int64     `json:"samples"`
	Q       []float64 `json:"q"`
	Values  []float64 `json:"values"`
}

// Series is a quantity over time: Values[i] at T[i] seconds into the
// run.
type Series struct {
	Suite  string    `json:"suite"`
	System string    `json:"system"`
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	T      []float64 `json:"t"`
	Values []float64 `json:"values"`
}

// Check is the comparison of a peer's sales facts with drivetrain's,
// both read from sales_facts_current.
type Check struct {
	System string `json:"system"`
	// Equal is true when the count and the checksum are equal.
	Equal bool `json:"equal"`
	// Facts and Checksum are the peer's; Want* are drivetrain's.
	Facts        int64  `json:"facts"`
	Checksum     string `json:"checksum"`
	WantFacts    int64  `json:"want_facts"`
	WantChecksum string `json:"want_checksum"`
	// Columns are the fact columns the checksum covers.
	Columns []string `json:"columns"`
}

// Failure is a suite or a system that did not finish.
type Failure struct {
	Suite  string `json:"suite"`
	System string `json:"system,omitempty"`
	Error  string `json:"error"`
}

// figureOf summarises the samples of a figure.
func figureOf(suite, system, name, unit string, higher bool, samples []sample) Figure {
	f := Figure{Suite: suite, System: system, Name: name, Unit: unit, HigherIsBetter: higher}
	var cpu []float64
	for _, s := range samples {
		f.Runs = append(f.Runs, s.value)
		f.Events = max(f.Events, s.events)
		if s.cpu > 0 && s.events > 0 {
			cpu = append(cpu, s.cpu.Seconds()*1e6/float64(s.events))
		}
	}
	f.Median, f.Min, f.Max = summarize(f.Runs)
	f.CPUSecondsPerMillion, _, _ = summarize(cpu)
	return f
}

// sample is one run's measurement.
type sample struct {
	value  float64
	events int64
	cpu    time.Duration
}

// summarize returns the median, minimum and maximum of xs (zeros when
// empty).
func summarize(xs []float64) (median, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, s[0], s[n-1]
}

// ReadResults reads a results.json file.
func ReadResults(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d, this build reads %d", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// WriteFile writes r as indented JSON.
func (r *Results) WriteFile(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// figure returns the figure of the given key, if any.
func (r *Results) figure(key string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Key() == key {
			return f, true
		}
	}
	return Figure{}, false
}
