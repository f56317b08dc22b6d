package sinks

import (
	"fmt"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// A block holds the columns of one insert into one table. Rows are
// appended column by column into slices that keep their capacity across
// reset, so a block reused for every batch allocates nothing per row once
// it has grown to the batch size. Blocks are not safe for concurrent use.

// factBlock is a block of sales_facts rows, its columns in
// topology.FactColumns order.
type factBlock struct {
	orderItemID     proto.ColInt64
	orderID         proto.ColInt64
	orderDate       secCol
	orderStatus     strCol
	channel         strCol
	currency        strCol
	customerID      proto.ColInt64
	customerName    strCol
	customerEmail   strCol
	customerCity    strCol
	customerRegion  strCol
	customerCountry strCol
	customerSegment strCol
	vehicleID       proto.ColInt64
	vin             strCol
	make            strCol
	model           strCol
	modelYear       proto.ColInt16
	bodyType        strCol
	fuelType        strCol
	condition       strCol
	listPrice       decimalCol
	quantity        proto.ColInt32
	unitPrice       decimalCol
	discount        decimalCol
	lineTotal       decimalCol
	orderTotal      decimalCol
	orderPaid       decimalCol
	paymentStatus   strCol
	updatedAt       secCol
	version         proto.ColUInt64
	deleted         proto.ColUInt8

	input proto.Input
}

func newFactBlock() *factBlock {
	b := &factBlock{
		listPrice:  newDecimalCol(12, 2),
		unitPrice:  newDecimalCol(12, 2),
		discount:   newDecimalCol(12, 2),
		lineTotal:  newDecimalCol(12, 2),
		orderTotal: newDecimalCol(18, 2),
		orderPaid:  newDecimalCol(18, 2),
	}
	cols := []proto.ColInput{
		&b.orderItemID, &b.orderID, &b.orderDate, &b.orderStatus, &b.channel, &b.currency,
		&b.customerID, &b.customerName, &b.customerEmail, &b.customerCity,
		&b.customerRegion, &b.customerCountry, &b.customerSegment,
		&b.vehicleID, &b.vin, &b.make, &b.model, &b.modelYear, &b.bodyType, &b.fuelType, &b.condition, &b.listPrice,
		&b.quantity, &b.unitPrice, &b.discount, &b.lineTotal,
		&b.orderTotal, &b.orderPaid, &b.paymentStatus,
		&b.updatedAt, &b.version, &b.deleted,
	}
	b.input = makeInput(factColumns, cols)
	return b
}

// makeInput pairs the columns of a table with the block's columns, which
// must be in the same order.
func makeInput(schema []Column, cols []proto.ColInput) proto.Input {
	if len(schema) != len(cols) {
		panic(fmt.Sprintf("sinks: %d block columns for %d table columns", len(cols), len(schema)))
	}
	in := make(proto.Input, len(cols))
	for i, c := range cols {
		in[i] = proto.InputColumn{Name: schema[i].Name, Data: c}
	}
	return in
}

func (b *factBlock) append(f *topology.Fact) {
	b.orderItemID = append(b.orderItemID, f.OrderItemID)
	b.orderID = append(b.orderID, f.OrderID)
	b.orderDate.append(f.OrderDate)
	b.orderStatus.Append(f.OrderStatus)
	b.channel.Append(f.Channel)
	b.currency.Append(f.Currency)
	b.customerID = append(b.customerID, f.CustomerID)
	b.customerName.Append(f.CustomerName)
	b.customerEmail.Append(f.CustomerEmail)
	b.customerCity.Append(f.CustomerCity)
	b.customerRegion.Append(f.CustomerRegion)
	b.customerCountry.Append(f.CustomerCountry)
	b.customerSegment.Append(f.CustomerSegment)
	b.vehicleID = append(b.vehicleID, f.VehicleID)
	b.vin.Append(f.VIN)
	b.make.Append(f.Make)
	b.model.Append(f.Model)
	b.modelYear = append(b.modelYear, f.ModelYear)
	b.bodyType.Append(f.BodyType)
	b.fuelType.Append(f.FuelType)
	b.condition.Append(f.Condition)
	b.listPrice.append(f.ListPrice)
	b.quantity = append(b.quantity, f.Quantity)
	b.unitPrice.append(f.UnitPrice)
	b.discount.append(f.Discount)
	b.lineTotal.append(f.LineTotal)
	b.orderTotal.append(f.OrderTotal)
	b.orderPaid.append(f.OrderPaid)
	b.paymentStatus.Append(f.PaymentStatus)
	b.updatedAt.append(f.UpdatedAt)
	b.version = append(b.version, f.Version)
	b.deleted = append(b.deleted, boolByte(f.Deleted))
}

func (b *factBlock) rows() int { return len(b.orderItemID) }
func (b *factBlock) reset()    { b.input.Reset() }

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// mirrorBlock is a block of rows of one mirror table.
type mirrorBlock struct {
	table   topology.Table
	cols    mirrorCols
	version proto.ColUInt64
	deleted proto.ColUInt8
	input   proto.Input
}

// mirrorCols are the source columns of one mirror table.
type mirrorCols interface {
	columns() []proto.ColInput // in topology.Table.Columns order
	append(r *topology.Row)
}

func newMirrorBlock(t topology.Table, l layout) *mirrorBlock {
	b := &mirrorBlock{table: t}
	switch t {
	case topology.TableCustomers:
		b.cols = newCustomerCols(l)
	case topology.TableVehicles:
		b.cols = newVehicleCols(l)
	case topology.TableOrders:
		b.cols = newOrderCols(l)
	case topology.TableOrderItems:
		b.cols = newItemCols()
	case topology.TablePayments:
		b.cols = newPaymentCols(l)
	default:
		panic("sinks: no mirror table for " + t.String())
	}
	cols := append(b.cols.columns(), &b.version, &b.deleted)
	b.input = makeInput(mirrorColumns(t, l), cols)
	return b
}

// append adds m, which must be a row of b's table.
func (b *mirrorBlock) append(m *topology.Mirror) {
	b.cols.append(&m.Row)
	b.version = append(b.version, m.Version)
	b.deleted = append(b.deleted, boolByte(m.Deleted))
}

func (b *mirrorBlock) rows() int { return len(b.version) }
func (b *mirrorBlock) reset()    { b.input.Reset() }

// moneyDecimal returns the column of a NUMERIC(p, 2) source column. Money
// is converted with topology.Cents, so every NUMERIC must have scale 2.
func moneyDecimal(t topology.Table, name string) decimalCol {
	c := t.Columns()[t.ColumnIndex(name)]
	if c.Scale != topology.MoneyScale {
		panic(fmt.Sprintf("sinks: %s.%s has scale %d, the writer supports %d", t, name, c.Scale, topology.MoneyScale))
	}
	return newDecimalCol(int(c.Precision), int(c.Scale))
}

type customerCols struct {
	id                         proto.ColInt64
	email, firstName, lastName strCol
	phone                      optStr
	city                       strCol
	region                     optStr
	country, segment           strCol
	birthDate                  optDate
	createdAt, updatedAt       tsCol
}

func newCustomerCols(l layout) *customerCols {
	return &customerCols{
		birthDate: optDate{v: dateCol{date32: l.date32}},
		createdAt: newTsCol(l.micros),
		updatedAt: newTsCol(l.micros),
	}
}

func (c *customerCols) columns() []proto.ColInput {
	return []proto.ColInput{&c.id, &c.email, &c.firstName, &c.lastName, &c.phone, &c.city,
		&c.region, &c.country, &c.segment, &c.birthDate, &c.createdAt, &c.updatedAt}
}

func (c *customerCols) append(r *topology.Row) {
	v := &r.Customer
	c.id = append(c.id, v.ID)
	c.email.Append(v.Email)
	c.firstName.Append(v.FirstName)
	c.lastName.Append(v.LastName)
	appendOptStr(&c.phone, v.Phone)
	c.city.Append(v.City)
	appendOptStr(&c.region, v.Region)
	c.country.Append(v.Country)
	c.segment.Append(v.Segment)
	appendOptDate(&c.birthDate, v.BirthDate)
	c.createdAt.append(v.CreatedAt)
	c.updatedAt.append(v.UpdatedAt)
}

type vehicleCols struct {
	id                               proto.ColInt64
	vin, make, model                 strCol
	modelYear                        proto.ColInt16
	bodyType, fuelType, transmission strCol
	color                            optStr
	mileageKm                        proto.ColInt32
	condition                        strCol
	listPrice                        decimalCol
	costPrice                        optDec
	stockStatus                      strCol
	features                         optStr
	createdAt, updatedAt             tsCol
}

func newVehicleCols(l layout) *vehicleCols {
	return &vehicleCols{
		listPrice: moneyDecimal(topology.TableVehicles, "list_price"),
		costPrice: optDec{v: moneyDecimal(topology.TableVehicles, "cost_price")},
		createdAt: newTsCol(l.micros),
		updatedAt: newTsCol(l.micros),
	}
}

func (c *vehicleCols) columns() []proto.ColInput {
	return []proto.ColInput{&c.id, &c.vin, &c.make, &c.model, &c.modelYear, &c.bodyType,
		&c.fuelType, &c.transmission, &c.color, &c.mileageKm, &c.condition, &c.listPrice,
		&c.costPrice, &c.stockStatus, &c.features, &c.createdAt, &c.updatedAt}
}

func (c *vehicleCols) append(r *topology.Row) {
	v := &r.Vehicle
	c.id = append(c.id, v.ID)
	c.vin.Append(v.VIN)
	c.make.Append(v.Make)
	c.model.Append(v.Model)
	c.modelYear = append(c.modelYear, v.ModelYear)
	c.bodyType.Append(v.BodyType)
	c.fuelType.Append(v.FuelType)
	c.transmission.Append(v.Transmission)
	appendOptStr(&c.color, v.Color)
	c.mileageKm = append(c.mileageKm, v.MileageKm)
	c.condition.Append(v.Condition)
	c.listPrice.append(v.ListPrice)
	appendOptDec(&c.costPrice, v.CostPrice)
	c.stockStatus.Append(v.StockStatus)
	appendOptStr(&c.features, v.Features)
	c.createdAt.append(v.CreatedAt)
	c.updatedAt.append(v.UpdatedAt)
}

type orderCols struct {
	id, customerID            proto.ColInt64
	status, channel, currency strCol
	orderDate, updatedAt      tsCol
}

func newOrderCols(l layout) *orderCols {
	return &orderCols{orderDate: newTsCol(l.micros), updatedAt: newTsCol(l.micros)}
}

func (c *orderCols) columns() []proto.ColInput {
	return []proto.ColInput{&c.id, &c.customerID, &c.status, &c.channel, &c.currency, &c.orderDate, &c.updatedAt}
}

func (c *orderCols) append(r *topology.Row) {
	v := &r.Order
	c.id = append(c.id, v.ID)
	c.customerID = append(c.customerID, v.CustomerID)
	c.status.Append(v.Status)
	c.channel.Append(v.Channel)
	c.currency.Append(v.Currency)
	c.orderDate.append(v.OrderDate)
	c.updatedAt.append(v.UpdatedAt)
}

type itemCols struct {
	id, orderID, vehicleID proto.ColInt64
	quantity               proto.ColInt32
	unitPrice, discount    decimalCol
}

func newItemCols() *itemCols {
	return &itemCols{
		unitPrice: moneyDecimal(topology.TableOrderItems, "unit_price"),
		discount:  moneyDecimal(topology.TableOrderItems, "discount"),
	}
}

func (c *itemCols) columns() []proto.ColInput {
	return []proto.ColInput{&c.id, &c.orderID, &c.vehicleID, &c.quantity, &c.unitPrice, &c.discount}
}

func (c *itemCols) append(r *topology.Row) {
	v := &r.Item
	c.id = append(c.id, v.ID)
	c.orderID = append(c.orderID, v.OrderID)
	c.vehicleID = append(c.vehicleID, v.VehicleID)
	c.quantity = append(c.quantity, v.Quantity)
	c.unitPrice.append(v.UnitPrice)
	c.discount.append(v.Discount)
}

type paymentCols struct {
	id, orderID    proto.ColInt64
	amount         decimalCol
	method, status strCol
	paidAt         optTs
	createdAt      tsCol
}

func newPaymentCols(l layout) *paymentCols {
	return &paymentCols{
		amount:    moneyDecimal(topology.TablePayments, "amount"),
		paidAt:    optTs{v: newTsCol(l.micros)},
		createdAt: newTsCol(l.micros),
	}
}

func (c *paymentCols) columns() []proto.ColInput {
	return []proto.ColInput{&c.id, &c.orderID, &c.amount, &c.method, &c.status, &c.paidAt, &c.createdAt}
}

func (c *paymentCols) append(r *topology.Row) {
	v := &r.Payment
	c.id = append(c.id, v.ID)
	c.orderID = append(c.orderID, v.OrderID)
	c.amount.append(v.Amount)
	c.method.Append(v.Method)
	c.status.Append(v.Status)
	appendOptTs(&c.paidAt, v.PaidAt)
	c.createdAt.append(v.CreatedAt)
}

// encodeNative appends the rows of input to buf as one block of
// ClickHouse's Native format as the HTTP interface reads it: the block
// without block info or per-column serialization flags (protocol
// revision 0).
func encodeNative(buf *proto.Buffer, input proto.Input) error {
	rows := 0
	if len(input) > 0 {
		rows = input[0].Data.Rows()
	}
	blk := proto.Block{Columns: len(input), Rows: rows}
	if err := blk.EncodeRawBlock(buf, 0, input); err != nil {
		return fmt.Errorf("encoding native block: %w", err)
	}
	return nil
}

// Approximate encoded sizes, for batching by bytes: fixed-width columns
// plus, for each string, its length and a one-byte length prefix.
const (
	factFixedBytes = 8*5 + 4*2 + 2 + 4 + 8*6 + 1 + 16 // ints, DateTimes, Int16, Int32, decimals, _deleted, string prefixes
	mirrorMeta     = 8 + 1
)

// FactSize returns the approximate encoded size of f in bytes.
func FactSize(f *topology.Fact) int {
	return factFixedBytes + len(f.OrderStatus) + len(f.Channel) + len(f.Currency) +
		len(f.CustomerName) + len(f.CustomerEmail) + len(f.CustomerCity) + len(f.CustomerRegion) +
		len(f.CustomerCountry) + len(f.CustomerSegment) + len(f.VIN) + len(f.Make) + len(f.Model) +
		len(f.BodyType) + len(f.FuelType) + len(f.Condition) + len(f.PaymentStatus)
}

// MirrorSize returns the approximate encoded size of m in bytes.
func MirrorSize(m *topology.Mirror) int {
	r := &m.Row
	switch r.Table {
	case topology.TableCustomers:
		c := &r.Customer
		return mirrorMeta + 8 + 2 + 4 + 8*2 + 9 + len(c.Email) + len(c.FirstName) + len(c.LastName) +
			len(c.Phone.V) + len(c.City) + len(c.Region.V) + len(c.Country) + len(c.Segment) + 10
	case topology.TableVehicles:
		v := &r.Vehicle
		return mirrorMeta + 8 + 2 + 4 + 8*2 + 3 + 8*2 + 10 + len(v.VIN) + len(v.Make) + len(v.Model) +
			len(v.BodyType) + len(v.FuelType) + len(v.Transmission) + len(v.Color.V) + len(v.Condition) +
			len(v.StockStatus) + len(v.Features.V)
	case topology.TableOrders:
		o := &r.Order
		return mirrorMeta + 8*2 + 8*2 + 3 + len(o.Status) + len(o.Channel) + len(o.Currency)
	case topology.TableOrderItems:
		return mirrorMeta + 8*3 + 4 + 8*2
	case topology.TablePayments:
		p := &r.Payment
		return mirrorMeta + 8*2 + 8 + 1 + 8*2 + 2 + len(p.Method) + len(p.Status)
	}
	return mirrorMeta
}
