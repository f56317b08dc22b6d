package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Row values are a compact binary encoding, not JSON:
//
//	codec version (1 byte) | flags (1 byte: bit 0 deleted) |
//	uvarint LSN | varint source.ts_ms | varint Kafka partition | varint offset |
//	the row's columns in column order
//
// Integers, timestamps and dates are varints; strings are a uvarint length
// and the bytes; a decimal is varint unscaled and varint scale; a nullable
// column is a presence byte (0 NULL, 1 present) and the value. A new
// codec version byte lets a later release read old values.

const codecVersion = 1

const flagDeleted = 1

// ErrCorrupt is wrapped by errors about undecodable stored values.
var ErrCorrupt = errors.New("corrupt state value")

type enc struct{ b []byte }

func (e *enc) header(deleted bool, lsn uint64, ts int64, pos topology.Position) {
	var flags byte
	if deleted {
		flags |= flagDeleted
	}
	e.b = append(e.b, codecVersion, flags)
	e.b = binary.AppendUvarint(e.b, lsn)
	e.b = binary.AppendVarint(e.b, ts)
	e.b = binary.AppendVarint(e.b, int64(pos.Partition))
	e.b = binary.AppendVarint(e.b, pos.Offset)
}

func (e *enc) int(v int64) { e.b = binary.AppendVarint(e.b, v) }

func (e *enc) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc) dec(d topology.Decimal) {
	e.int(d.Unscaled)
	e.int(int64(d.Scale))
}

func (e *enc) present(ok bool) bool {
	if ok {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
	return ok
}

func (e *enc) optStr(o topology.Opt[string]) {
	if e.present(o.Valid) {
		e.str(o.V)
	}
}

func (e *enc) optDec(o topology.Opt[topology.Decimal]) {
	if e.present(o.Valid) {
		e.dec(o.V)
	}
}

func (e *enc) optTs(o topology.Opt[topology.Timestamp]) {
	if e.present(o.Valid) {
		e.int(int64(o.V))
	}
}

func (e *enc) optDate(o topology.Opt[topology.Date]) {
	if e.present(o.Valid) {
		e.int(int64(o.V))
	}
}

// dec decodes; the first error sticks and later reads return zeros.
// With alias set, b is the memory of an immutable string (a cached value)
// and decoded strings share it instead of copying.
type dec struct {
	b     []byte
	err   error
	alias bool
}

// aliasDec decodes the immutable string s without copying its strings.
func aliasDec(s string) dec {
	return dec{b: unsafe.Slice(unsafe.StringData(s), len(s)), alias: true}
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed %s", ErrCorrupt, what)
	}
}

func (d *dec) header() (deleted bool, lsn uint64, ts int64, pos topology.Position) {
	if len(d.b) < 2 {
		d.fail("header")
		return
	}
	if d.b[0] != codecVersion {
		d.err = fmt.Errorf("%w: codec version %d, want %d", ErrCorrupt, d.b[0], codecVersion)
		return
	}
	deleted = d.b[1]&flagDeleted != 0
	d.b = d.b[2:]
	lsn = d.uint()
	ts = d.int()
	pos.Partition = int32(d.int())
	pos.Offset = d.int()
	return
}

func (d *dec) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	n := d.uint()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.fail("string")
		return ""
	}
	var s string
	switch {
	case n == 0:
	case d.alias:
		s = unsafe.String(&d.b[0], int(n))
	default:
		s = string(d.b[:n]) // copies: the bytes belong to Pebble
	}
	d.b = d.b[n:]
	return s
}

func (d *dec) dec() topology.Decimal {
	u := d.int()
	return topology.Decimal{Unscaled: u, Scale: int32(d.int())}
}

func (d *dec) present() bool {
	if len(d.b) < 1 {
		d.fail("presence byte")
		return false
	}
	p := d.b[0]
	d.b = d.b[1:]
	switch p {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("presence byte")
	return false
}

func (d *dec) optStr() (o topology.Opt[string]) {
	if d.present() {
		o = topology.Some(d.str())
	}
	return o
}

func (d *dec) optDec() (o topology.Opt[topology.Decimal]) {
	if d.present() {
		o = topology.Some(d.dec())
	}
	return o
}

func (d *dec) optTs() (o topology.Opt[topology.Timestamp]) {
	if d.present() {
		o = topology.Some(topology.Timestamp(d.int()))
	}
	return o
}

func (d *dec) optDate() (o topology.Opt[topology.Date]) {
	if d.present() {
		o = topology.Some(topology.Date(d.int()))
	}
	return o
}

// done checks that the value was consumed exactly.
func (d *dec) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes in %s", ErrCorrupt, len(d.b), what)
	}
	if d.err != nil {
		return fmt.Errorf("decoding %s: %w", what, d.err)
	}
	return nil
}

