package oracle

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/drivetrain-cdc/drivetrain/sinks"
)

// key is a row's sort key: one or two int64s (n says how many).
type key struct {
	v [2]int64
	n int
}

func (k key) less(o key) bool {
	for i := 0; i < k.n; i++ {
		if k.v[i] != o.v[i] {
			return k.v[i] < o.v[i]
		}
	}
	return false
}

// row is one canonical row of a comparison.
type row struct {
	key  key
	vals []value
}

// rowSource yields rows in key order; ok is false at the end.
type rowSource interface {
	next(ctx context.Context) (r row, ok bool, err error)
}

// keyOf reads t's key from canonical values.
func keyOf(t *table, vals []value) (key, error) {
	var k key
	for i, c := range t.keyCols {
		v := vals[c]
		n, err := strconv.ParseInt(v.s, 10, 64)
		if v.null || err != nil {
			return key{}, fmt.Errorf("reading key column %s: %q is not an integer", t.cols[c].name, v.s)
		}
		k.v[i] = n
	}
	k.n = len(t.keyCols)
	return k, nil
}

// formatKey formats k with t's key column names ("id=7",
// "order_id=3 order_item_id=9").
func formatKey(t *table, k key) string {
	var b strings.Builder
	for i, name := range t.keyNames() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", name, k.v[i])
	}
	return b.String()
}

