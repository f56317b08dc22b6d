package oracle

import (
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
)

func TestCanonDecimal(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		scale int
		want  string
	}{
		{"trailing zeros trimmed by the server", "20000", 2, "20000.00"},
		{"postgres scale", "20000.00", 2, "20000.00"},
		{"one digit", "20000.5", 2, "20000.50"},
		{"negative", "-150.25", 2, "-150.25"},
		{"negative trimmed", "-1.5", 2, "-1.50"},
		{"small", "0.01", 2, "0.01"},
		{"negative zero", "-0.00", 2, "0.00"},
		{"more digits than the scale", "1.234", 2, "1.234"},
		{"exponent", "1.5e1", 2, "15.00"},
		{"negative exponent", "15E-3", 0, "0.015"},
		{"scale 0 integer", "42", 0, "42"},
		{"plus sign", "+7.10", 0, "7.1"},
		{"spaces", " 3.00 ", 2, "3.00"},
		{"beyond int64", "123456789012345678901234.5", 0, "123456789012345678901234.5"},
		{"not a number stays raw", "NaN", 2, "NaN"},
		{"fraction stays raw", "1/3", 2, "1/3"},
		{"hex stays raw", "0x10", 2, "0x10"},
		{"empty stays raw", "", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, canonDecimal(tt.in, tt.scale))
		})
	}
}

func TestCanonInt(t *testing.T) {
	tests := []struct{ in, want string }{
		{"42", "42"},
		{"-7", "-7"},
		{"+7", "7"},
		{"007", "7"},
		{"18446744073709551615", "18446744073709551615"},
		{"x", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, canonInt(tt.in))
		})
	}
}