func appendCustomer(b []byte, s *topology.Stored[topology.Customer]) []byte {
	e := enc{b}
	e.header(s.Deleted, s.LSN, s.SourceTsMs, s.Pos)
	r := &s.Row
	e.int(r.ID)
	e.str(r.Email)
	e.str(r.FirstName)
	e.str(r.LastName)
	e.optStr(r.Phone)
	e.str(r.City)
	e.optStr(r.Region)
	e.str(r.Country)
	e.str(r.Segment)
	e.optDate(r.BirthDate)
	e.int(int64(r.CreatedAt))
	e.int(int64(r.UpdatedAt))
	return e.b
}

func decodeCustomer(b []byte) (topology.Stored[topology.Customer], error) {
	return readCustomer(dec{b: b})
}

func readCustomer(d dec) (s topology.Stored[topology.Customer], err error) {
	s.Deleted, s.LSN, s.SourceTsMs, s.Pos = d.header()
	r := &s.Row
	r.ID = d.int()
	r.Email = d.str()
	r.FirstName = d.str()
	r.LastName = d.str()
	r.Phone = d.optStr()
	r.City = d.str()
	r.Region = d.optStr()
	r.Country = d.str()
	r.Segment = d.str()
	r.BirthDate = d.optDate()
	r.CreatedAt = topology.Timestamp(d.int())
	r.UpdatedAt = topology.Timestamp(d.int())
	return s, d.done("customer")
}

func appendVehicle(b []byte, s *topology.Stored[topology.Vehicle]) []byte {
	e := enc{b}
	e.header(s.Deleted, s.LSN, s.SourceTsMs, s.Pos)
	r := &s.Row
	e.int(r.ID)
	e.str(r.VIN)
	e.str(r.Make)
	e.str(r.Model)
	e.int(int64(r.ModelYear))
	e.str(r.BodyType)
	e.str(r.FuelType)
	e.str(r.Transmission)
	e.optStr(r.Color)
	e.int(int64(r.MileageKm))
	e.str(r.Condition)
	e.dec(r.ListPrice)
	e.optDec(r.CostPrice)
	e.str(r.StockStatus)
	// Only whether features is NULL: its text, often kilobytes (a
	// TOASTed JSONB document), has a key of its own (appendFeatures),
	// written when it changes rather than with every price or stock
	// update.
	e.optStr(topology.Opt[string]{Valid: r.Features.Valid})
	e.int(int64(r.CreatedAt))
	e.int(int64(r.UpdatedAt))
	return e.b
}

// appendFeatures encodes the text of a vehicle's features: the codec
// version and the text.
func appendFeatures(b []byte, text string) []byte {
	return append(append(b, codecVersion), text...)
}

// readFeatures returns the text appendFeatures encoded (aliasing d's
// bytes when d aliases).
func readFeatures(d dec) (string, error) {
	if len(d.b) == 0 || d.b[0] != codecVersion {
		return "", fmt.Errorf("%w: features value without codec version %d", ErrCorrupt, codecVersion)
	}
	if d.alias {
		return unsafe.String(unsafe.SliceData(d.b[1:]), len(d.b)-1), nil
	}
	return string(d.b[1:]), nil
}

// decodeVehicle decodes a vehicle row; Features holds whether it is NULL,
// not its text (see appendVehicle).
func decodeVehicle(b []byte) (topology.Stored[topology.Vehicle], error) {
	return readVehicle(dec{b: b})
}

func readVehicle(d dec) (s topology.Stored[topology.Vehicle], err error) {
	s.Deleted, s.LSN, s.SourceTsMs, s.Pos = d.header()
	r := &s.Row
	r.ID = d.int()
	r.VIN = d.str()
	r.Make = d.str()
	r.Model = d.str()
	r.ModelYear = int16(d.int())
	r.BodyType = d.str()
	r.FuelType = d.str()
	r.Transmission = d.str()
	r.Color = d.optStr()
	r.MileageKm = int32(d.int())
	r.Condition = d.str()
	r.ListPrice = d.dec()
	r.CostPrice = d.optDec()
	r.StockStatus = d.str()
	r.Features = d.optStr()
	r.CreatedAt = topology.Timestamp(d.int())
	r.UpdatedAt = topology.Timestamp(d.int())
	return s, d.done("vehicle")
}

