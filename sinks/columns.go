package sinks

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// This file holds the few column types ch-go's proto package does not
// have in the shape drivetrain needs: Decimal(P, S) over int64s, Nullable
// over a concrete column (appended without an interface call per value),
// and the server-dependent timestamp and date columns. They implement
// proto.ColInput and proto.Resettable; proto encodes the block.

// strCol is a String column kept in its wire form — each value's uvarint
// length, then its bytes — in a proto.ColRaw, so a value is copied once
// when appended and the column once, in one piece, when the block is
// encoded (proto.ColStr copies each value twice and keeps a position per
// row). The zero value is an empty column.
type strCol struct{ proto.ColRaw }

func (c *strCol) Append(s string) {
	if n := len(s); n < 0x80 {
		c.Data = append(c.Data, byte(n))
	} else {
		c.Data = binary.AppendUvarint(c.Data, uint64(n))
	}
	c.Data = append(c.Data, s...)
	c.Count++
}

// appendBytes appends a value given as bytes.
func (c *strCol) appendBytes(s []byte) {
	c.Data = binary.AppendUvarint(c.Data, uint64(len(s)))
	c.Data = append(c.Data, s...)
	c.Count++
}

func (c *strCol) Type() proto.ColumnType      { return proto.ColumnTypeString }
func (c *strCol) WriteColumn(w *proto.Writer) { w.ChainWrite(c.Data) }

// decimalCol is a Decimal(P, S) column with P ≤ 18: unscaled int64s, which
// is ClickHouse's Decimal64 on the wire.
type decimalCol struct {
	proto.ColDecimal64
	typ proto.ColumnType
}

func newDecimalCol(precision, scale int) decimalCol {
	return decimalCol{typ: proto.ColumnType(decimalType(precision, scale))}
}

func decimalType(precision, scale int) string {
	return "Decimal(" + strconv.Itoa(precision) + ", " + strconv.Itoa(scale) + ")"
}

func (c *decimalCol) Type() proto.ColumnType { return c.typ }

func (c *decimalCol) append(d topology.Decimal) {
	c.ColDecimal64 = append(c.ColDecimal64, proto.Decimal64(topology.Cents(d)))
}

// colPtr is a pointer to a column type V.
type colPtr[V any] interface {
	*V
	proto.ColInput
	Reset()
}

// nullable is Nullable(V): a null mask and the values, with a zero value
// at null rows.
type nullable[V any, P colPtr[V]] struct {
	nulls proto.ColUInt8
	v     V
}

func (c *nullable[V, P]) values() P { return P(&c.v) }

// mark appends the null flag of the next row; the caller appends its value
// (any value when null).
func (c *nullable[V, P]) mark(valid bool) {
	var null uint8 = 1
	if valid {
		null = 0
	}
	c.nulls = append(c.nulls, null)
}

func (c *nullable[V, P]) Type() proto.ColumnType {
	return proto.ColumnTypeNullable.Sub(c.values().Type())
}
func (c *nullable[V, P]) Rows() int { return len(c.nulls) }
func (c *nullable[V, P]) EncodeColumn(b *proto.Buffer) {
	c.nulls.EncodeColumn(b)
	c.values().EncodeColumn(b)
}
func (c *nullable[V, P]) WriteColumn(w *proto.Writer) {
	c.nulls.WriteColumn(w)
	c.values().WriteColumn(w)
}
func (c *nullable[V, P]) Reset() {
	c.nulls.Reset()
	c.values().Reset()
}

type (
	optStr  = nullable[strCol, *strCol]
	optDec  = nullable[decimalCol, *decimalCol]
	optTs   = nullable[tsCol, *tsCol]
	optDate = nullable[dateCol, *dateCol]
)

func appendOptStr(c *optStr, o topology.Opt[string]) {
	c.mark(o.Valid)
	if o.Valid {
		c.v.Append(o.V)
	} else {
		c.v.Append("")
	}
}

func appendOptDec(c *optDec, o topology.Opt[topology.Decimal]) {
	c.mark(o.Valid)
	if o.Valid {
		c.v.append(o.V)
	} else {
		c.v.ColDecimal64 = append(c.v.ColDecimal64, 0)
	}
}

func appendOptTs(c *optTs, o topology.Opt[topology.Timestamp]) {
	c.mark(o.Valid)
	if o.Valid {
		c.v.append(o.V)
	} else {
		c.v.append(0)
	}
}

func appendOptDate(c *optDate, o topology.Opt[topology.Date]) {
	c.mark(o.Valid)
	c.v.append(o.V, o.Valid)
}