func TestCanonJSON(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"identical", `{"a": 1}`, `{"a": 1}`, true},
		{"key order and spacing", `{"b": [1, 2], "a": {"y": null, "x": true}}`, `{"a":{"x":true,"y":null},"b":[1,2]}`, true},
		{"number spelling", `{"n": 1.50}`, `{"n": 1.5}`, true},
		{"exponent", `[1e2]`, `[100]`, true},
		{"escapes", `{"s": "\u00e9\t<&>"}`, `{"s":"é\t<&>"}`, true},
		{"array order matters", `[1, 2]`, `[2, 1]`, false},
		{"different value", `{"a": 1}`, `{"a": 2}`, false},
		{"string vs number", `{"a": "1"}`, `{"a": 1}`, false},
		{"extra key", `{"a": 1}`, `{"a": 1, "b": 2}`, false},
		{"invalid stays raw", `{"a": `, `{"a": `, true},
		{"invalid vs valid", `{"a": 1`, `{"a": 1}`, false},
		{"trailing data is invalid", `{"a": 1} x`, `{"a":1}`, false},
		{"placeholder", `__debezium_unavailable_value`, `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.same, canonJSON(tt.a) == canonJSON(tt.b), "%s vs %s", canonJSON(tt.a), canonJSON(tt.b))
		})
	}
	assert.Equal(t, `{"a":{"x":true,"y":null},"b":[1,2.5,"é"]}`, canonJSON(`{ "b" : [1, 2.50, "\u00e9"], "a": {"y": null, "x": true}}`))
}

func ts(s string) pgtype.Timestamptz {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

func TestPGTimestamp(t *testing.T) {
	tests := []struct {
		name   string
		in     pgtype.Timestamptz
		micros bool
		want   value
	}{
		{"seconds rounds down", ts("2024-03-01T10:00:00.999999Z"), false, value{s: "2024-03-01 10:00:00"}},
		{"seconds in UTC", ts("2024-03-01T10:00:00.5+02:00"), false, value{s: "2024-03-01 08:00:00"}},
		{"before 1970 clamps to 0", ts("1965-05-05T12:00:00.5Z"), false, value{s: "1970-01-01 00:00:00"}},
		{"just before the epoch clamps to 0", ts("1969-12-31T23:59:59.999999Z"), false, value{s: "1970-01-01 00:00:00"}},
		{"after 2106 clamps to the max", ts("2200-01-01T00:00:00Z"), false, value{s: "2106-02-07 06:28:15"}},
		{"the max itself", ts("2106-02-07T06:28:15.7Z"), false, value{s: "2106-02-07 06:28:15"}},
		{"micros exact", ts("2024-03-01T10:00:00.000001Z"), true, value{s: "2024-03-01 10:00:00.000001"}},
		{"micros before 1970", ts("1965-05-05T12:00:00.5Z"), true, value{s: "1965-05-05 12:00:00.500000"}},
		{"null", pgtype.Timestamptz{}, false, value{null: true}},
		{"infinity", pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity}, false, value{s: "infinity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pgTimestamp(tt.in, tt.micros))
		})
	}
}

func TestCHTimestamp(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		micros bool
		want   string
	}{
		{"unix seconds", "1709287200", false, "2024-03-01 10:00:00"},
		{"zero", "0", false, "1970-01-01 00:00:00"},
		{"max", "4294967295", false, "2106-02-07 06:28:15"},
		{"datetime64", "2024-03-01 10:00:00.000001", true, "2024-03-01 10:00:00.000001"},
		{"datetime64 before 1970", "1965-05-05 12:00:00.500000", true, "1965-05-05 12:00:00.500000"},
		{"garbage stays raw", "0000-00-00 00:00:00", false, "0000-00-00 00:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, chTimestamp(tt.in, tt.micros))
		})
	}
}

func TestClampSecondsMatchesSinks(t *testing.T) {
	// sinks.seconds: floor division, clamped to DateTime's range.
	tests := []struct {
		us   int64
		want int64
	}{
		{0, 0},
		{999999, 0},
		{1000000, 1},
		{-1, 0},
		{-1000001, 0},
		{math.MaxUint32*1e6 + 999999, math.MaxUint32},
		{(math.MaxUint32 + 1) * 1e6, math.MaxUint32},
		{math.MinInt64, 0},
		{math.MaxInt64, math.MaxUint32},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, clampSeconds(tt.us), "us=%d", tt.us)
	}
}

func TestPGDate(t *testing.T) {
	date := func(y int, m time.Month, d int) pgtype.Date {
		return pgtype.Date{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Valid: true}
	}
	tests := []struct {
		name string
		in   pgtype.Date
		want value
	}{
		{"ordinary", date(2024, 2, 29), value{s: "2024-02-29"}},
		{"before 1970", date(1950, 3, 4), value{s: "1950-03-04"}},
		{"small year padded", date(33, 1, 2), value{s: "0033-01-02"}},
		{"1 BC is year 0", date(0, 6, 1), value{s: "0000-06-01"}},
		{"2 BC is year -1", date(-1, 6, 1), value{s: "-0001-06-01"}},
		{"null", pgtype.Date{}, value{null: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pgDate(tt.in))
		})
	}
}

func TestValueEqualAndDisplay(t *testing.T) {
	tests := []struct {
		name  string
		a, b  value
		equal bool
	}{
		{"null and null", value{null: true}, value{null: true}, true},
		{"null and empty", value{null: true}, value{}, false},
		{"null and text N", value{null: true}, value{s: "N"}, false},
		{"char padding matters", value{s: "EU "}, value{s: "EU"}, false},
		{"padded equal", value{s: "SHORTVIN         "}, value{s: "SHORTVIN         "}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.equal, tt.a.equal(tt.b))
		})
	}
	assert.Equal(t, "NULL", value{null: true}.display(kindText))
	assert.Equal(t, `"EU "`, value{s: "EU "}.display(kindText))
	assert.Equal(t, `"a\tb\nc"`, value{s: "a\tb\nc"}.display(kindText))
	assert.Equal(t, "20000.00", value{s: "20000.00"}.display(kindDecimal))
	long := value{s: string(make([]byte, 300))}.display(kindDecimal)
	assert.Contains(t, long, "…(300 bytes)")
	// Shortening never splits a UTF-8 sequence.
	s := ""
	for len(s) < 200 {
		s += "é"
	}
	assert.Contains(t, value{s: "x" + s}.display(kindText), `é…(`)
}