func appendOrder(b []byte, s *topology.Stored[topology.Order]) []byte {
	e := enc{b}
	e.header(s.Deleted, s.LSN, s.SourceTsMs, s.Pos)
	r := &s.Row
	e.int(r.ID)
	e.int(r.CustomerID)
	e.str(r.Status)
	e.str(r.Channel)
	e.str(r.Currency)
	e.int(int64(r.OrderDate))
	e.int(int64(r.UpdatedAt))
	// The past months of order_date, when there are any: a trailer that
	// layout 4 did not have, so its orders read as having none.
	if len(s.PastMonths) > 0 {
		e.int(int64(len(s.PastMonths)))
		for _, m := range s.PastMonths {
			e.int(int64(m))
		}
	}
	return e.b
}

func decodeOrder(b []byte) (topology.Stored[topology.Order], error) {
	return readOrder(dec{b: b})
}

func readOrder(d dec) (s topology.Stored[topology.Order], err error) {
	s.Deleted, s.LSN, s.SourceTsMs, s.Pos = d.header()
	r := &s.Row
	r.ID = d.int()
	r.CustomerID = d.int()
	r.Status = d.str()
	r.Channel = d.str()
	r.Currency = d.str()
	r.OrderDate = topology.Timestamp(d.int())
	r.UpdatedAt = topology.Timestamp(d.int())
	if len(d.b) > 0 && d.err == nil {
		n := d.int()
		if n < 0 || n > int64(len(d.b)) {
			return s, fmt.Errorf("decoding order: %w: %d past months", ErrCorrupt, n)
		}
		s.PastMonths = make([]int32, n)
		for i := range s.PastMonths {
			s.PastMonths[i] = int32(d.int())
		}
	}
	return s, d.done("order")
}

func appendItem(b []byte, s *topology.Stored[topology.OrderItem]) []byte {
	e := enc{b}
	e.header(s.Deleted, s.LSN, s.SourceTsMs, s.Pos)
	r := &s.Row
	e.int(r.ID)
	e.int(r.OrderID)
	e.int(r.VehicleID)
	e.int(int64(r.Quantity))
	e.dec(r.UnitPrice)
	e.dec(r.Discount)
	return e.b
}

func decodeItem(b []byte) (topology.Stored[topology.OrderItem], error) {
	return readItem(dec{b: b})
}

func readItem(d dec) (s topology.Stored[topology.OrderItem], err error) {
	s.Deleted, s.LSN, s.SourceTsMs, s.Pos = d.header()
	r := &s.Row
	r.ID = d.int()
	r.OrderID = d.int()
	r.VehicleID = d.int()
	r.Quantity = int32(d.int())
	r.UnitPrice = d.dec()
	r.Discount = d.dec()
	return s, d.done("order item")
}

func appendPayment(b []byte, s *topology.Stored[topology.Payment]) []byte {
	e := enc{b}
	e.header(s.Deleted, s.LSN, s.SourceTsMs, s.Pos)
	r := &s.Row
	e.int(r.ID)
	e.int(r.OrderID)
	e.dec(r.Amount)
	e.str(r.Method)
	e.str(r.Status)
	e.optTs(r.PaidAt)
	e.int(int64(r.CreatedAt))
	return e.b
}

func decodePayment(b []byte) (topology.Stored[topology.Payment], error) {
	return readPayment(dec{b: b})
}

func readPayment(d dec) (s topology.Stored[topology.Payment], err error) {
	s.Deleted, s.LSN, s.SourceTsMs, s.Pos = d.header()
	r := &s.Row
	r.ID = d.int()
	r.OrderID = d.int()
	r.Amount = d.dec()
	r.Method = d.str()
	r.Status = d.str()
	r.PaidAt = d.optTs()
	r.CreatedAt = topology.Timestamp(d.int())
	return s, d.done("payment")
}

// decodeUvarint decodes a value that is exactly one uvarint (fact
// versions, offsets).
func decodeUvarint(b []byte, what string) (uint64, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n != len(b) {
		return 0, fmt.Errorf("decoding %s: %w: bad uvarint", what, ErrCorrupt)
	}
	return v, nil
}
