package pipeline

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// Result describes a measured run of the streaming phase.
type Result struct {
	Stats   Stats
	Elapsed time.Duration // wall time, record generation included
	// CPU is the process's CPU time, record generation and Pebble's
	// background work included: on a shared machine the steadier measure
	// of cost (see CPUEventsPerSec).
	CPU time.Duration
	// Allocs and AllocBytes are the process's heap allocations during the
	// run (Pebble's background work included, record generation allocates
	// nothing).
	Allocs, AllocBytes uint64
	Memory             Memory     // at the end
	Disk               DiskWrites // during the run
	DiskTotal          DiskWrites // since Open: snapshot load included
}

// Net returns the wall time without record generation: the time the
// pipeline itself took.
func (r Result) Net() time.Duration { return r.Elapsed - r.Stats.GenerateTime }

// EventsPerSec returns records processed per second of Net time.
func (r Result) EventsPerSec() float64 { return rate(r.Stats.Events, r.Net()) }

// CPUEventsPerSec returns records per second of the process's CPU time
// less generation: the events/s of one fully available core.
func (r Result) CPUEventsPerSec() float64 { return rate(r.Stats.Events, r.CPU-r.Stats.GenerateTime) }

// GrossEventsPerSec returns records per second of wall time, generation
// included.
func (r Result) GrossEventsPerSec() float64 { return rate(r.Stats.Events, r.Elapsed) }

// PerEvent divides n by the number of records processed.
func (r Result) PerEvent(n float64) float64 {
	if r.Stats.Events == 0 {
		return 0
	}
	return n / float64(r.Stats.Events)
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Measure processes at least n streaming records and measures them.
func (p *Pipeline) Measure(n int64) (Result, error) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	st0, d0 := p.stats, p.DiskWrites()
	start, cpu0 := time.Now(), CPUTime()
	err := p.Run(n)
	elapsed, cpu := time.Since(start), CPUTime()-cpu0
	runtime.ReadMemStats(&m1)
	return Result{
		Stats:      p.stats.Sub(st0),
		Elapsed:    elapsed,
		CPU:        cpu,
		Allocs:     m1.Mallocs - m0.Mallocs,
		AllocBytes: m1.TotalAlloc - m0.TotalAlloc,
		Memory:     ReadMemory(),
		Disk:       p.DiskWrites().Sub(d0),
		DiskTotal:  p.DiskWrites(),
	}, err
}

// Write prints r for people.
func (r Result) Write(w io.Writer) {
	st := r.Stats
	fmt.Fprintf(w, "events           %d in %v (%v without generating them)\n", st.Events, r.Elapsed.Round(time.Millisecond), r.Net().Round(time.Millisecond))
	fmt.Fprintf(w, "events/s         %.0f (%.0f with generation); per CPU second %.0f (CPU %.0f%% of wall time)\n",
		r.EventsPerSec(), r.GrossEventsPerSec(), r.CPUEventsPerSec(), 100*r.CPU.Seconds()/r.Elapsed.Seconds())
	fmt.Fprintf(w, "per event        %.0f ns, %.2f allocs, %.0f B allocated, %.0f B of record, %.2f facts\n",
		r.PerEvent(float64(r.Net().Nanoseconds())), r.PerEvent(float64(r.Allocs)), r.PerEvent(float64(r.AllocBytes)),
		r.PerEvent(float64(st.Bytes)), r.PerEvent(float64(st.Facts)))
	fmt.Fprintf(w, "batches          %d partition batches, %d global batches, %d checkpoints; commit time %.1f%% of net, checkpoints %.1f%% (%v each)\n",
		st.Batches, st.GlobalBatches, st.Checkpoints, 100*st.CommitTime.Seconds()/r.Net().Seconds(),
		100*st.CheckpointTime.Seconds()/r.Net().Seconds(), checkpointMean(st).Round(time.Millisecond))
	if st.StepTime > 0 {
		fmt.Fprintf(w, "phases           step %.0f ns/event, commit %.0f ns/event\n",
			r.PerEvent(float64(st.StepTime)), r.PerEvent(float64(st.CommitTime)))
	}
	m := r.Memory
	fmt.Fprintf(w, "memory           RSS %.0f MB (peak %.0f MB), Go heap live %.0f MB, in use %.0f MB, runtime total %.0f MB\n",
		MB(m.RSS), MB(m.HWM), MB(m.HeapLive), MB(m.HeapObjects), MB(m.GoTotal))
	fmt.Fprintf(w, "pebble writes    run: WAL %.0f MB, ingested %.0f MB, tables %.0f MB, write amp %.2f; since open: WAL %.0f MB, ingested %.0f MB, tables %.0f MB, write amp %.2f\n",
		MB(r.Disk.WAL), MB(r.Disk.Ingested), MB(r.Disk.Tables), r.Disk.WriteAmp(),
		MB(r.DiskTotal.WAL), MB(r.DiskTotal.Ingested), MB(r.DiskTotal.Tables), r.DiskTotal.WriteAmp())
}

// checkpointMean returns the mean time of a checkpoint, 0 without any.
func checkpointMean(st Stats) time.Duration {
	if st.Checkpoints == 0 {
		return 0
	}
	return st.CheckpointTime / time.Duration(st.Checkpoints)
}
