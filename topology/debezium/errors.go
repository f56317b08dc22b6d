package debezium

import (
	"errors"
	"strconv"
)

// ErrorKind classifies why a record could not be decoded. The kinds are
// stable: they are what the dead-letter topic carries (docs/design.md,
// Dead letters) and what metrics are labelled with, so never rename one.
//
// ErrorKind implements error, so errors.Is(err, debezium.TypeMismatch)
// works on any error wrapping an *Error.
type ErrorKind uint8

// The error kinds, in the order of the checks that find them.
const (
	// Oversized: key plus value exceed Options.MaxRecordBytes.
	Oversized ErrorKind = iota + 1
	// UnknownTable: the topic is neither one of the five source tables'
	// topics nor a heartbeat, transaction or message topic.
	UnknownTable
	// MalformedJSON: the bytes are not JSON (syntax, truncation, invalid
	// UTF-8, nesting deeper than the decoder's limit).
	MalformedJSON
	// NotEnvelope: valid JSON, but not a Debezium change event envelope
	// (or its Connect schema is not a struct with before/after).
	NotEnvelope
	// UnknownOp: op is not one of r, c, u, d (t and m are not accepted on
	// a table topic).
	UnknownOp
	// MissingField: a required member is absent or null: op, source,
	// source.ts_ms, the image an op needs, the key or key.id, or a
	// NOT NULL column.
	MissingField
	// TypeMismatch: a value (or a schema field) of the wrong JSON or
	// Connect type for its column, a NULL in a NOT NULL column, invalid
	// base64, or JSON text that does not parse in a json/jsonb column.
	TypeMismatch
	// OutOfRange: a well-typed value that does not fit its column: integer
	// overflow, a decimal that is not exact at the column's scale or
	// exceeds int64 (NaN and ±Infinity included), a date or timestamp
	// beyond int32 days or int64 microseconds. Infinite dates and
	// timestamps are clamped instead (see parseISOTimestamp).
	OutOfRange
	// WrongTable: source.table names another table than the topic's
	// (a record written to the wrong topic); applying it as a row of the
	// topic's table would corrupt that table.
	WrongTable
)

var errorKindNames = [...]string{
	"", "oversized", "unknown_table", "malformed_json", "not_envelope",
	"unknown_op", "missing_field", "type_mismatch", "out_of_range", "wrong_table",
}

// String returns the stable snake_case name of k ("type_mismatch").
func (k ErrorKind) String() string {
	if k > 0 && int(k) < len(errorKindNames) {
		return errorKindNames[k]
	}
	return "error_kind(" + strconv.Itoa(int(k)) + ")"
}

// Error returns k.String(), so a kind can be the target of errors.Is.
func (k ErrorKind) Error() string { return k.String() }

// ErrorKinds lists every kind, for metrics that want to pre-register them.
var ErrorKinds = []ErrorKind{Oversized, UnknownTable, MalformedJSON, NotEnvelope, UnknownOp, MissingField, TypeMismatch, OutOfRange, WrongTable}

// Error is a record that could not be decoded. Use errors.As to get it, or
// errors.Is(err, kind) to test its kind.
type Error struct {
	Kind ErrorKind
	// Path locates the offending field, from the record down:
	// "value.payload.after.unit_price", "value.op" (schemaless),
	// "key.id", "value.schema.after.list_price". It is empty when the whole
	// record is at fault (oversized, unknown table).
	Path string
	// Detail says what was wrong, in lowercase prose.
	Detail string
}

// Error formats e as "<kind>: <path>: <detail>" (without the path when it
// is empty).
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Kind.String() + ": " + e.Detail
	}
	return e.Kind.String() + ": " + e.Path + ": " + e.Detail
}

// Is reports whether target is e's kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(ErrorKind)
	return ok && k == e.Kind
}

// KindOf returns the kind of the *Error in err's chain, or 0.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func newError(kind ErrorKind, path, detail string) *Error {
	return &Error{Kind: kind, Path: path, Detail: detail}
}

// at sets e's path when it has none yet and returns e, for errors raised
// below the level that knows where they are.
func at(err error, path string) error {
	if e, ok := err.(*Error); ok && e.Path == "" {
		e.Path = path
	}
	return err
}
