package workload

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// failureClass says what the executor does with a transaction PostgreSQL
// rejected.
type failureClass uint8

const (
	// fatal stops the run: connection loss, timeouts, schema problems,
	// anything the generator cannot reason about.
	fatal failureClass = iota
	// transient failures are retried: the transaction lost a race
	// (serialization failure, deadlock) and runs the same way again.
	transient
	// dataError failures are skipped: the transaction rolled back because
	// of the values it met or wrote (rows the generator did not create,
	// or changed by another client meanwhile), not because of the
	// connection or the schema. Other transactions are unaffected.
	dataError
)

// classify tells how the executor handles err, and the SQLSTATE it
// carries ("" when err is not a PostgreSQL error).
//
// Skipped (data errors): class 22 (data exception: numeric overflow,
// invalid JSON path or parameter, ...), and the integrity violations that
// outside writers cause: check (23514), foreign key (23503) and unique
// (23505). Other class 23 errors (not null, the trigger guarding order_id)
// mean that the generator or the schema is wrong: fatal. Retried: 40001
// and 40P01.
func classify(err error) (failureClass, string) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fatal, ""
	}
	code := pgErr.Code
	switch {
	case code == "40001" || code == "40P01":
		return transient, code
	case strings.HasPrefix(code, "22"), code == "23514", code == "23503", code == "23505":
		return dataError, code
	}
	return fatal, code
}

// conditionNames are PostgreSQL's names of the SQLSTATEs the executor
// retries or skips (Appendix A of its manual), for messages.
var sqlstateNames = map[string]string{
	"22000": "data_exception",
	"22001": "string_data_right_truncation",
	"22003": "numeric_value_out_of_range",
	"22004": "null_value_not_allowed",
	"22007": "invalid_datetime_format",
	"22008": "datetime_field_overflow",
	"22012": "division_by_zero",
	"22021": "character_not_in_repertoire",
	"22023": "invalid_parameter_value",
	"2202E": "array_subscript_error",
	"22026": "string_data_length_mismatch",
	"22032": "invalid_json_text",
	"22P02": "invalid_text_representation",
	"22P05": "untranslatable_character",
	"23503": "foreign_key_violation",
	"23505": "unique_violation",
	"23514": "check_violation",
	"40001": "serialization_failure",
	"40P01": "deadlock_detected",
}

// conditionName returns PostgreSQL's condition name of a SQLSTATE, such as
// "numeric_value_out_of_range" for "22003", for the codes the generator
// skips or retries; other codes of class 22 are "data_exception", and
// unknown ones are returned as they are.
func conditionName(sqlstate string) string {
	if n, ok := sqlstateNames[sqlstate]; ok {
		return n
	}
	if strings.HasPrefix(sqlstate, "22") {
		return "data_exception"
	}
	return sqlstate
}

// describeCounts renders counts by SQLSTATE, most frequent first (then by
// code): "2 numeric_value_out_of_range (22003), 1 check_violation (23514)".
func describeCounts(byCode map[string]int64) string {
	codes := make([]string, 0, len(byCode))
	for c, n := range byCode {
		if n > 0 {
			codes = append(codes, c)
		}
	}
	slices.SortFunc(codes, func(a, b string) int {
		if c := cmp.Compare(byCode[b], byCode[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d %s (%s)", byCode[c], conditionName(c), c)
	}
	return strings.Join(parts, ", ")
}
