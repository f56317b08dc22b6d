package debezium

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// decodeDecimalBytes turns the base64 text of a Connect Decimal (the
// big-endian two's-complement unscaled value, BigInteger.toByteArray) into
// an int64. Redundant sign bytes are accepted; a value needing more than 8
// bytes is out of range.
func decodeDecimalBytes(b64 []byte) (int64, error) {
	var buf [48]byte
	if len(b64) == 0 {
		return 0, newError(TypeMismatch, "", "empty decimal bytes")
	}
	if base64.StdEncoding.DecodedLen(len(b64)) > len(buf) {
		return 0, newError(OutOfRange, "", "decimal of "+strconv.Itoa(len(b64))+" base64 characters does not fit in int64")
	}
	enc := base64.StdEncoding
	if len(b64)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	n, err := enc.Decode(buf[:], b64)
	if err != nil || n == 0 {
		return 0, newError(TypeMismatch, "", "decimal is not valid base64: "+strconv.Quote(string(b64)))
	}
	return twosComplement(buf[:n])
}

// twosComplement decodes big-endian two's-complement bytes, sign-extending
// from the first byte.
func twosComplement(b []byte) (int64, error) {
	for len(b) > 1 && ((b[0] == 0x00 && b[1]&0x80 == 0) || (b[0] == 0xff && b[1]&0x80 != 0)) {
		b = b[1:]
	}
	if len(b) > 8 {
		return 0, newError(OutOfRange, "", "decimal of "+strconv.Itoa(len(b))+" bytes does not fit in int64")
	}
	var u uint64
	if b[0]&0x80 != 0 {
		u = ^uint64(0)
	}
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	return int64(u), nil
}

