package pipeline

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

var (
	benchCustomers = flag.Int("pipeline.customers", DefaultCustomers, "customers loaded before BenchmarkPipeline")
	benchVehicles  = flag.Int("pipeline.vehicles", DefaultVehicles, "vehicles loaded before BenchmarkPipeline")
	benchOrders    = flag.Int("pipeline.orders", DefaultOrders, "base orders loaded before BenchmarkPipeline (negative: none)")
	benchSync      = flag.Bool("pipeline.sync", false, "sync every state commit in BenchmarkPipeline")
	benchTrace     = flag.Bool("pipeline.trace", false, "print the state calls per event of each BenchmarkPipeline run")
)

// shared is the loaded pipeline every benchmark of the process reuses
// (loading a million customers takes tens of seconds); TestMain closes it.
var shared *Pipeline

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "closing the benchmark pipeline: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func loaded(b *testing.B) *Pipeline {
	b.Helper()
	if shared != nil {
		return shared
	}
	p, err := Open(Options{
		Customers: *benchCustomers, Vehicles: *benchVehicles, Orders: *benchOrders,
		Sync: *benchSync, TraceStore: *benchTrace,
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := p.Load(); err != nil {
		b.Fatal(errors.Join(err, p.Close()))
	}
	runtime.GC()
	m := ReadMemory()
	o := p.Options()
	b.Logf("loaded %d customers, %d vehicles, %d base orders in %v: RSS %.0f MB (peak %.0f MB), Go heap live %.0f MB; Pebble wrote WAL %.0f MB, tables %.0f MB",
		o.Customers, o.Vehicles, o.Orders, time.Since(start).Round(time.Millisecond), MB(m.RSS), MB(m.HWM), MB(m.HeapLive),
		MB(p.DiskWrites().WAL), MB(p.DiskWrites().Tables))
	shared = p
	return p
}

// BenchmarkPipeline measures decode → state → join → fact rows per record
// (an op is one record) on the loaded state, with records rendered with
// and without schemas, and state batches of 1 to 1,000 records. Besides
// ns/op, allocs/op and B/op (Pebble's background work included):
//
//   - events/s: records per second of pipeline time (generating the
//     records, 3-5% of the wall time, excluded; ns/op includes it);
//   - cpu-ns/op: the process's CPU time per record (every thread, record
//     generation included): steadier than ns/op on a shared machine;
//   - facts/op: fact rows emitted per record;
//   - rss-MB, hwm-MB: VmRSS and VmHWM at the end;
//   - heap-MB: Go heap live after the last GC;
//   - w-amp: Pebble's write amplification during the run ((WAL + tables
//     written) / WAL).
func BenchmarkPipeline(b *testing.B) {
	for _, bc := range []struct {
		schemasOff bool
		group      int
	}{
		{false, 100}, {true, 100}, {false, 1}, {false, 10}, {false, 1000},
	} {
		schemas := "on"
		if bc.schemasOff {
			schemas = "off"
		}
		b.Run("schemas="+schemas+"/group="+strconv.Itoa(bc.group), func(b *testing.B) {
			p := loaded(b)
			if err := p.Configure(bc.schemasOff, bc.group); err != nil {
				b.Fatal(err)
			}
			trace0, st0, d0 := p.Trace(), p.Stats(), p.DiskWrites()
			b.ReportAllocs()
			start, cpu0 := time.Now(), CPUTime()
			credit := 0
			for b.Loop() {
				if credit == 0 {
					n, err := p.Step()
					if err != nil {
						b.Fatal(err)
					}
					credit = n
				}
				credit--
			}
			elapsed, cpu := time.Since(start), CPUTime()-cpu0
			st := p.Stats().Sub(st0)
			res := Result{Stats: st, Elapsed: elapsed, CPU: cpu, Memory: ReadMemory(), Disk: p.DiskWrites().Sub(d0)}
			b.SetBytes(st.Bytes / max(st.Events, 1))
			b.ReportMetric(res.EventsPerSec(), "events/s")
			b.ReportMetric(res.PerEvent(float64(cpu.Nanoseconds())), "cpu-ns/op")
			b.ReportMetric(res.PerEvent(float64(st.Facts)), "facts/op")
			b.ReportMetric(MB(res.Memory.RSS), "rss-MB")
			b.ReportMetric(MB(res.Memory.HWM), "hwm-MB")
			b.ReportMetric(MB(res.Memory.HeapLive), "heap-MB")
			b.ReportMetric(res.Disk.WriteAmp(), "w-amp")
			if *benchTrace {
				tr := p.Trace()
				for op := range tr.Calls {
					tr.Calls[op] -= trace0.Calls[op]
					tr.Time[op] -= trace0.Time[op]
				}
				w := &logWriter{b: b}
				tr.Write(w, st.Events)
				w.flush()
			}
		})
	}
}

// logWriter sends what is written to b.Log in one call.
type logWriter struct {
	b   *testing.B
	buf []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *logWriter) flush() { w.b.Log("state calls:\n" + string(w.buf)) }
