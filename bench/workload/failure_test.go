package workload

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

func TestClassify(t *testing.T) {
	pg := func(code string) error {
		return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "from the server"}
	}
	tests := []struct {
		name      string
		in        error
		wantClass failureClass
		wantCode  string
	}{
		{name: "numeric overflow", in: pg("22003"), wantClass: dataError, wantCode: "22003"},
		{name: "jsonb_set on a scalar", in: pg("22023"), wantClass: dataError, wantCode: "22023"},
		{name: "jsonb_set on an array", in: pg("22P02"), wantClass: dataError, wantCode: "22P02"},
		{name: "any other data exception", in: pg("22008"), wantClass: dataError, wantCode: "22008"},
		{name: "check violation", in: pg("23514"), wantClass: dataError, wantCode: "23514"},
		{name: "foreign key violation", in: pg("23503"), wantClass: dataError, wantCode: "23503"},
		{name: "unique violation", in: pg("23505"), wantClass: dataError, wantCode: "23505"},
		{name: "wrapped", in: fmt.Errorf("running new_order (operation 7): %w", pg("22003")), wantClass: dataError, wantCode: "22003"},
		{name: "serialization failure", in: pg("40001"), wantClass: transient, wantCode: "40001"},
		{name: "deadlock", in: fmt.Errorf("wrapped: %w", pg("40P01")), wantClass: transient, wantCode: "40P01"},
		{name: "not null violation is a bug", in: pg("23502"), wantClass: fatal, wantCode: "23502"},
		{name: "order_id trigger is a bug", in: pg("23000"), wantClass: fatal, wantCode: "23000"},
		{name: "missing column", in: pg("42703"), wantClass: fatal, wantCode: "42703"},
		{name: "admin shutdown", in: pg("57P01"), wantClass: fatal, wantCode: "57P01"},
		{name: "statement timeout", in: pg("57014"), wantClass: fatal, wantCode: "57014"},
		{name: "connection lost", in: io.ErrUnexpectedEOF, wantClass: fatal},
		{name: "transaction not committed", in: errors.New("transaction not committed (ROLLBACK)"), wantClass: fatal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, code := classify(tt.in)
			assert.Equal(t, tt.wantClass, class)
			assert.Equal(t, tt.wantCode, code)
		})
	}
}

func TestDescribeCounts(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]int64
		want string
	}{
		{name: "none", in: map[string]int64{}, want: ""},
		{name: "most frequent first", in: map[string]int64{"23505": 1, "22003": 2}, want: "2 numeric_value_out_of_range (22003), 1 unique_violation (23505)"},
		{name: "ties by code", in: map[string]int64{"40P01": 1, "40001": 1}, want: "1 serialization_failure (40001), 1 deadlock_detected (40P01)"},
		{name: "unnamed data exception", in: map[string]int64{"2200X": 3}, want: "3 data_exception (2200X)"},
		{name: "unknown code", in: map[string]int64{"XX001": 1, "22023": 0}, want: "1 XX001 (XX001)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, describeCounts(tt.in))
		})
	}
}
