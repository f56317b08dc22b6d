package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReportRejectsHostileNames(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"statement in the database", []string{"--database", "drivetrain.sales_facts; DROP DATABASE drivetrain; --"}, "--database (clickhouse.database): "},
		{"comment in the database", []string{"--database", "x/*"}, "--database (clickhouse.database): "},
		{"quote in the database", []string{"--database", "x' OR '1'='1"}, "--database (clickhouse.database): "},
		{"newline in the database", []string{"--database", "x\nDROP DATABASE drivetrain"}, "--database (clickhouse.database): "},
		{"database starting with a digit", []string{"--database", "1x"}, "starts with a digit"},
		{"long database", []string{"--database", strings.Repeat("d", 10000)}, "longer than 64 bytes"},
		{"statement in the suffix", []string{"--table-suffix", "r1 UNION ALL SELECT * FROM system.users"}, "--table-suffix (clickhouse.table_suffix): "},
		{"dot in the suffix", []string{"--table-suffix", "r1.x"}, "--table-suffix (clickhouse.table_suffix): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// --sql never connects: the names are checked before any SQL
			// is printed or sent.
			out, errOut, code := runCLI(t, append([]string{"report", "--sql"}, tt.args...)...)
			assert.NotZero(t, code)
			assert.Empty(t, out, "no SQL printed")
			assert.Contains(t, errOut, tt.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line: %q", errOut)
			assert.LessOrEqual(t, len(errOut), 300)
		})
	}
}

func TestReportSQLNames(t *testing.T) {
	out, errOut, code := runCLI(t, "report", "--sql", "--database", "analytics_2", "--table-suffix", "r1700000000", "inventory")
	require.Zero(t, code, errOut)
	assert.Contains(t, out, "FROM analytics_2.vehicles_r1700000000 FINAL")
}
