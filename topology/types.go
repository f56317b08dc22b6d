package topology

import (
	"math"
	"strconv"
	"time"
)

// Decimal is an exact fixed-point number, Unscaled × 10^-Scale. Money is
// always a Decimal, never a float: NUMERIC(12,2) and the sums of
// docs/design.md, Outputs (Decimal(18,2)) fit the int64 unscaled value exactly.
//
// The zero value is 0 with scale 0.
type Decimal struct {
	Unscaled int64
	Scale    int32
}

// NewDecimal returns unscaled × 10^-scale.
func NewDecimal(unscaled int64, scale int32) Decimal {
	return Decimal{Unscaled: unscaled, Scale: scale}
}

// String formats d with exactly Scale fractional digits ("39.98", "-1.00").
func (d Decimal) String() string {
	return string(d.AppendText(nil))
}

// AppendText appends d formatted as by String to b.
func (d Decimal) AppendText(b []byte) []byte {
	u := d.Unscaled
	neg := u < 0
	var digits [24]byte
	n := len(digits)
	// Work on the magnitude digit by digit without negating, so MinInt64
	// does not overflow.
	for {
		r := u % 10
		if r < 0 {
			r = -r
		}
		n--
		digits[n] = byte('0' + r)
		u /= 10
		if u == 0 {
			break
		}
	}
	mag := digits[n:]
	if neg {
		b = append(b, '-')
	}
	if d.Scale <= 0 {
		b = append(b, mag...)
		for i := int32(0); i < -d.Scale; i++ {
			b = append(b, '0')
		}
		return b
	}
	s := int(d.Scale)
	if len(mag) <= s {
		b = append(b, '0', '.')
		for i := len(mag); i < s; i++ {
			b = append(b, '0')
		}
		return append(b, mag...)
	}
	b = append(b, mag[:len(mag)-s]...)
	b = append(b, '.')
	return append(b, mag[len(mag)-s:]...)
}

// Rescale returns d with the given scale and reports whether the conversion
// was exact and fit in an int64.
func (d Decimal) Rescale(scale int32) (Decimal, bool) {
	u := d.Unscaled
	for s := d.Scale; s < scale; s++ {
		if u > maxInt64/10 || u < minInt64/10 {
			return Decimal{}, false
		}
		u *= 10
	}
	for s := d.Scale; s > scale; s-- {
		if u%10 != 0 {
			return Decimal{}, false
		}
		u /= 10
	}
	return Decimal{Unscaled: u, Scale: scale}, true
}

const (
	maxInt64 = 1<<63 - 1
	minInt64 = -1 << 63
)

// Timestamp is an instant as microseconds since the Unix epoch, UTC: the
// precision of PostgreSQL's timestamptz.
type Timestamp int64

// TimestampOf converts t to a Timestamp, truncating below microseconds.
func TimestampOf(t time.Time) Timestamp { return Timestamp(t.UnixMicro()) }

// Time returns ts as a time.Time in UTC.
func (ts Timestamp) Time() time.Time { return time.UnixMicro(int64(ts)).UTC() }

// String formats ts as RFC 3339 with nanoseconds, in UTC.
func (ts Timestamp) String() string { return ts.Time().Format(time.RFC3339Nano) }

// Date is a calendar date as days since 1970-01-01.
type Date int32

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format(time.DateOnly) }

// Opt is a nullable value: Valid is false for SQL NULL.
type Opt[T any] struct {
	V     T
	Valid bool
}

// Some returns a non-null Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{V: v, Valid: true} }

// itoa is strconv.FormatInt for the few places that format ids.
func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// Month returns the month of ts as ClickHouse's toYYYYMM gives it for
// the DateTime the sink writes (202403 for March 2024): the partition of
// sales_facts. DateTime holds the seconds from 1970-01-01 to 2106-02-07
// 06:28:15 UTC, and the sink clamps an instant outside them to the
// nearest end, so Month does too.
func (ts Timestamp) Month() int {
	s := int64(ts) / 1e6
	if ts < 0 && int64(ts)%1e6 != 0 {
		s--
	}
	s = min(max(s, 0), math.MaxUint32)
	t := time.Unix(s, 0).UTC()
	return t.Year()*100 + int(t.Month())
}
