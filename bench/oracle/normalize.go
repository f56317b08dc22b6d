package oracle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Every value is compared in a canonical text form that depends on the
// column's kind (and, for timestamps, on the ClickHouse type): two values
// are equal when their canonical forms are. The canonical form is also
// what a mismatch prints. A value that does not parse as its kind keeps
// its raw text, so it differs from any well-formed value on the other
// side instead of aborting the comparison.

// kind is how a column's values are compared.
type kind uint8

const (
	kindInt       kind = iota // decimal integer text
	kindDecimal               // exact decimal, at least the column's scale
	kindText                  // exact text (CHAR(n) padding included)
	kindJSON                  // JSON, semantically (key order, spacing, number spelling)
	kindDate                  // YYYY-MM-DD
	kindTimestamp             // UTC, seconds or microseconds (see column.micros)
)

// value is a canonical value; null is SQL NULL.
type value struct {
	null bool
	s    string
}

func (v value) equal(w value) bool { return v.null == w.null && v.s == w.s }

// display formats v for a report: NULL bare, text and JSON quoted (so
// padding, tabs and newlines show), long values shortened.
func (v value) display(k kind) string {
	if v.null {
		return "NULL"
	}
	s := v.s
	const limit = 120
	if len(s) > limit {
		cut := limit
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + fmt.Sprintf("…(%d bytes)", len(v.s))
	}
	if k == kindText || k == kindJSON {
		return strconv.Quote(s)
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// canonInt returns the decimal text of an integer, or s unchanged.
func canonInt(s string) string {
	s = strings.TrimSpace(s)
	var n big.Int
	if _, ok := n.SetString(s, 10); !ok {
		return s
	}
	return n.String()
}

// canonDecimal returns the exact value of the decimal s with as many
// fractional digits as it needs but at least scale ("20000" and
// "20000.00" both give "20000.00" at scale 2; "1.5e1" gives "15.00"), or
// s unchanged when it is not a finite decimal.
func canonDecimal(s string, scale int) string {
	s = strings.TrimSpace(s)
	var r big.Rat
	if !isDecimalText(s) {
		return s
	}
	if _, ok := r.SetString(s); !ok {
		return s
	}
	// r is in lowest terms, a finite decimal's denominator is 2^a·5^b, and
	// r·10^d is an integer once the denominator divides 10^d: d =
	// max(a, b) fractional digits hold r exactly.
	digits := 0
	for rem := new(big.Int); rem.Mod(pow10(digits), r.Denom()).Sign() != 0; digits++ {
		if digits > 1000 {
			return s
		}
	}
	return r.FloatString(max(digits, scale))
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// isDecimalText reports whether s is [+-]digits[.digits][e[+-]digits]:
// big.Rat also accepts fractions and prefixed bases, which are not
// decimals.
func isDecimalText(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// canonJSON returns s re-encoded compactly with object keys sorted and
// numbers in canonical decimal form, so that JSON texts with the same
// meaning compare equal; s unchanged when it is not one JSON value.
func canonJSON(s string) string {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return s
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return s
	}
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.String()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeJSON(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case json.Number:
		b.WriteString(canonDecimal(string(v), 0))
	case string:
		writeJSONString(b, v)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}

// Timestamp layouts of the canonical forms.
const (
	secondsLayout = "2006-01-02 15:04:05"
	microsLayout  = "2006-01-02 15:04:05.000000"
)

// clampSeconds converts microseconds since the epoch to what a
// DateTime('UTC') column holds, exactly as package sinks writes it:
// whole seconds rounded down, clamped to [0, 2^32-1] (1970-01-01 to
// 2106-02-07).
func clampSeconds(us int64) int64 {
	s := us / 1e6
	if us < 0 && us%1e6 != 0 {
		s--
	}
	return min(max(s, 0), math.MaxUint32)
}

func formatSeconds(s int64) string { return time.Unix(s, 0).UTC().Format(secondsLayout) }

func formatMicros(us int64) string { return time.UnixMicro(us).UTC().Format(microsLayout) }

// pgTimestamp is the canonical form of a PostgreSQL timestamptz compared
// with a DateTime64(6) column (micros) or a DateTime column.
func pgTimestamp(ts pgtype.Timestamptz, micros bool) value {
	switch {
	case !ts.Valid:
		return value{null: true}
	case ts.InfinityModifier != pgtype.Finite:
		return value{s: ts.InfinityModifier.String()}
	case micros:
		return value{s: formatMicros(ts.Time.UnixMicro())}
	}
	return value{s: formatSeconds(clampSeconds(ts.Time.UnixMicro()))}
}

// chTimestamp is the canonical form of a ClickHouse timestamp read as
// toString(col) (DateTime64: "2024-01-02 03:04:05.123456" in UTC) or as
// toString(toUnixTimestamp(col)) (DateTime).
func chTimestamp(s string, micros bool) string {
	if !micros {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return s
		}
		return formatSeconds(n)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, time.UTC)
	if err != nil {
		return s
	}
	return formatMicros(t.UnixMicro())
}

// pgDate is the canonical form of a PostgreSQL date: YYYY-MM-DD in the
// proleptic Gregorian calendar, the year padded to four digits and
// negative before year 0 (1 BC), as package sinks writes it.
func pgDate(d pgtype.Date) value {
	switch {
	case !d.Valid:
		return value{null: true}
	case d.InfinityModifier != pgtype.Finite:
		return value{s: d.InfinityModifier.String()}
	}
	y, m, day := d.Time.Date()
	sign := ""
	if y < 0 {
		sign, y = "-", -y
	}
	return value{s: fmt.Sprintf("%s%04d-%02d-%02d", sign, y, int(m), day)}
}
