package sinks

import (
	"context"
	"fmt"
	"strings"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// SchemaMismatchError reports every way the existing output tables differ
// from what drivetrain writes. It is permanent: writing anyway could store
// wrong data, so the node stops and a human migrates or drops the tables
// (or points drivetrain at another database or table suffix).
type SchemaMismatchError struct {
	Database string
	Diffs    []SchemaDiff
}

// SchemaDiff is one difference between an existing table and drivetrain's
// definition of it.
type SchemaDiff struct {
	Table  string // table name, without the database
	Column string // empty for a property of the table itself
	Want   string // what drivetrain needs; empty for an unexpected column
	Got    string // what the server has; empty when missing
}

func (d SchemaDiff) String() string {
	name := d.Table
	if d.Column != "" {
		name += "." + d.Column
	}
	switch {
	case d.Got == "" && d.Column != "":
		return name + ": missing column, want " + d.Want
	case d.Got == "":
		return name + ": missing, want " + d.Want
	case d.Want == "":
		return name + ": unexpected column " + d.Got + " without a default"
	}
	return name + ": " + d.Got + ", want " + d.Want
}

func (e *SchemaMismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clickhouse tables in database %s differ from what drivetrain writes: ", e.Database)
	for i, d := range e.Diffs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.String())
	}
	b.WriteString(" (migrate or drop these tables, or use another database or table suffix)")
	return b.String()
}

// Schema is the set of output tables as they exist on the server, checked
// against drivetrain's definitions, with the column types each table
// turned out to have. It makes the writers. It is safe for concurrent use.
type Schema struct {
	c      *Client
	tables map[output]*TableInfo
}

// TableInfo describes one output table as drivetrain writes it.
type TableInfo struct {
	Name    string   // qualified: database.table
	Columns []Column // in insert order
	layout  layout
}

// Facts returns the description of sales_facts.
func (s *Schema) Facts() *TableInfo { return s.tables[outFacts] }

// Mirror returns the description of the mirror table of t.
func (s *Schema) Mirror(t topology.Table) *TableInfo { return s.tables[output(t)] }

// View returns the qualified name of the sales_facts_current view.
func (s *Schema) View() string { return s.c.n.qualified(FactsViewTable) }

// existing is what system.tables and system.columns say about a table.
type existing struct {
	engine     string
	engineFull string
	sortingKey string
	columns    []existingColumn
}

type existingColumn struct {
	name, typ, defaultKind string
}

// inspect reads the tables of the client's database, keyed by name.
func (c *Client) inspect(ctx context.Context) (map[string]*existing, error) {
	db := quoteString(c.n.database)
	rows, err := c.query(ctx, "SELECT name, engine, engine_full, sorting_key FROM system.tables WHERE database = "+db, 4)
	if err != nil {
		return nil, fmt.Errorf("reading system.tables: %w", err)
	}
	out := make(map[string]*existing, len(rows))
	for _, r := range rows {
		out[r[0]] = &existing{engine: r[1], engineFull: r[2], sortingKey: r[3]}
	}
	rows, err = c.query(ctx, "SELECT table, name, type, default_kind FROM system.columns WHERE database = "+db, 4)
	if err != nil {
		return nil, fmt.Errorf("reading system.columns: %w", err)
	}
	for _, r := range rows {
		if t := out[r[0]]; t != nil {
			t.columns = append(t.columns, existingColumn{name: r[1], typ: r[2], defaultKind: r[3]})
		}
	}
	return out, nil
}

func (c *Client) databaseExists(ctx context.Context) (bool, error) {
	rows, err := c.query(ctx, "SELECT name FROM system.databases WHERE name = "+quoteString(c.n.database), 1)
	if err != nil {
		return false, fmt.Errorf("reading system.databases: %w", err)
	}
	return len(rows) > 0, nil
}

// EnsureSchema creates what is missing of the output database, tables and
// view, with the column types the server's version supports best, then
// checks every table: a table whose columns, engine or sorting key differ
// from what drivetrain writes makes it return a *SchemaMismatchError
// listing every difference. Running it again, or on several nodes at once,
// is harmless.
func (c *Client) EnsureSchema(ctx context.Context) (*Schema, error) {
	return c.schema(ctx, true)
}

// CheckSchema is EnsureSchema without creating anything: missing tables
// are differences too.
func (c *Client) CheckSchema(ctx context.Context) (*Schema, error) {
	return c.schema(ctx, false)
}

