package oracle

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Postgres is what Compare needs of PostgreSQL: *pgx.Conn and
// *pgxpool.Pool have it.
type Postgres interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Options tunes Compare. The zero value works.
type Options struct {
	// Schema is the PostgreSQL schema of the source tables; default
	// "public". (The ClickHouse database and table suffix are the
	// client's: sinks.Config.Database and TableSuffix.)
	Schema string
	// MaxDiffs bounds what a TableResult keeps of each kind of difference
	// (differing rows, missing keys, extra keys); the counts are always
	// complete. Default 5.
	MaxDiffs int
	// PageRows is the number of rows read from ClickHouse per query;
	// default 50000.
	PageRows int
}

// Defaults of Options.
const (
	DefaultSchema   = "public"
	DefaultMaxDiffs = 5
	DefaultPageRows = 50000
)

func (o *Options) setDefaults() {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = DefaultMaxDiffs
	}
	if o.PageRows <= 0 {
		o.PageRows = DefaultPageRows
	}
}

// Tables names the comparisons of a Result, in order: the five source
// tables (in the order of docs/design.md, Source data model), then sales_facts_current.
var Tables = func() []string {
	var out []string
	for _, t := range topology.Tables {
		out = append(out, t.String())
	}
	return append(out, sinks.FactsViewTable)
}()

// Result is the outcome of Compare: one TableResult per entry of Tables,
// in that order.
type Result struct {
	Tables []TableResult
}

// TableResult is the comparison of one table.
type TableResult struct {
	// Table is the PostgreSQL table, or sales_facts_current for the facts.
	Table string
	// ClickHouse is the qualified table or view read.
	ClickHouse string
	// PGRows and CHRows count the rows on each side; CHRows counts the
	// non-deleted FINAL rows, CHDeleted the rows skipped as deleted
	// (mirror tables).
	PGRows, CHRows, CHDeleted int64
	// Missing counts keys in PostgreSQL but not in ClickHouse, Extra keys
	// in ClickHouse but not in PostgreSQL, Differing keys on both sides
	// with different values.
	Missing, Extra, Differing int64
	// MissingKeys, ExtraKeys and Diffs are the first Options.MaxDiffs of
	// each, in key order. A key reads "id=7" or "order_id=3 order_item_id=9".
	MissingKeys, ExtraKeys []string
	Diffs                  []RowDiff
}

// RowDiff is a row whose key is on both sides with different values.
type RowDiff struct {
	Key     string
	Columns []ColumnDiff // the differing columns, in table order
}

// ColumnDiff is one differing column: each side's value in canonical
// form (see the package doc), NULL bare, text and JSON quoted in Go
// syntax, long values shortened.
type ColumnDiff struct {
	Column string
	PG, CH string
}

// OK reports whether both sides hold the same rows.
func (t *TableResult) OK() bool { return t.Missing == 0 && t.Extra == 0 && t.Differing == 0 }

// OK reports whether every table matched.
func (r *Result) OK() bool {
	for i := range r.Tables {
		if !r.Tables[i].OK() {
			return false
		}
	}
	return true
}

// Table returns the result of the named table (an entry of Tables), or
// nil.
func (r *Result) Table(name string) *TableResult {
	for i := range r.Tables {
		if r.Tables[i].Table == name {
			return &r.Tables[i]
		}
	}
	return nil
}

// String is a readable report: a summary line, then a line per table
// and, under each table that differs, its first differences. See the
// package doc for an example.
func (r *Result) String() string {
	var b strings.Builder
	var bad []string
	for i := range r.Tables {
		if !r.Tables[i].OK() {
			bad = append(bad, r.Tables[i].Table)
		}
	}
	if len(bad) == 0 {
		fmt.Fprintf(&b, "oracle: OK, %d tables equal\n", len(r.Tables))
	} else {
		fmt.Fprintf(&b, "oracle: MISMATCH in %d of %d tables (%s)\n", len(bad), len(r.Tables), strings.Join(bad, ", "))
	}
	for i := range r.Tables {
		r.Tables[i].write(&b)
	}
	return b.String()
}

func (t *TableResult) write(b *strings.Builder) {
	deleted := ""
	if t.CHDeleted > 0 {
		deleted = fmt.Sprintf(" (+%d deleted)", t.CHDeleted)
	}
	fmt.Fprintf(b, "%s: postgresql %d rows, clickhouse %s %d rows%s: ", t.Table, t.PGRows, t.ClickHouse, t.CHRows, deleted)
	if t.OK() {
		b.WriteString("ok\n")
		return
	}
	fmt.Fprintf(b, "%d missing, %d extra, %d differing\n", t.Missing, t.Extra, t.Differing)
	for _, d := range t.Diffs {
		fmt.Fprintf(b, "  differing %s:", d.Key)
		for _, c := range d.Columns {
			fmt.Fprintf(b, " %s pg=%s ch=%s;", c.Column, c.PG, c.CH)
		}
		b.WriteByte('\n')
	}
	more(b, "differing rows", t.Differing, len(t.Diffs))
	for _, k := range t.MissingKeys {
		fmt.Fprintf(b, "  missing %s (in postgresql, not in clickhouse)\n", k)
	}
	more(b, "missing rows", t.Missing, len(t.MissingKeys))
	for _, k := range t.ExtraKeys {
		fmt.Fprintf(b, "  extra %s (in clickhouse, not in postgresql)\n", k)
	}
	more(b, "extra rows", t.Extra, len(t.ExtraKeys))
}

