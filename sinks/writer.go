package sinks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// writer inserts blocks into one table, retrying transient errors.
type writer struct {
	c     *Client
	table string // qualified
	head  string
	s     *scratch
	retry retrier
	log   zerolog.Logger
}

func (s *Schema) newWriter(info *TableInfo, input proto.Input) writer {
	c := s.c
	return writer{
		c:     c,
		table: info.Name,
		head:  insertHead(info.Name, input),
		s:     newScratch(),
		retry: newRetrier(c.e.cfg.Retry),
		log:   c.log.With().Str("table", info.Name).Logger(),
	}
}

// insert sends input (rows rows) as one INSERT, each attempt bounded by
// the query timeout, retrying transient errors as Config.Retry says. A
// failed attempt may have been stored: retries can duplicate rows, which
// ReplacingMergeTree collapses (same key, same _version).
func (w *writer) insert(ctx context.Context, input proto.Input, rows int) error {
	if rows == 0 {
		return nil
	}
	start := time.Now()
	onRetry := func(attempt int, wait time.Duration, err error) {
		w.log.Warn().Err(err).Int("attempt", attempt).Dur("backoff", wait).Int("rows", rows).Msg("insert failed, retrying")
	}
	err := w.retry.run(ctx, onRetry, func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, w.c.e.cfg.QueryTimeout)
		defer cancel()
		return w.c.t.insert(actx, w.head, input, w.s)
	})
	if err != nil {
		return fmt.Errorf("writing %d rows to %s: %w", rows, w.table, err)
	}
	w.log.Debug().Int("rows", rows).Dur("took", time.Since(start)).Msg("inserted batch")
	return nil
}

// FactWriter inserts batches of facts into sales_facts. It is not safe for
// concurrent use: it reuses one block and one buffer for every batch (use
// one writer per goroutine; they can share the Client).
type FactWriter struct {
	w   writer
	blk *factBlock
}

// FactWriter returns a writer for sales_facts.
func (s *Schema) FactWriter() *FactWriter {
	blk := newFactBlock()
	return &FactWriter{w: s.newWriter(s.Facts(), blk.input), blk: blk}
}

// Table returns the qualified name of the table the writer inserts into.
func (w *FactWriter) Table() string { return w.w.table }

// Write inserts rows as one block, retrying transient errors. On error,
// nothing can be assumed about which rows were stored; writing the same
// rows again is harmless.
func (w *FactWriter) Write(ctx context.Context, rows []topology.Fact) error {
	w.blk.reset()
	for i := range rows {
		w.blk.append(&rows[i])
	}
	return w.w.insert(ctx, w.blk.input, w.blk.rows())
}

// MirrorWriter inserts batches of rows into one mirror table. It is not
// safe for concurrent use (see FactWriter).
type MirrorWriter struct {
	w     writer
	table topology.Table
	blk   *mirrorBlock
}

// MirrorWriter returns a writer for the mirror table of t.
func (s *Schema) MirrorWriter(t topology.Table) *MirrorWriter {
	info := s.Mirror(t)
	if info == nil {
		panic("sinks: no mirror table for " + t.String())
	}
	blk := newMirrorBlock(t, info.layout)
	return &MirrorWriter{w: s.newWriter(info, blk.input), table: t, blk: blk}
}

// Table returns the qualified name of the table the writer inserts into.
func (w *MirrorWriter) Table() string { return w.w.table }

// ErrWrongTable is returned by MirrorWriter.Write for a row of another
// table; it is permanent (a wiring bug).
var ErrWrongTable = errors.New("row of another table")

// Write inserts rows, which must all be rows of the writer's table, as one
// block (see FactWriter.Write).
func (w *MirrorWriter) Write(ctx context.Context, rows []topology.Mirror) error {
	w.blk.reset()
	for i := range rows {
		if rows[i].Row.Table != w.table {
			return fmt.Errorf("writing to %s: %w: %s", w.w.table, ErrWrongTable, rows[i].Row.Table)
		}
		w.blk.append(&rows[i])
	}
	return w.w.insert(ctx, w.blk.input, w.blk.rows())
}