func (c *Client) schema(ctx context.Context, create bool) (*Schema, error) {
	ok, err := c.databaseExists(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		if !create {
			return nil, &SchemaMismatchError{Database: c.n.database, Diffs: []SchemaDiff{{Table: c.n.database, Want: "database"}}}
		}
		// Only when missing: a user allowed to write the tables need not
		// be allowed to create databases.
		if err := c.Exec(ctx, createDatabaseSQL(c.n)); err != nil {
			return nil, fmt.Errorf("creating database %s: %w", c.n.database, err)
		}
	}
	have, err := c.inspect(ctx)
	if err != nil {
		return nil, err
	}
	pref := layoutFor(c.version)
	if create {
		for _, o := range outputs {
			if have[c.n.table(o.baseName())] == nil {
				if err := c.Exec(ctx, createTableSQL(c.n, o, pref, "")); err != nil {
					return nil, fmt.Errorf("creating table %s: %w", c.n.qualified(o.baseName()), err)
				}
				c.log.Info().Str("table", c.n.qualified(o.baseName())).Msg("created table")
			}
		}
		if have[c.n.table(FactsViewTable)] == nil {
			if err := c.Exec(ctx, createViewSQL(c.n)); err != nil {
				return nil, fmt.Errorf("creating view %s: %w", c.n.qualified(FactsViewTable), err)
			}
			c.log.Info().Str("table", c.n.qualified(FactsViewTable)).Msg("created view")
		}
		// Read back what the server made of it: the check below then also
		// proves that the server spells the types as drivetrain does.
		if have, err = c.inspect(ctx); err != nil {
			return nil, err
		}
	}
	s := &Schema{c: c, tables: make(map[output]*TableInfo, len(outputs))}
	var diffs []SchemaDiff
	for _, o := range outputs {
		name := c.n.table(o.baseName())
		ex := have[name]
		if ex == nil {
			diffs = append(diffs, SchemaDiff{Table: name, Want: "table"})
			continue
		}
		l, d := match(name, o, ex, layoutsFor(c.version))
		if len(d) > 0 {
			diffs = append(diffs, d...)
			continue
		}
		s.tables[o] = &TableInfo{Name: c.n.qualified(o.baseName()), Columns: o.columns(l), layout: l}
	}
	view := c.n.table(FactsViewTable)
	switch v := have[view]; {
	case v == nil:
		diffs = append(diffs, SchemaDiff{Table: view, Want: "view"})
	case v.engine != "View":
		diffs = append(diffs, SchemaDiff{Table: view, Want: "a view", Got: "engine " + v.engine})
	}
	if len(diffs) > 0 {
		return nil, &SchemaMismatchError{Database: c.n.database, Diffs: diffs}
	}
	return s, nil
}

// match compares an existing table with o's definition in each candidate
// layout, returning the first layout that matches, or the differences from
// the first (preferred) layout.
func match(name string, o output, ex *existing, layouts []layout) (layout, []SchemaDiff) {
	var table []SchemaDiff
	call, args := engineCall(ex)
	if !strings.HasSuffix(ex.engine, "ReplacingMergeTree") || len(args) == 0 || args[len(args)-1] != versionColumn {
		table = append(table, SchemaDiff{Table: name, Want: "engine " + replacingEngine, Got: "engine " + call})
	}
	if want := strings.Trim(o.orderBy(), "()"); normType(ex.sortingKey) != normType(want) {
		table = append(table, SchemaDiff{Table: name, Want: "ORDER BY " + o.orderBy(), Got: "ORDER BY " + ex.sortingKey})
	}
	var first []SchemaDiff
	for i, l := range layouts {
		d := compareColumns(name, o.columns(l), ex.columns)
		if len(d) == 0 {
			return l, table
		}
		if i == 0 {
			first = d
		}
	}
	return layouts[0], append(table, first...)
}

func compareColumns(table string, want []Column, got []existingColumn) []SchemaDiff {
	var diffs []SchemaDiff
	byName := make(map[string]existingColumn, len(got))
	for _, c := range got {
		byName[c.name] = c
	}
	expected := make(map[string]bool, len(want))
	for _, w := range want {
		expected[w.Name] = true
		g, ok := byName[w.Name]
		switch {
		case !ok:
			diffs = append(diffs, SchemaDiff{Table: table, Column: w.Name, Want: w.Type})
		case normType(g.typ) != normType(w.Type):
			diffs = append(diffs, SchemaDiff{Table: table, Column: w.Name, Want: w.Type, Got: g.typ})
		case g.defaultKind == "MATERIALIZED" || g.defaultKind == "ALIAS" || g.defaultKind == "EPHEMERAL":
			diffs = append(diffs, SchemaDiff{Table: table, Column: w.Name, Want: w.Type, Got: g.typ + " " + g.defaultKind})
		}
	}
	for _, g := range got {
		// Extra columns with a DEFAULT, MATERIALIZED, ALIAS or EPHEMERAL
		// expression are the user's business; plain ones would be filled
		// with zeros.
		if !expected[g.name] && g.defaultKind == "" {
			diffs = append(diffs, SchemaDiff{Table: table, Column: g.name, Got: g.typ})
		}
	}
	return diffs
}

// normType normalises the spelling of a type or expression: servers differ
// in spaces after commas and in quoting.
func normType(t string) string {
	t = strings.ReplaceAll(t, " ", "")
	return strings.ReplaceAll(t, `"`, `'`)
}

// engineCall splits the engine call at the start of engine_full
// ("ReplicatedReplacingMergeTree('/p', '{replica}', _version) ORDER BY …")
// into the call and its arguments; for an engine written without
// parentheses, the call is the engine's name and there are no arguments.
func engineCall(ex *existing) (call string, args []string) {
	full := ex.engineFull
	if !strings.HasPrefix(full, ex.engine+"(") {
		return ex.engine, nil
	}
	open, depth := len(ex.engine), 0
	for i := open; i < len(full); i++ {
		switch full[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				for _, a := range strings.Split(full[open+1:i], ",") {
					if a = strings.TrimSpace(a); a != "" {
						args = append(args, a)
					}
				}
				return full[:i+1], args
			}
		}
	}
	return ex.engine, nil
}