// seconds converts ts to a DateTime: whole seconds since the epoch, rounded
// down, clamped to DateTime's range [1970-01-01, 2106-02-07].
func seconds(ts topology.Timestamp) proto.DateTime {
	us := int64(ts)
	s := us / 1e6
	if us < 0 && us%1e6 != 0 {
		s--
	}
	switch {
	case s < 0:
		return 0
	case s > math.MaxUint32:
		return math.MaxUint32
	}
	return proto.DateTime(s)
}

// secCol is a DateTime('UTC') column (seconds, see seconds).
type secCol struct{ proto.ColDateTime }

func (c *secCol) Type() proto.ColumnType       { return typeDateTime }
func (c *secCol) append(ts topology.Timestamp) { c.Data = append(c.Data, seconds(ts)) }

// tsCol is a TIMESTAMPTZ column: DateTime64(6, 'UTC') (exact) or, on
// servers older than 20.1, DateTime('UTC') (seconds, see seconds).
type tsCol struct {
	micros bool
	sec    proto.ColDateTime
	us     proto.ColDateTime64
}

func newTsCol(micros bool) tsCol {
	return tsCol{
		micros: micros,
		sec:    proto.ColDateTime{Location: time.UTC},
		us:     proto.ColDateTime64{Location: time.UTC, Precision: proto.PrecisionMicro, PrecisionSet: true},
	}
}

func (c *tsCol) append(ts topology.Timestamp) {
	if c.micros {
		c.us.Data = append(c.us.Data, proto.DateTime64(ts))
		return
	}
	c.sec.Data = append(c.sec.Data, seconds(ts))
}

func (c *tsCol) Type() proto.ColumnType {
	if c.micros {
		return typeDateTime64
	}
	return typeDateTime
}

func (c *tsCol) Rows() int {
	if c.micros {
		return c.us.Rows()
	}
	return c.sec.Rows()
}

func (c *tsCol) EncodeColumn(b *proto.Buffer) {
	if c.micros {
		c.us.EncodeColumn(b)
		return
	}
	c.sec.EncodeColumn(b)
}

func (c *tsCol) WriteColumn(w *proto.Writer) {
	if c.micros {
		c.us.WriteColumn(w)
		return
	}
	c.sec.WriteColumn(w)
}

func (c *tsCol) Reset() {
	c.sec.Reset()
	c.us.Reset()
}

// dateCol is a DATE column: Date32 or, on servers older than 21.9, a
// String 'YYYY-MM-DD' (Date cannot hold dates before 1970).
type dateCol struct {
	date32 bool
	d      proto.ColDate32
	s      strCol
}

func (c *dateCol) append(d topology.Date, valid bool) {
	if c.date32 {
		c.d = append(c.d, proto.Date32(d))
		return
	}
	var buf [24]byte
	if valid {
		c.s.appendBytes(appendDate(buf[:0], d))
	} else {
		c.s.appendBytes(nil)
	}
}

func (c *dateCol) Type() proto.ColumnType {
	if c.date32 {
		return typeDate32
	}
	return typeDateString
}

func (c *dateCol) Rows() int {
	if c.date32 {
		return c.d.Rows()
	}
	return c.s.Rows()
}

func (c *dateCol) EncodeColumn(b *proto.Buffer) {
	if c.date32 {
		c.d.EncodeColumn(b)
		return
	}
	c.s.EncodeColumn(b)
}

func (c *dateCol) WriteColumn(w *proto.Writer) {
	if c.date32 {
		c.d.WriteColumn(w)
		return
	}
	c.s.WriteColumn(w)
}

func (c *dateCol) Reset() {
	c.d.Reset()
	c.s.Reset()
}

// appendDate appends d as YYYY-MM-DD (proleptic Gregorian calendar, the
// year zero-padded to four digits, negative years with a minus sign).
func appendDate(b []byte, d topology.Date) []byte {
	y, m, day := civil(int64(d))
	if y < 0 {
		b = append(b, '-')
		y = -y
	}
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, int64(m), 2)
	b = append(b, '-')
	return appendPadded(b, int64(day), 2)
}

func appendPadded(b []byte, v int64, width int) []byte {
	var digits [20]byte
	n := len(digits)
	for v > 0 || n > len(digits)-width {
		n--
		digits[n] = byte('0' + v%10)
		v /= 10
	}
	return append(b, digits[n:]...)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days-to-civil algorithm).
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		month = int(mp + 3)
	} else {
		month = int(mp - 9)
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}
