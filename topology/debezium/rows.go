package debezium

import (
	"reflect"
	"unsafe"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// cell is one decoded column value on its way into a row field. Which
// member holds the value follows the column's type: i for integers, dates
// (days) and timestamps (µs); s for text and JSON; d for numerics.
type cell struct {
	null bool
	i    int64
	s    string
	d    topology.Decimal
}

func optString(c *cell) topology.Opt[string] {
	if c.null {
		return topology.Opt[string]{}
	}
	return topology.Some(c.s)
}

func optDecimal(c *cell) topology.Opt[topology.Decimal] {
	if c.null {
		return topology.Opt[topology.Decimal]{}
	}
	return topology.Some(c.d)
}

func optDate(c *cell) topology.Opt[topology.Date] {
	if c.null {
		return topology.Opt[topology.Date]{}
	}
	return topology.Some(topology.Date(c.i))
}

func optTimestamp(c *cell) topology.Opt[topology.Timestamp] {
	if c.null {
		return topology.Opt[topology.Timestamp]{}
	}
	return topology.Some(topology.Timestamp(c.i))
}

// clear zeroes the row of table t.
func (img *Image) clear(t topology.Table) {
	switch t {
	case topology.TableCustomers:
		img.Customer = topology.Customer{}
	case topology.TableVehicles:
		img.Vehicle = topology.Vehicle{}
	case topology.TableOrders:
		img.Order = topology.Order{}
	case topology.TableOrderItems:
		img.OrderItem = topology.OrderItem{}
	case topology.TablePayments:
		img.Payment = topology.Payment{}
	}
}

// set stores c into column col (numbered as in t.Columns()) of the row of
// table t. The decoder has already checked c against the column's type and
// nullability; a null for a NOT NULL column never gets here.
func (img *Image) set(t topology.Table, col int, c *cell) {
	switch t {
	case topology.TableCustomers:
		r := &img.Customer
		switch col {
		case 0:
			r.ID = c.i
		case 1:
			r.Email = c.s
		case 2:
			r.FirstName = c.s
		case 3:
			r.LastName = c.s
		case 4:
			r.Phone = optString(c)
		case 5:
			r.City = c.s
		case 6:
			r.Region = optString(c)
		case 7:
			r.Country = c.s
		case 8:
			r.Segment = c.s
		case 9:
			r.BirthDate = optDate(c)
		case 10:
			r.CreatedAt = topology.Timestamp(c.i)
		case 11:
			r.UpdatedAt = topology.Timestamp(c.i)
		}
	case topology.TableVehicles:
		r := &img.Vehicle
		switch col {
		case 0:
			r.ID = c.i
		case 1:
			r.VIN = c.s
		case 2:
			r.Make = c.s
		case 3:
			r.Model = c.s
		case 4:
			r.ModelYear = int16(c.i)
		case 5:
			r.BodyType = c.s
		case 6:
			r.FuelType = c.s
		case 7:
			r.Transmission = c.s
		case 8:
			r.Color = optString(c)
		case 9:
			r.MileageKm = int32(c.i)
		case 10:
			r.Condition = c.s
		case 11:
			r.ListPrice = c.d
		case 12:
			r.CostPrice = optDecimal(c)
		case 13:
			r.StockStatus = c.s
		case 14:
			r.Features = optString(c)
		case 15:
			r.CreatedAt = topology.Timestamp(c.i)
		case 16:
			r.UpdatedAt = topology.Timestamp(c.i)
		}
	case topology.TableOrders:
		r := &img.Order
		switch col {
		case 0:
			r.ID = c.i
		case 1:
			r.CustomerID = c.i
		case 2:
			r.Status = c.s
		case 3:
			r.Channel = c.s
		case 4:
			r.Currency = c.s
		case 5:
			r.OrderDate = topology.Timestamp(c.i)
		case 6:
			r.UpdatedAt = topology.Timestamp(c.i)
		}
	case topology.TableOrderItems:
		r := &img.OrderItem
		switch col {
		case 0:
			r.ID = c.i
		case 1:
			r.OrderID = c.i
		case 2:
			r.VehicleID = c.i
		case 3:
			r.Quantity = int32(c.i)
		case 4:
			r.UnitPrice = c.d
		case 5:
			r.Discount = c.d
		}
	case topology.TablePayments:
		r := &img.Payment
		switch col {
		case 0:
			r.ID = c.i
		case 1:
			r.OrderID = c.i
		case 2:
			r.Amount = c.d
		case 3:
			r.Method = c.s
		case 4:
			r.Status = c.s
		case 5:
			r.PaidAt = optTimestamp(c)
		case 6:
			r.CreatedAt = topology.Timestamp(c.i)
		}
	}
}

func fromString(c *cell, v topology.Opt[string]) { c.s, c.null = v.V, !v.Valid }

func fromDecimal(c *cell, v topology.Opt[topology.Decimal]) { c.d, c.null = v.V, !v.Valid }

// get loads column col of the row of table t into c (the inverse of set).
func (img *Image) get(t topology.Table, col int, c *cell) {
	*c = cell{}
	switch t {
	case topology.TableCustomers:
		r := &img.Customer
		switch col {
		case 0:
			c.i = r.ID
		case 1:
			c.s = r.Email
		case 2:
			c.s = r.FirstName
		case 3:
			c.s = r.LastName
		case 4:
			fromString(c, r.Phone)
		case 5:
			c.s = r.City
		case 6:
			fromString(c, r.Region)
		case 7:
			c.s = r.Country
		case 8:
			c.s = r.Segment
		case 9:
			c.i, c.null = int64(r.BirthDate.V), !r.BirthDate.Valid
		case 10:
			c.i = int64(r.CreatedAt)
		case 11:
			c.i = int64(r.UpdatedAt)
		}
	case topology.TableVehicles:
		r := &img.Vehicle
		switch col {
		case 0:
			c.i = r.ID
		case 1:
			c.s = r.VIN
		case 2:
			c.s = r.Make
		case 3:
			c.s = r.Model
		case 4:
			c.i = int64(r.ModelYear)
		case 5:
			c.s = r.BodyType
		case 6:
			c.s = r.FuelType
		case 7:
			c.s = r.Transmission
		case 8:
			fromString(c, r.Color)
		case 9:
			c.i = int64(r.MileageKm)
		case 10:
			c.s = r.Condition
		case 11:
			c.d = r.ListPrice
		case 12:
			fromDecimal(c, r.CostPrice)
		case 13:
			c.s = r.StockStatus
		case 14:
			fromString(c, r.Features)
		case 15:
			c.i = int64(r.CreatedAt)
		case 16:
			c.i = int64(r.UpdatedAt)
		}
	case topology.TableOrders:
		r := &img.Order
		switch col {
		case 0:
			c.i = r.ID
		case 1:
			c.i = r.CustomerID
		case 2:
			c.s = r.Status
		case 3:
			c.s = r.Channel
		case 4:
			c.s = r.Currency
		case 5:
			c.i = int64(r.OrderDate)
		case 6:
			c.i = int64(r.UpdatedAt)
		}
	case topology.TableOrderItems:
		r := &img.OrderItem
		switch col {
		case 0:
			c.i = r.ID
		case 1:
			c.i = r.OrderID
		case 2:
			c.i = r.VehicleID
		case 3:
			c.i = int64(r.Quantity)
		case 4:
			c.d = r.UnitPrice
		case 5:
			c.d = r.Discount
		}
	case topology.TablePayments:
		r := &img.Payment
		switch col {
		case 0:
			c.i = r.ID
		case 1:
			c.i = r.OrderID
		case 2:
			c.d = r.Amount
		case 3:
			c.s = r.Method
		case 4:
			c.s = r.Status
		case 5:
			c.i, c.null = int64(r.PaidAt.V), !r.PaidAt.Valid
		case 6:
			c.i = int64(r.CreatedAt)
		}
	}
}

// dstKind is the Go type of a row field, for store.
type dstKind uint8

const (
	dInt16 dstKind = iota + 1
	dInt32
	dInt64
	dString
	dOptString
	dDecimal
	dOptDecimal
	dOptDate
	dTimestamp
	dOptTimestamp
)

// dst locates the field of a column inside an Image.
type dst struct {
	off  uintptr
	kind dstKind
}

// dsts holds, per table and column, where store writes: offsets into
// Image derived once from the row types (whose field order is the column
// order, checked by topology's tests).
var dsts = func() (out [numTables][]dst) {
	it := reflect.TypeFor[Image]()
	kinds := map[reflect.Type]dstKind{
		reflect.TypeFor[int16]():                            dInt16,
		reflect.TypeFor[int32]():                            dInt32,
		reflect.TypeFor[int64]():                            dInt64,
		reflect.TypeFor[string]():                           dString,
		reflect.TypeFor[topology.Opt[string]]():             dOptString,
		reflect.TypeFor[topology.Decimal]():                 dDecimal,
		reflect.TypeFor[topology.Opt[topology.Decimal]]():   dOptDecimal,
		reflect.TypeFor[topology.Opt[topology.Date]]():      dOptDate,
		reflect.TypeFor[topology.Timestamp]():               dTimestamp,
		reflect.TypeFor[topology.Opt[topology.Timestamp]](): dOptTimestamp,
	}
	rowField := map[topology.Table]string{
		topology.TableCustomers: "Customer", topology.TableVehicles: "Vehicle", topology.TableOrders: "Order",
		topology.TableOrderItems: "OrderItem", topology.TablePayments: "Payment",
	}
	for _, t := range topology.Tables {
		row, ok := it.FieldByName(rowField[t])
		if !ok || row.Type.NumField() != len(t.Columns()) {
			panic("debezium: Image does not match the columns of " + t.String())
		}
		for i := range t.Columns() {
			f := row.Type.Field(i)
			k, ok := kinds[f.Type]
			if !ok {
				panic("debezium: no store for " + t.String() + "." + f.Name + " of type " + f.Type.String())
			}
			out[t] = append(out[t], dst{off: row.Offset + f.Offset, kind: k})
		}
	}
	return out
}()

// store writes c into the field d of img. It does what set does, with one
// switch instead of two: this is the decoder's hot path.
func (img *Image) store(d dst, c *cell) {
	p := unsafe.Add(unsafe.Pointer(img), d.off)
	switch d.kind {
	case dInt16:
		*(*int16)(p) = int16(c.i)
	case dInt32:
		*(*int32)(p) = int32(c.i)
	case dInt64:
		*(*int64)(p) = c.i
	case dString:
		*(*string)(p) = c.s
	case dOptString:
		*(*topology.Opt[string])(p) = topology.Opt[string]{V: c.s, Valid: !c.null}
	case dDecimal:
		*(*topology.Decimal)(p) = c.d
	case dOptDecimal:
		*(*topology.Opt[topology.Decimal])(p) = topology.Opt[topology.Decimal]{V: c.d, Valid: !c.null}
	case dOptDate:
		*(*topology.Opt[topology.Date])(p) = topology.Opt[topology.Date]{V: topology.Date(c.i), Valid: !c.null}
	case dTimestamp:
		*(*topology.Timestamp)(p) = topology.Timestamp(c.i)
	case dOptTimestamp:
		*(*topology.Opt[topology.Timestamp])(p) = topology.Opt[topology.Timestamp]{V: topology.Timestamp(c.i), Valid: !c.null}
	}
}
