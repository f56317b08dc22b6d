package pipeline

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"syscall"
	"time"
)

// Memory is a reading of the process's memory.
type Memory struct {
	// RSS and HWM are VmRSS and VmHWM of /proc/self/status: resident
	// memory now and at its peak (0 where /proc is missing). They include
	// what Pebble allocates outside the Go heap (block cache, memtables).
	RSS, HWM int64
	// HeapLive is the Go heap live after the last garbage collection
	// (/gc/heap/live:bytes), the steadiest growth signal; HeapObjects the
	// heap in use now, garbage not yet collected included
	// (/memory/classes/heap/objects:bytes); GoTotal all memory the Go
	// runtime mapped (/memory/classes/total:bytes).
	HeapLive, HeapObjects, GoTotal int64
}

var memSamples = []metrics.Sample{
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/total:bytes"},
}

// ReadMemory reads the process's memory. It does not stop the world.
func ReadMemory() Memory {
	s := make([]metrics.Sample, len(memSamples))
	copy(s, memSamples)
	metrics.Read(s)
	m := Memory{
		HeapLive:    int64(s[0].Value.Uint64()),
		HeapObjects: int64(s[1].Value.Uint64()),
		GoTotal:     int64(s[2].Value.Uint64()),
	}
	m.RSS, m.HWM = procStatus()
	return m
}

// procStatus returns VmRSS and VmHWM in bytes.
func procStatus() (rss, hwm int64) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &rss
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &hwm
		default:
			continue
		}
		f := bytes.Fields(line[6:])
		if len(f) == 2 && string(f[1]) == "kB" {
			if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
				*dst = n << 10
			}
		}
	}
	return rss, hwm
}

// CPUTime returns the CPU time (user and system) the process has used,
// every thread included; 0 where getrusage fails.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MB converts bytes to mebibytes.
func MB(n int64) float64 { return float64(n) / (1 << 20) }

// Sample is one reading of a long run.
type Sample struct {
	Elapsed time.Duration
	Stats   Stats // cumulative since the run started
	// Rate is the events per second since the previous sample.
	Rate   float64
	Memory Memory
	Disk   DiskWrites // since the run started
}

// CSVHeader is the header of Sample.CSV's lines.
const CSVHeader = "elapsed_s,events,events_per_s,facts,rss_mb,hwm_mb,heap_live_mb,heap_objects_mb,go_total_mb,wal_mb,tables_mb,write_amp"

// CSV formats s as a line of CSVHeader's columns.
func (s Sample) CSV() string {
	return fmt.Sprintf("%.1f,%d,%.0f,%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.2f",
		s.Elapsed.Seconds(), s.Stats.Events, s.Rate, s.Stats.Facts,
		MB(s.Memory.RSS), MB(s.Memory.HWM), MB(s.Memory.HeapLive), MB(s.Memory.HeapObjects), MB(s.Memory.GoTotal),
		MB(s.Disk.WAL), MB(s.Disk.Tables), s.Disk.WriteAmp())
}

// RunFor processes records for d, calling sample every interval (and at
// the end) with a reading. It stops early if sample returns an error.
func (p *Pipeline) RunFor(d, interval time.Duration, sample func(Sample) error) error {
	start := time.Now()
	base, disk0 := p.stats, p.DiskWrites()
	last, lastEvents := start, int64(0)
	take := func(now time.Time) error {
		st := p.stats.Sub(base)
		s := Sample{
			Elapsed: now.Sub(start),
			Stats:   st,
			Rate:    float64(st.Events-lastEvents) / now.Sub(last).Seconds(),
			Memory:  ReadMemory(),
			Disk:    p.DiskWrites().Sub(disk0),
		}
		last, lastEvents = now, st.Events
		return sample(s)
	}
	for next := start.Add(interval); ; {
		if _, err := p.Step(); err != nil {
			return err
		}
		now := time.Now()
		if now.Sub(start) >= d {
			return take(now)
		}
		if !now.Before(next) {
			if err := take(now); err != nil {
				return err
			}
			next = next.Add(interval)
		}
	}
}

// Slope fits y = a + b·x by least squares and returns b; 0 for fewer than
// two points.
func Slope(x, y []float64) float64 {
	n := float64(len(x))
	if len(x) < 2 || len(x) != len(y) {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