// parseDecimalText parses a decimal in text form (decimal.handling.mode
// string: "39.98"; double: 39.98 or 9.99999999999E9) exactly, at the given
// scale. Digits beyond the scale must be zeros.
func parseDecimalText(t []byte, scale int32) (topology.Decimal, error) {
	i := 0
	neg := false
	if i < len(t) && (t[i] == '-' || t[i] == '+') {
		neg = t[i] == '-'
		i++
	}
	var mant uint64
	digits := 0  // significant digits in mant
	frac := 0    // digits after the point that went into mant
	dropped := 0 // integer digits that did not fit (make it out of range)
	nonzero := false
	sawDigit := false
	sawPoint := false
	for ; i < len(t); i++ {
		c := t[i]
		if c == '.' {
			if sawPoint {
				return topology.Decimal{}, badDecimal(t)
			}
			sawPoint = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		sawDigit = true
		if c != '0' {
			nonzero = true
		}
		if !nonzero {
			if sawPoint {
				frac++
			}
			continue // leading zeros
		}
		if digits >= 19 {
			if !sawPoint {
				dropped++
			} else if c != '0' {
				return topology.Decimal{}, newError(OutOfRange, "", string(t)+" has more digits than an int64 holds")
			}
			continue
		}
		mant = mant*10 + uint64(c-'0')
		digits++
		if sawPoint {
			frac++
		}
	}
	if !sawDigit {
		return topology.Decimal{}, badDecimal(t)
	}
	exp := 0
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		eneg := false
		if i < len(t) && (t[i] == '-' || t[i] == '+') {
			eneg = t[i] == '-'
			i++
		}
		if i == len(t) {
			return topology.Decimal{}, badDecimal(t)
		}
		for ; i < len(t); i++ {
			c := t[i]
			if c < '0' || c > '9' {
				return topology.Decimal{}, badDecimal(t)
			}
			if exp < 10000 {
				exp = exp*10 + int(c-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(t) {
		return topology.Decimal{}, badDecimal(t)
	}
	if dropped > 0 {
		return topology.Decimal{}, newError(OutOfRange, "", string(t)+" does not fit in int64")
	}
	// value = mant × 10^(exp-frac); unscaled at scale = mant × 10^(exp-frac+scale).
	shift := exp - frac + int(scale)
	if mant == 0 {
		return topology.Decimal{Scale: scale}, nil
	}
	for ; shift > 0; shift-- {
		if mant > (1<<63-1)/10 {
			return topology.Decimal{}, newError(OutOfRange, "", string(t)+" does not fit in int64 at scale "+strconv.Itoa(int(scale)))
		}
		mant *= 10
	}
	for ; shift < 0; shift++ {
		if mant%10 != 0 {
			return topology.Decimal{}, newError(OutOfRange, "", string(t)+" is not exact at scale "+strconv.Itoa(int(scale)))
		}
		mant /= 10
	}
	if mant > 1<<63-1 {
		return topology.Decimal{}, newError(OutOfRange, "", string(t)+" does not fit in int64")
	}
	v := int64(mant)
	if neg {
		v = -v
	}
	return topology.Decimal{Unscaled: v, Scale: scale}, nil
}

func badDecimal(t []byte) error {
	s := string(t)
	switch s {
	case "NaN", "Infinity", "-Infinity", "+Infinity":
		return newError(OutOfRange, "", s+" has no decimal value")
	}
	return newError(TypeMismatch, "", strconv.Quote(s)+" is not a decimal number")
}

// looksLikeDecimalText tells a decimal.handling.mode=string value from the
// base64 of precise mode when no schema says which: base64 never contains
// '.' or '-', and NUMERIC with a scale always prints a point.
func looksLikeDecimalText(t []byte) bool {
	switch string(t) {
	case "NaN", "Infinity":
		return true
	}
	for _, c := range t {
		if c == '.' || c == '-' {
			return true
		}
	}
	return false
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digits parses exactly n ASCII digits at t[i:].
func digits(t []byte, i, n int) (int64, bool) {
	if i+n > len(t) {
		return 0, false
	}
	var v int64
	for _, c := range t[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// parseDatePart parses [+-]YYYY[Y…]-MM-DD at the start of t and returns the
// days since the epoch and the bytes consumed.
func parseDatePart(t []byte) (int64, int, bool) {
	i := 0
	neg := false
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		neg = t[i] == '-'
		i++
	}
	ys := i
	for i < len(t) && t[i] >= '0' && t[i] <= '9' && i-ys < 7 {
		i++
	}
	if i-ys < 4 {
		return 0, 0, false
	}
	y, _ := digits(t, ys, i-ys)
	if neg {
		y = -y
	}
	if i+6 > len(t) || t[i] != '-' || t[i+3] != '-' {
		return 0, 0, false
	}
	m, ok1 := digits(t, i+1, 2)
	d, ok2 := digits(t, i+4, 2)
	if !ok1 || !ok2 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, false
	}
	return daysFromCivil(y, m, d), i + 6, true
}

// parseOffset parses Z or ±HH:MM (or ±HHMM, ±HH) at t[i:] and returns the
// offset in seconds east of UTC and the bytes consumed.
func parseOffset(t []byte) (int64, int, bool) {
	if len(t) == 0 {
		return 0, 0, false
	}
	if t[0] == 'Z' || t[0] == 'z' {
		return 0, 1, true
	}
	if t[0] != '+' && t[0] != '-' {
		return 0, 0, false
	}
	h, ok := digits(t, 1, 2)
	if !ok || h > 18 {
		return 0, 0, false
	}
	n := 3
	var m, sec int64
	if n < len(t) {
		if t[n] == ':' {
			n++
		}
		if m, ok = digits(t, n, 2); !ok || m > 59 {
			return 0, 0, false
		}
		n += 2
		if n < len(t) && t[n] == ':' {
			if sec, ok = digits(t, n+1, 2); !ok || sec > 59 {
				return 0, 0, false
			}
			n += 3
		}
	}
	off := h*3600 + m*60 + sec
	if t[0] == '-' {
		off = -off
	}
	return off, n, true
}

// parseISODate parses an io.debezium.time.IsoDate ("2023-11-21Z") or a
// plain YYYY-MM-DD into days since the epoch. PostgreSQL's infinite dates
// ("infinity", "-infinity", or IsoDate's text of Debezium's day sentinels)
// are clamped like the numeric ones (see epochToDate).
func parseISODate(t []byte) (topology.Date, error) {
	days, n, ok := parseDatePart(t)
	if ok && n < len(t) {
		_, m, ok2 := parseOffset(t[n:])
		ok = ok2 && n+m == len(t)
	}
	if !ok {
		if sign := infiniteText(t); sign != 0 {
			return clampDate(sign), nil
		}
		return 0, notTime(t, "a date")
	}
	if sign := infiniteDays(days); sign != 0 {
		return clampDate(sign), nil
	}
	if days < -1<<31 || days > 1<<31-1 {
		return 0, newError(OutOfRange, "", strconv.Quote(string(t))+" does not fit a date")
	}
	return topology.Date(days), nil
}

// parseISOTimestamp parses an ISO-8601 timestamp with an offset
// (io.debezium.time.ZonedTimestamp "2024-02-23T08:52:14.431487Z",
// IsoTimestamp) into microseconds since the epoch. The fraction may have 0
// to 9 digits; digits below the microsecond are truncated. A missing
// offset means UTC. PostgreSQL's "infinity" and "-infinity" (and
// IsoTimestamp's text of Debezium's infinity sentinels) become the
// latest and earliest instants the pipeline clamps to, 2106-02-07T06:28:15Z
// and 1970-01-01T00:00:00Z (ClickHouse DateTime's range, see maxTimestamp),
// so that the row is kept rather than sent to the dead-letter topic.
func parseISOTimestamp(t []byte) (topology.Timestamp, error) {
	if ts, ok := parseZonedFast(t); ok {
		return ts, nil
	}
	if sign := infiniteText(t); sign != 0 {
		return clampTimestamp(sign), nil
	}
	days, i, ok := parseDatePart(t)
	if !ok || i >= len(t) || (t[i] != 'T' && t[i] != 't' && t[i] != ' ') {
		return 0, notTime(t, "a timestamp")
	}
	i++
	h, ok1 := digits(t, i, 2)
	mi, ok2 := digits(t, i+3, 2)
	if !ok1 || !ok2 || t[i+2] != ':' || h > 23 || mi > 59 {
		return 0, notTime(t, "a timestamp")
	}
	i += 5
	var sec, micros int64
	if i < len(t) && t[i] == ':' {
		var ok bool
		if sec, ok = digits(t, i+1, 2); !ok || sec > 59 {
			return 0, notTime(t, "a timestamp")
		}
		i += 3
		if i < len(t) && (t[i] == '.' || t[i] == ',') {
			i++
			fs := i
			for i < len(t) && t[i] >= '0' && t[i] <= '9' {
				if i-fs < 6 {
					micros = micros*10 + int64(t[i]-'0')
				}
				i++
			}
			n := i - fs
			if n == 0 || n > 9 {
				return 0, notTime(t, "a timestamp")
			}
			for ; n < 6; n++ {
				micros *= 10
			}
		}
	}
	var off int64
	if i < len(t) {
		var n int
		off, n, ok = parseOffset(t[i:])
		if !ok || i+n != len(t) {
			return 0, notTime(t, "a timestamp")
		}
	}
	secs := days*86400 + h*3600 + mi*60 + sec - off
	const maxSecs = (1<<63 - 1) / 1_000_000
	if secs > maxSecs-1 || secs < -maxSecs+1 {
		return 0, newError(OutOfRange, "", strconv.Quote(string(t))+" does not fit a timestamp")
	}
	us := secs*1_000_000 + micros
	switch us {
	case microInfinity:
		return maxTimestamp, nil
	case microNegInfinity:
		return minTimestamp, nil
	}
	return topology.Timestamp(us), nil
}

// parseZonedFast parses the layout Debezium writes for timestamptz,
// YYYY-MM-DDTHH:MM:SS[.f…]Z (years 1000–9999), without loops over the
// fixed part. It reports false for anything else, valid or not, which
// parseISOTimestamp then handles.
func parseZonedFast(t []byte) (topology.Timestamp, bool) {
	if len(t) < 20 || t[len(t)-1] != 'Z' {
		return 0, false
	}
	// "YYYY-MM-" and "DDTHH:MM" as words: the separators must match and
	// the other bytes be digits.
	w0 := binary.LittleEndian.Uint64(t)
	w1 := binary.LittleEndian.Uint64(t[8:])
	const (
		sep0  = 0x2d00002d00000000 // "    -  -"
		mask0 = 0xff0000ff00000000
		sep1  = 0x00003a0000540000 // "  T  :  " (t[10] and t[13])
		mask1 = 0x0000ff0000ff0000
	)
	if w0&mask0 != sep0 || w1&mask1 != sep1 ||
		digits8(w0&^mask0|lo8*'0'&mask0) != 8 || digits8(w1&^mask1|lo8*'0'&mask1) != 8 ||
		t[16] != ':' || t[17]-'0' > 9 || t[18]-'0' > 9 {
		return 0, false
	}
	y := int64(t[0]-'0')*1000 + int64(t[1]-'0')*100 + int64(t[2]-'0')*10 + int64(t[3]-'0')
	mo := int64(t[5]-'0')*10 + int64(t[6]-'0')
	dd := int64(t[8]-'0')*10 + int64(t[9]-'0')
	h := int64(t[11]-'0')*10 + int64(t[12]-'0')
	mi := int64(t[14]-'0')*10 + int64(t[15]-'0')
	sec := int64(t[17]-'0')*10 + int64(t[18]-'0')
	if y < 1000 || mo < 1 || mo > 12 || dd < 1 || dd > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	var micros int64
	if len(t) > 20 {
		f := t[19 : len(t)-1]
		if f[0] != '.' || len(f) < 2 || len(f) > 10 {
			return 0, false
		}
		f = f[1:]
		for j, c := range f {
			if c-'0' > 9 {
				return 0, false
			}
			if j < 6 {
				micros = micros*10 + int64(c-'0')
			}
		}
		for n := len(f); n < 6; n++ {
			micros *= 10
		}
	}
	secs := daysFromCivil(y, mo, dd)*86400 + h*3600 + mi*60 + sec
	return topology.Timestamp(secs*1_000_000 + micros), true
}

func notTime(t []byte, what string) error {
	return newError(TypeMismatch, "", strconv.Quote(string(t))+" is not "+what)
}

// The range the pipeline clamps dates and timestamps to: ClickHouse
// DateTime's, [1970-01-01 00:00:00, 2106-02-07 06:28:15] UTC. Package sinks
// clamps what it writes to a DateTime column to it, and every other
// temporal column it writes (DateTime64(6), Date32, text dates) holds it
// exactly, so an infinite value reads the same on every server and layout.
const (
	minTimestamp = topology.Timestamp(0)
	maxTimestamp = topology.Timestamp(math.MaxUint32 * 1_000_000)
	minDate      = topology.Date(0)
	maxDate      = topology.Date(math.MaxUint32 / 86400) // 2106-02-07
)

// clampTimestamp returns the timestamp for +infinity (sign > 0) or
// -infinity (sign < 0).
func clampTimestamp(sign int) topology.Timestamp {
	if sign > 0 {
		return maxTimestamp
	}
	return minTimestamp
}

// clampDate returns the date for +infinity (sign > 0) or -infinity
// (sign < 0).
func clampDate(sign int) topology.Date {
	if sign > 0 {
		return maxDate
	}
	return minDate
}

// infiniteText reports PostgreSQL's text for an infinite date or
// timestamp: +1 for "infinity" (or "+infinity"), -1 for "-infinity", 0
// for anything else.
func infiniteText(t []byte) int {
	switch string(t) {
	case "infinity", "+infinity":
		return 1
	case "-infinity":
		return -1
	}
	return 0
}

// Debezium's encodings of PostgreSQL's ±infinity (docs/debezium.md, Infinity; checked
// against 3.6.1). Timestamps: pgjdbc's DATE_POSITIVE/NEGATIVE_INFINITY
// read as microseconds (MicroTimestamp) or as milliseconds (Timestamp),
// and Long.MAX/MIN. Dates, as days since the epoch: the int32-wrapped
// result of adding the 2000→1970 offset to PostgreSQL's DATEVAL_NOEND and
// DATEVAL_NOBEGIN when streaming (note +infinity < -infinity), and
// java.sql.Date's reading of the millisecond sentinels in a snapshot (one
// day later when the connector's JVM runs east of UTC). None of them is a
// date PostgreSQL can hold (its earliest is 4714 BC, day -2440588).
const (
	microInfinity          = 9223372036825200000
	microNegInfinity       = -9223372036832400000
	milliInfinity          = 9223372036825200
	milliNegInfinity       = -9223372036832400
	dayInfinity            = -2147472692
	dayNegInfinity         = -2147472691
	snapshotDayInfinity    = -622191234
	snapshotDayNegInfinity = -625821272
)

// infiniteDays reports whether days is one of Debezium's encodings of an
// infinite date: +1 for infinity, -1 for -infinity, 0 for a finite date.
func infiniteDays(days int64) int {
	switch days {
	case dayInfinity, snapshotDayInfinity, snapshotDayInfinity + 1:
		return 1
	case dayNegInfinity, snapshotDayNegInfinity, snapshotDayNegInfinity + 1:
		return -1
	}
	return 0
}

// epochToDate converts days since the epoch (io.debezium.time.Date,
// Connect Date) to a Date. Debezium's encodings of PostgreSQL's ±infinity
// become the latest and earliest dates the pipeline clamps to, 2106-02-07
// and 1970-01-01 (see maxDate), so that the row is kept; any other value
// outside int32 is out of range.
func epochToDate(v int64) (topology.Date, error) {
	if sign := infiniteDays(v); sign != 0 {
		return clampDate(sign), nil
	}
	if v < -1<<31 || v >= 1<<31 {
		return 0, newError(OutOfRange, "", strconv.FormatInt(v, 10)+" does not fit a date")
	}
	return topology.Date(v), nil
}

// epochToMicros converts an epoch count in the given unit (1 = µs, 1000 =
// ms, -1000 = ns) to a Timestamp. Debezium's encodings of PostgreSQL's
// ±infinity become the latest and earliest instants the pipeline clamps
// to, 2106-02-07T06:28:15Z and 1970-01-01T00:00:00Z (see maxTimestamp), so
// that the row is kept; any other count that overflows is out of range.
func epochToMicros(v int64, unit int64) (topology.Timestamp, error) {
	switch {
	case v == 1<<63-1 || v == -1<<63 || v == microInfinity || v == microNegInfinity ||
		unit == 1000 && (v == milliInfinity || v == milliNegInfinity):
		if v > 0 {
			return maxTimestamp, nil
		}
		return minTimestamp, nil
	case unit == 1:
		return topology.Timestamp(v), nil
	case unit > 1:
		if v > (1<<63-1)/unit || v < (-1<<63)/unit {
			return 0, newError(OutOfRange, "", strconv.FormatInt(v, 10)+" does not fit a timestamp")
		}
		return topology.Timestamp(v * unit), nil
	default: // nanoseconds: floor to microseconds
		d := -unit
		q := v / d
		if v%d < 0 {
			q--
		}
		return topology.Timestamp(q), nil
	}
}
