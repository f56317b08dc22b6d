package dashboard

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Query is one named query of deploy/clickhouse/queries.sql.
type Query struct {
	Name  string // the word before the colon of its comment line
	Title string // the rest of that line
	// SQL is the text as the file holds it: tables in database drivetrain
	// without a suffix, parameters as {name:Type}.
	SQL string
	// Params lists the query's parameters in order of first use.
	Params []Param
	// Columns are the result's column names, in order.
	Columns []string
	// Numeric tells, per column, whether it holds a number or a time
	// (made with toString) rather than text such as a model name.
	Numeric []bool
}

// Param is a parameter of a query: {Name:Type} in its SQL.
type Param struct {
	Name string
	Type string // DateTime, String or Int64
}

var (
	headRe  = regexp.MustCompile(`^-- ([a-z0-9][a-z0-9-]*): (.+)$`)
	paramRe = regexp.MustCompile(`\{([a-z_][a-z0-9_]*):([A-Za-z0-9]+)\}`)
	// tableRe matches the tables a query reads, to move them to the
	// configured database and suffix.
	tableRe = regexp.MustCompile(`\bdrivetrain\.(sales_facts_current|sales_facts|customers|vehicles|orders|order_items|payments)\b`)
	fromRe  = regexp.MustCompile(`\nFROM\b`)
)

// ParseQueries reads the named queries of a queries.sql text: each is a
// comment line "-- name: title" followed by a SELECT that ends with a
// semicolon at the end of a line.
func ParseQueries(text string) ([]Query, error) {
	lines := strings.Split(text, "\n")
	var out []Query
	seen := map[string]bool{}
	for i := 0; i < len(lines); i++ {
		m := headRe.FindStringSubmatch(lines[i])
		if m == nil || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "SELECT ") {
			continue
		}
		var body []string
		j := i + 1
		for ; j < len(lines); j++ {
			body = append(body, lines[j])
			if strings.HasSuffix(lines[j], ";") {
				break
			}
		}
		if j == len(lines) {
			return nil, fmt.Errorf("query %s: no semicolon ends it", m[1])
		}
		q := Query{Name: m[1], Title: m[2], SQL: strings.TrimSuffix(strings.Join(body, "\n"), ";")}
		if seen[q.Name] {
			return nil, fmt.Errorf("query %s: defined twice", q.Name)
		}
		seen[q.Name] = true
		types := map[string]string{}
		for _, pm := range paramRe.FindAllStringSubmatch(q.SQL, -1) {
			name, typ := pm[1], pm[2]
			if t, ok := types[name]; ok {
				if t != typ {
					return nil, fmt.Errorf("query %s: parameter %s is both %s and %s", q.Name, name, t, typ)
				}
				continue
			}
			switch typ {
			case "DateTime", "String", "Int64":
			default:
				return nil, fmt.Errorf("query %s: parameter %s has type %s; want DateTime, String or Int64", q.Name, name, typ)
			}
			types[name] = typ
			q.Params = append(q.Params, Param{Name: name, Type: typ})
		}
		cols, numeric, err := columns(q.SQL)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q.Name, err)
		}
		q.Columns, q.Numeric = cols, numeric
		out = append(out, q)
		i = j
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no queries found")
	}
	return out, nil
}

// columns returns the names of the top-level SELECT list of sql (an
// expression's alias, else the expression) and whether each is made with
// toString, the mark of a number or time.
func columns(sql string) (names []string, numeric []bool, err error) {
	loc := fromRe.FindStringIndex(sql)
	if loc == nil {
		return nil, nil, fmt.Errorf("no FROM at the start of a line")
	}
	for _, expr := range splitTopLevel(sql[len("SELECT "):loc[0]]) {
		expr = strings.TrimSpace(expr)
		name := expr
		if i := strings.LastIndex(expr, " AS "); i >= 0 {
			name = expr[i+len(" AS "):]
		}
		if name == "" {
			return nil, nil, fmt.Errorf("an empty column in the SELECT list")
		}
		names = append(names, name)
		numeric = append(numeric, strings.HasPrefix(expr, "toString("))
	}
	return names, numeric, nil
}

// splitTopLevel splits s at commas outside parentheses and string literals.
func splitTopLevel(s string) []string {
	var out []string
	depth, start, quoted := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Args are the values a page binds to its queries' parameters, by name:
// time.Time for DateTime, string for String, int64 for Int64.
type Args map[string]any

// Bind returns q's SQL for the given database and table suffix (names
// checked with sinks.CheckName by the caller) with every parameter
// replaced by a literal made from its typed value: a DateTime by
// toDateTime(<unix seconds>), an Int64 by its digits, a String by
// unhex('<hex of its bytes>'), so no text a user typed reaches the SQL
// as SQL. ClickHouse 18.16 has no query parameters of its own; this
// works the same on every server.
func (q Query) Bind(database, suffix string, args Args) (string, error) {
	lits := make(map[string]string, len(q.Params))
	for _, p := range q.Params {
		v, ok := args[p.Name]
		if !ok {
			return "", fmt.Errorf("query %s: no value for parameter %s", q.Name, p.Name)
		}
		lit, err := literal(p, v)
		if err != nil {
			return "", fmt.Errorf("query %s: %w", q.Name, err)
		}
		lits[p.Name] = lit
	}
	sql := paramRe.ReplaceAllStringFunc(q.SQL, func(m string) string {
		return lits[paramRe.FindStringSubmatch(m)[1]]
	})
	return tableRe.ReplaceAllStringFunc(sql, func(m string) string {
		table := m[len("drivetrain."):]
		if suffix != "" {
			table += "_" + suffix
		}
		return database + "." + table
	}), nil
}

// literal renders v as a ClickHouse literal of p's type.
func literal(p Param, v any) (string, error) {
	switch p.Type {
	case "DateTime":
		t, ok := v.(time.Time)
		if !ok {
			return "", fmt.Errorf("parameter %s: want a time, got %T", p.Name, v)
		}
		// DateTime holds whole seconds from 1970 to 2106.
		if s := t.Unix(); s < 0 || s > 1<<32-1 {
			return "", fmt.Errorf("parameter %s: %s is outside 1970–2106", p.Name, t.UTC().Format(time.RFC3339))
		}
		return "toDateTime(" + strconv.FormatInt(t.Unix(), 10) + ")", nil
	case "Int64":
		n, ok := v.(int64)
		if !ok {
			return "", fmt.Errorf("parameter %s: want an int64, got %T", p.Name, v)
		}
		return strconv.FormatInt(n, 10), nil
	case "String":
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("parameter %s: want a string, got %T", p.Name, v)
		}
		return "unhex('" + strings.ToUpper(hex.EncodeToString([]byte(s))) + "')", nil
	}
	return "", fmt.Errorf("parameter %s: unsupported type %s", p.Name, p.Type)
}
