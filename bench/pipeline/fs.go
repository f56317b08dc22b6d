package pipeline

import (
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// DiskWrites counts the bytes Pebble wrote, by kind of file. state.Store
// does not expose Pebble's Metrics, so the Pipeline opens it on a
// filesystem that counts writes (state.Options.FS).
type DiskWrites struct {
	WAL int64 // write-ahead log (*.log)
	// Ingested counts the sstables of checkpoints that the store writes
	// for Pebble to ingest (state.CheckpointIngest), named
	// drivetrain-checkpoint-*.sst.
	Ingested int64
	Tables   int64 // sstables and blob files written by flushes and compactions
	Other    int64 // MANIFEST, OPTIONS, markers
}

// WriteAmp returns Pebble's total write amplification over the writes
// counted: bytes written to the log, to ingested and to other tables per
// byte written to the log or ingested, as Pebble's
// Metrics.Total().WriteAmp() computes it (bytes in = WAL and ingested
// bytes; flushed and compacted table bytes on top). 0 without log writes
// or ingestions (state.CheckpointFlush: its bytes in are the flushes',
// which the names of the files do not tell from compactions').
func (d DiskWrites) WriteAmp() float64 {
	in := d.WAL + d.Ingested
	if in == 0 {
		return 0
	}
	return float64(in+d.Tables) / float64(in)
}

// Sub returns d - e, the writes between two readings.
func (d DiskWrites) Sub(e DiskWrites) DiskWrites {
	return DiskWrites{WAL: d.WAL - e.WAL, Ingested: d.Ingested - e.Ingested, Tables: d.Tables - e.Tables, Other: d.Other - e.Other}
}

// countingFS is a vfs.FS whose writable files count their bytes. Safe for
// concurrent use (Pebble flushes and compacts in background goroutines).
type countingFS struct {
	vfs.FS
	wal, ingested, tables, other atomic.Int64
}

// Unwrap implements vfs.FS.
func (fs *countingFS) Unwrap() vfs.FS { return fs.FS }

func (fs *countingFS) writes() DiskWrites {
	return DiskWrites{WAL: fs.wal.Load(), Ingested: fs.ingested.Load(), Tables: fs.tables.Load(), Other: fs.other.Load()}
}

func (fs *countingFS) counter(name string) *atomic.Int64 {
	switch {
	case strings.HasSuffix(name, ".log"):
		return &fs.wal
	case strings.HasPrefix(filepath.Base(name), "drivetrain-checkpoint-"):
		return &fs.ingested
	case strings.HasSuffix(name, ".sst"), strings.HasSuffix(name, ".blob"):
		return &fs.tables
	}
	return &fs.other
}

func (fs *countingFS) wrap(f vfs.File, err error, name string) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	return &countingFile{File: f, n: fs.counter(name)}, nil
}

func (fs *countingFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.wrap(f, err, name)
}

func (fs *countingFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, category, opts...)
	return fs.wrap(f, err, name)
}

func (fs *countingFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.wrap(f, err, newname)
}

type countingFile struct {
	vfs.File
	n *atomic.Int64
}

func (f *countingFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.n.Add(int64(n))
	return n, err
}

func (f *countingFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	f.n.Add(int64(n))
	return n, err
}