func more(b *strings.Builder, what string, total int64, shown int) {
	if total > int64(shown) {
		fmt.Fprintf(b, "  … and %d more %s\n", total-int64(shown), what)
	}
}

// Compare compares PostgreSQL's source tables with drivetrain's output in
// ClickHouse: each mirror table's non-deleted FINAL rows with its source
// table, and sales_facts_current with the left join of docs/design.md (Outputs) computed by
// PostgreSQL. Call it once the pipeline is idle; it changes nothing on
// either side. PostgreSQL is read in one REPEATABLE READ READ ONLY
// transaction (one snapshot for every table); ClickHouse's tables are
// found and typed by ch.CheckSchema, with the client's database and table
// suffix.
//
// A mismatch is not an error: it is in the Result (see Result.OK and
// Result.String). Errors are failures to read either side.
func Compare(ctx context.Context, pg Postgres, ch *sinks.Client, opts Options) (*Result, error) {
	opts.setDefaults()
	schema, err := ch.CheckSchema(ctx)
	if err != nil {
		return nil, fmt.Errorf("checking the clickhouse tables: %w", err)
	}
	var tables []*table
	for _, t := range topology.Tables {
		tb, err := mirrorTable(t, schema.Mirror(t), opts.Schema)
		if err != nil {
			return nil, err
		}
		tables = append(tables, tb)
	}
	tb, err := factsTable(schema.Facts(), schema.View(), opts.Schema)
	if err != nil {
		return nil, err
	}
	tables = append(tables, tb)

	tx, err := pg.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("starting a postgresql transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	res := &Result{}
	for _, t := range tables {
		tr, err := compareTable(ctx, tx, ch, t, opts)
		if err != nil {
			return nil, fmt.Errorf("comparing %s: %w", t.name, err)
		}
		res.Tables = append(res.Tables, tr)
	}
	return res, nil
}

func compareTable(ctx context.Context, tx pgx.Tx, ch *sinks.Client, t *table, opts Options) (TableResult, error) {
	pg, err := newPGSource(ctx, tx, t)
	if err != nil {
		return TableResult{}, err
	}
	defer pg.close()
	chs := newCHSource(ch, t, opts.PageRows)
	res, err := merge(ctx, t, pg, chs, opts.MaxDiffs)
	res.CHDeleted = chs.deleted
	return res, err
}

// CompareURLs is Compare with its own connections: PostgreSQL at dsn and
// ClickHouse as chCfg says (database, table suffix, credentials).
func CompareURLs(ctx context.Context, dsn string, chCfg sinks.Config, opts Options) (*Result, error) {
	pg, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgresql: %w", err)
	}
	defer func() { _ = pg.Close(context.WithoutCancel(ctx)) }()
	ch, err := sinks.Dial(ctx, chCfg, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	defer func() { _ = ch.Close() }()
	return Compare(ctx, pg, ch, opts)
}

// CountRows returns the number of rows PostgreSQL holds per entry of
// Tables (sales_facts_current: the rows of docs/design.md's left join (Outputs), one per
// order item), read in one snapshot. Callers use it to tell progress
// while waiting for the pipeline to catch up; it is one cheap query.
func CountRows(ctx context.Context, pg Postgres, schema string) (map[string]int64, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	q := func(t string) string { return pgx.Identifier{schema, t}.Sanitize() }
	var sel []string
	for _, t := range topology.Tables {
		sel = append(sel, "(SELECT count(*) FROM "+q(t.String())+")")
	}
	sel = append(sel, fmt.Sprintf("(SELECT count(*) FROM %s i JOIN %s o ON o.id = i.order_id)", q("order_items"), q("orders")))
	tx, err := pg.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("starting a postgresql transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	counts := make([]int64, len(Tables))
	dests := make([]any, len(counts))
	for i := range counts {
		dests[i] = &counts[i]
	}
	if err := tx.QueryRow(ctx, "SELECT "+strings.Join(sel, ", ")).Scan(dests...); err != nil {
		return nil, fmt.Errorf("counting postgresql rows: %w", err)
	}
	out := make(map[string]int64, len(Tables))
	for i, name := range Tables {
		out[name] = counts[i]
	}
	return out, nil
}
