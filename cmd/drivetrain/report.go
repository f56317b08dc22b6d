package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/drivetrain-cdc/drivetrain/sinks"
)

var reportCommand = command{
	name:    "report",
	args:    "[report…]",
	summary: "print canned sales analytics from ClickHouse (reports: " + reportNames() + "; default all)",
	run:     runReport,
}

func reportNames() string {
	var n []string
	for _, r := range sinks.Reports {
		n = append(n, r.Name)
	}
	return strings.Join(n, ", ")
}

func runReport(ctx context.Context, a *app, c command, args []string) error {
	fs := newFlagSet(a, c)
	var ep endpoints
	fs.clickhouseFlag(&ep)
	var database, suffix string
	fs.keyString(&database, "database", "clickhouse.database", "ClickHouse database holding drivetrain's tables (empty: the URL's, else drivetrain)")
	fs.keyString(&suffix, "table-suffix", "clickhouse.table_suffix", "read the tables <name>_<suffix> (as written by a replay into new tables)")
	format := fs.String("format", "table", "output format: table, csv or json")
	showSQL := fs.Bool("sql", false, "print each report's SQL instead of running it")
	if err := fs.parse(args); err != nil {
		return err
	}
	if database == "" {
		database = sinks.DefaultDatabase
	}
	// Both names are written into the SQL unquoted, --sql included.
	if err := sinks.CheckName("--database", sinks.Identifier, database); err != nil {
		return err
	}
	if err := sinks.CheckName("--table-suffix", sinks.Suffix, suffix); err != nil {
		return err
	}
	if *format != "table" && *format != "csv" && *format != "json" {
		return fmt.Errorf("--format must be table, csv or json, got %q", *format)
	}
	reports := sinks.Reports
	if names := fs.args(); len(names) > 0 {
		reports = nil
		for _, n := range names {
			r, ok := sinks.ReportNamed(n)
			if !ok {
				return fmt.Errorf("unknown report %q (reports: %s)", n, reportNames())
			}
			reports = append(reports, r)
		}
	}
	if *showSQL {
		for i, r := range reports {
			if i > 0 {
				fmt.Fprintln(a.stdout)
			}
			fmt.Fprintf(a.stdout, "-- %s: %s\n%s;\n", r.Name, r.Title, r.Query(database, suffix))
		}
		return nil
	}
	log := a.log.Level(max(a.log.GetLevel(), zerolog.WarnLevel))
	// The clickhouse section: address, database, credentials, TLS.
	client, err := sinks.Dial(ctx, ep.cfg.ClickHouse, log)
	if err != nil {
		return fmt.Errorf("connecting to clickhouse: %w", err)
	}
	defer client.Close()
	results := make([][][]string, len(reports))
	for i, r := range reports {
		if results[i], err = client.QueryReport(ctx, r); err != nil {
			if strings.Contains(err.Error(), "doesn't exist") {
				return fmt.Errorf("%w (drivetrain writes its tables when a node runs; is --database %s the one it writes to?)", err, client.Database())
			}
			return err
		}
	}
	switch *format {
	case "json":
		return writeReportsJSON(a.stdout, reports, results)
	case "csv":
		return writeReportsCSV(a.stdout, reports, results)
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		writeReportTable(a.stdout, r, results[i])
	}
	return nil
}

// writeReportTable prints a title and an aligned table: numbers right
// aligned, text left aligned.
func writeReportTable(w io.Writer, r sinks.Report, rows [][]string) {
	cols := r.Columns()
	fmt.Fprintln(w, r.Title)
	if len(rows) == 0 {
		fmt.Fprintln(w, "  (no rows)")
		return
	}
	width := make([]int, len(cols))
	numeric := make([]bool, len(cols))
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(c)
		numeric[i] = true
	}
	for _, row := range rows {
		for i, v := range row {
			width[i] = max(width[i], utf8.RuneCountInString(v))
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				numeric[i] = false
			}
		}
	}
	line := func(vals []string) {
		var b strings.Builder
		b.WriteString(" ")
		for i, v := range vals {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(v))
			b.WriteString(" ")
			if numeric[i] {
				b.WriteString(pad + v)
			} else {
				b.WriteString(v + pad)
			}
			b.WriteString(" ")
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(cols)
	rule := make([]string, len(cols))
	for i := range cols {
		rule[i] = strings.Repeat("─", width[i])
	}
	line(rule)
	for _, row := range rows {
		line(row)
	}
}

func writeReportsCSV(w io.Writer, reports []sinks.Report, results [][][]string) error {
	for i, r := range reports {
		if len(reports) > 1 {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "# %s\n", r.Name)
		}
		cw := csv.NewWriter(w)
		if err := cw.Write(r.Columns()); err != nil {
			return err
		}
		if err := cw.WriteAll(results[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeReportsJSON prints {"<report>": [{"<column>": value, …}, …], …};
// numeric values are JSON numbers (exact: written as ClickHouse printed
// them), the rest strings.
func writeReportsJSON(w io.Writer, reports []sinks.Report, results [][][]string) error {
	out := make(map[string][]map[string]any, len(reports))
	for i, r := range reports {
		cols := r.Columns()
		rows := make([]map[string]any, 0, len(results[i]))
		for _, row := range results[i] {
			m := make(map[string]any, len(cols))
			for j, v := range row {
				if _, err := strconv.ParseFloat(v, 64); err == nil {
					m[cols[j]] = json.Number(v)
				} else {
					m[cols[j]] = v
				}
			}
			rows = append(rows, m)
		}
		out[r.Name] = rows
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