// merge walks both sources in key order and records the differences.
func merge(ctx context.Context, t *table, pg, ch rowSource, maxDiffs int) (TableResult, error) {
	res := TableResult{Table: t.name, ClickHouse: t.chName}
	var p, c row
	var pok, cok bool
	var err error
	advance := func(src rowSource, side string, cur *row, ok *bool, n *int64) error {
		prev, had := *cur, *ok
		if *cur, *ok, err = src.next(ctx); err != nil {
			return fmt.Errorf("reading %s: %w", side, err)
		}
		if !*ok {
			return nil
		}
		*n++
		if had && !prev.key.less(cur.key) {
			return fmt.Errorf("reading %s: rows out of key order (%s after %s)", side, formatKey(t, cur.key), formatKey(t, prev.key))
		}
		return nil
	}
	if err := advance(pg, "postgresql", &p, &pok, &res.PGRows); err != nil {
		return res, err
	}
	if err := advance(ch, "clickhouse", &c, &cok, &res.CHRows); err != nil {
		return res, err
	}
	for pok || cok {
		switch {
		case pok && (!cok || p.key.less(c.key)):
			res.Missing++
			if len(res.MissingKeys) < maxDiffs {
				res.MissingKeys = append(res.MissingKeys, formatKey(t, p.key))
			}
			if err := advance(pg, "postgresql", &p, &pok, &res.PGRows); err != nil {
				return res, err
			}
		case cok && (!pok || c.key.less(p.key)):
			res.Extra++
			if len(res.ExtraKeys) < maxDiffs {
				res.ExtraKeys = append(res.ExtraKeys, formatKey(t, c.key))
			}
			if err := advance(ch, "clickhouse", &c, &cok, &res.CHRows); err != nil {
				return res, err
			}
		default:
			if d := diffRow(t, &p, &c); d != nil {
				res.Differing++
				if len(res.Diffs) < maxDiffs {
					res.Diffs = append(res.Diffs, *d)
				}
			}
			if err := advance(pg, "postgresql", &p, &pok, &res.PGRows); err != nil {
				return res, err
			}
			if err := advance(ch, "clickhouse", &c, &cok, &res.CHRows); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// diffRow compares two rows with the same key; nil when equal.
func diffRow(t *table, p, c *row) *RowDiff {
	var d *RowDiff
	for i := range t.cols {
		if p.vals[i].equal(c.vals[i]) {
			continue
		}
		if d == nil {
			d = &RowDiff{Key: formatKey(t, p.key)}
		}
		k := t.cols[i].kind
		d.Columns = append(d.Columns, ColumnDiff{Column: t.cols[i].name, PG: p.vals[i].display(k), CH: c.vals[i].display(k)})
	}
	return d
}

// pgSource reads t's rows from PostgreSQL with one query, streaming.
type pgSource struct {
	t     *table
	rows  pgx.Rows
	dests []any
	texts []pgtype.Text
	dates []pgtype.Date
	times []pgtype.Timestamptz
}

func newPGSource(ctx context.Context, q pgx.Tx, t *table) (*pgSource, error) {
	rows, err := q.Query(ctx, t.pgSQL)
	if err != nil {
		return nil, fmt.Errorf("querying postgresql: %w", err)
	}
	n := len(t.cols)
	s := &pgSource{t: t, rows: rows, dests: make([]any, n),
		texts: make([]pgtype.Text, n), dates: make([]pgtype.Date, n), times: make([]pgtype.Timestamptz, n)}
	for i, c := range t.cols {
		switch c.kind {
		case kindDate:
			s.dests[i] = &s.dates[i]
		case kindTimestamp:
			s.dests[i] = &s.times[i]
		default:
			s.dests[i] = &s.texts[i]
		}
	}
	return s, nil
}

func (s *pgSource) close() { s.rows.Close() }

func (s *pgSource) next(context.Context) (row, bool, error) {
	if !s.rows.Next() {
		return row{}, false, s.rows.Err()
	}
	if err := s.rows.Scan(s.dests...); err != nil {
		return row{}, false, fmt.Errorf("scanning a row: %w", err)
	}
	vals := make([]value, len(s.t.cols))
	for i := range s.t.cols {
		c := &s.t.cols[i]
		switch c.kind {
		case kindDate:
			vals[i] = pgDate(s.dates[i])
		case kindTimestamp:
			vals[i] = pgTimestamp(s.times[i], c.micros)
		default:
			tx := s.texts[i]
			if !tx.Valid {
				vals[i] = value{null: true}
				continue
			}
			switch c.kind {
			case kindInt:
				vals[i] = value{s: canonInt(tx.String)}
			case kindDecimal:
				vals[i] = value{s: canonDecimal(tx.String, c.scale)}
			case kindJSON:
				vals[i] = value{s: canonJSON(tx.String)}
			default:
				vals[i] = value{s: tx.String}
			}
		}
	}
	k, err := keyOf(s.t, vals)
	if err != nil {
		return row{}, false, err
	}
	return row{key: k, vals: vals}, true, nil
}

// chSource reads t's rows from ClickHouse a page at a time, each page a
// query ordered by the key that starts after the previous page's last
// key. Mirror tables are read with FINAL and their deleted rows skipped
// here rather than in a WHERE clause, which old servers may move to
// PREWHERE, before FINAL has picked each key's latest version.
type chSource struct {
	t        *table
	c        *sinks.Client
	pageRows int
	exprs    []string
	offsets  []int  // per column: index of its first expression
	nullable []bool // per column: read as a null flag and a value
	page     [][]string
	pos      int
	last     key
	started  bool
	done     bool
	deleted  int64 // rows skipped as deleted
}

func newCHSource(c *sinks.Client, t *table, pageRows int) *chSource {
	s := &chSource{t: t, c: c, pageRows: pageRows}
	for _, col := range t.cols {
		e := col.chExprs()
		s.offsets = append(s.offsets, len(s.exprs))
		s.nullable = append(s.nullable, len(e) == 2)
		s.exprs = append(s.exprs, e...)
	}
	if t.final {
		s.exprs = append(s.exprs, "toString(_deleted)")
	}
	return s
}

// pageSQL returns the query of the next page.
func (s *chSource) pageSQL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s FROM %s", strings.Join(s.exprs, ", "), s.t.chName)
	if s.t.final {
		b.WriteString(" FINAL")
	}
	names := s.t.keyNames()
	if s.started {
		// (k1, k2) > (a, b), spelled out for servers without tuple
		// comparison.
		b.WriteString(" WHERE ")
		for i := len(names) - 1; i >= 0; i-- {
			cond := fmt.Sprintf("%s > %d", names[i], s.last.v[i])
			for j := i - 1; j >= 0; j-- {
				cond = fmt.Sprintf("%s = %d AND %s", names[j], s.last.v[j], cond)
			}
			if i < len(names)-1 {
				b.WriteString(" OR ")
			}
			b.WriteString("(" + cond + ")")
		}
	}
	fmt.Fprintf(&b, " ORDER BY %s LIMIT %d", strings.Join(names, ", "), s.pageRows)
	return b.String()
}

func (s *chSource) next(ctx context.Context) (row, bool, error) {
	for {
		if s.pos == len(s.page) {
			if s.done {
				return row{}, false, nil
			}
			page, err := s.c.Query(ctx, s.pageSQL(), len(s.exprs))
			if err != nil {
				return row{}, false, err
			}
			s.page, s.pos = page, 0
			s.done = len(page) < s.pageRows
			if len(page) == 0 {
				return row{}, false, nil
			}
		}
		raw := s.page[s.pos]
		s.page[s.pos] = nil
		s.pos++
		r, err := s.parse(raw)
		if err != nil {
			return row{}, false, err
		}
		s.last, s.started = r.key, true
		if s.t.final && raw[len(raw)-1] != "0" {
			s.deleted++
			continue
		}
		return r, true, nil
	}
}

func (s *chSource) parse(raw []string) (row, error) {
	vals := make([]value, len(s.t.cols))
	for i := range s.t.cols {
		c := &s.t.cols[i]
		f := raw[s.offsets[i]]
		if s.nullable[i] {
			if f != "0" {
				vals[i] = value{null: true}
				continue
			}
			f = raw[s.offsets[i]+1]
		}
		vals[i] = value{s: c.canonCH(f)}
	}
	k, err := keyOf(s.t, vals)
	if err != nil {
		return row{}, err
	}
	return row{key: k, vals: vals}, nil
}
