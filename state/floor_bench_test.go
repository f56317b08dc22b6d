package state

import (
	"encoding/binary"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// BenchmarkWriteFloor measures what Pebble alone costs per key the state
// writes: the store opened with its own options (memtables, filters,
// comparer; commits not synced, as the pipeline benchmark runs), a
// million order rows of 60 bytes already stored, then batches of 180
// keys overwriting rows picked at random, the size of a partition
// fetch's writes. Nothing of drivetrain's encoding, caches or join rules
// runs: each op is one key through the commit pipeline, the memtable,
// its flush and the compactions that follow, which the benchmark waits
// for. It is the floor under the cost of a change, since every applied
// change writes at least its row (bench/pipeline: 1.48 keys per event).
//
//	go test ./state -run '^$' -bench WriteFloor -benchtime 2000000x -cpu 1
//
// The metric cpu-ns/key is the process's CPU time per key, background
// compactions included.
func BenchmarkWriteFloor(b *testing.B) {
	const (
		rows     = 1_000_000
		perBatch = 180
		valueLen = 60
	)
	s, err := Open(b.TempDir(), Options{NoSync: true, Logger: discardLogger{b}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	}()
	var key []byte
	val := make([]byte, valueLen)
	pb := s.db.NewBatch()
	for id := int64(0); id < rows; id++ {
		key = partKey(key[:0], int32(id%6), kindOrder, id)
		if err := pb.Set(key, val, nil); err != nil {
			b.Fatal(err)
		}
		if pb.Count() == 10_000 || id == rows-1 {
			if err := s.commit(pb); err != nil {
				b.Fatal(err)
			}
			if err := pb.Close(); err != nil {
				b.Fatal(err)
			}
			pb = s.db.NewBatch()
		}
	}
	if err := pb.Close(); err != nil {
		b.Fatal(err)
	}
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
	settle(b, s.db)
	r := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for n := 0; n < b.N; {
		pb := s.db.NewBatch()
		for j := 0; j < perBatch && n < b.N; j++ {
			id := r.Int64N(rows)
			key = partKey(key[:0], int32(id%6), kindOrder, id)
			binary.LittleEndian.PutUint64(val, uint64(n))
			if err := pb.Set(key, val, nil); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := s.commit(pb); err != nil {
			b.Fatal(err)
		}
		if err := pb.Close(); err != nil {
			b.Fatal(err)
		}
	}
	settle(b, s.db)
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/key")
}

// settle waits until no flush or compaction runs.
func settle(b *testing.B, db *pebble.DB) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		m := db.Metrics()
		if m.Compact.NumInProgress == 0 && m.Flush.NumInProgress == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("compactions still running after 5 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
