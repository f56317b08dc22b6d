package topology

// Fact is one row of sales_facts (docs/design.md, Outputs): an order item joined to its
// order, the order's customer and the item's vehicle, with the order's
// totals. Money has scale 2. Missing customers and vehicles give empty
// strings and zeros (left join).
type Fact struct {
	OrderItemID int64
	OrderID     int64
	OrderDate   Timestamp // the sink stores DateTime seconds, UTC
	OrderStatus string
	Channel     string
	Currency    string

	CustomerID      int64 // the order's customer_id, even when the customer is missing
	CustomerName    string
	CustomerEmail   string
	CustomerCity    string
	CustomerRegion  string // NULL region gives ""
	CustomerCountry string
	CustomerSegment string

	VehicleID int64 // the item's vehicle_id, even when the vehicle is missing
	VIN       string
	Make      string
	Model     string
	ModelYear int16
	BodyType  string
	FuelType  string
	Condition string
	ListPrice Decimal

	Quantity      int32
	UnitPrice     Decimal
	Discount      Decimal
	LineTotal     Decimal // quantity * unit_price - discount
	OrderTotal    Decimal // sum of line_total over the order's live items
	OrderPaid     Decimal // sum of amount over the order's approved payments
	PaymentStatus string  // unpaid|partial|paid

	UpdatedAt Timestamp // the sink stores DateTime seconds, UTC
	Version   uint64    // _version
	Deleted   bool      // _deleted
}

// FactColumns names the sales_facts columns in the order of docs/design.md, Outputs, the order
// of the Fact fields.
var FactColumns = []string{
	"order_item_id", "order_id", "order_date", "order_status", "channel", "currency",
	"customer_id", "customer_name", "customer_email", "customer_city",
	"customer_region", "customer_country", "customer_segment",
	"vehicle_id", "vin", "make", "model", "model_year", "body_type", "fuel_type", "condition", "list_price",
	"quantity", "unit_price", "discount", "line_total",
	"order_total", "order_paid", "payment_status",
	"updated_at", "_version", "_deleted",
}

// The payment_status values.
const (
	PaymentUnpaid  = "unpaid"
	PaymentPartial = "partial"
	PaymentPaid    = "paid"
)

// MoneyScale is the scale of every money column of sales_facts.
const MoneyScale = 2

// PaymentStatus returns payment_status for the given order_paid and
// order_total, both in cents.
func PaymentStatus(paid, total int64) string {
	switch {
	case paid == 0:
		return PaymentUnpaid
	case paid < total:
		return PaymentPartial
	default:
		return PaymentPaid
	}
}

// Cents returns d in units of 0.01: exact for scales up to 2 (the scale
// of NUMERIC(12,2)), rounded half away from zero for finer scales.
func Cents(d Decimal) int64 {
	if r, ok := d.Rescale(MoneyScale); ok {
		return r.Unscaled
	}
	if d.Scale < MoneyScale {
		// Only an overflow of int64 gets here, far beyond Decimal(18,2).
		if d.Unscaled < 0 {
			return minInt64
		}
		return maxInt64
	}
	u := d.Unscaled
	for s := d.Scale; s > MoneyScale+1; s-- {
		u /= 10
	}
	q, r := u/10, u%10
	switch {
	case r >= 5:
		q++
	case r <= -5:
		q--
	}
	return q
}

// money returns cents as a Decimal of scale 2.
func money(cents int64) Decimal { return Decimal{Unscaled: cents, Scale: MoneyScale} }

// LineTotal returns quantity * unit_price - discount in cents.
func LineTotal(it *OrderItem) int64 {
	return int64(it.Quantity)*Cents(it.UnitPrice) - Cents(it.Discount)
}

// orderView is what the facts of one order share: the order, its customer
// and the aggregates over its live items and payments.
type orderView struct {
	order      Stored[Order]
	customer   Stored[Customer]
	customerOK bool // customer found and live
	total      int64
	paid       int64
	// ts is the latest source.ts_ms of the stored rows every fact of the
	// order joins: the order, its customer, its items and its payments,
	// tombstones included (a deletion changes the totals too).
	ts int64
}

// fact builds the fact of item it with vehicle v (found: stored, maybe as
// a tombstone). The fact is deleted when the item or its order is.
func (o *orderView) fact(it *Stored[OrderItem], v *Stored[Vehicle], found bool) Fact {
	ord := &o.order.Row
	f := Fact{
		OrderItemID: it.Row.ID,
		OrderID:     it.Row.OrderID,
		OrderDate:   ord.OrderDate,
		OrderStatus: ord.Status,
		Channel:     ord.Channel,
		Currency:    ord.Currency,
		CustomerID:  ord.CustomerID,
		VehicleID:   it.Row.VehicleID,
		Quantity:    it.Row.Quantity,
		UnitPrice:   money(Cents(it.Row.UnitPrice)),
		Discount:    money(Cents(it.Row.Discount)),
		LineTotal:   money(LineTotal(&it.Row)),
		OrderTotal:  money(o.total),
		OrderPaid:   money(o.paid),
		Deleted:     it.Deleted || o.order.Deleted,
		ListPrice:   money(0),
	}
	f.PaymentStatus = PaymentStatus(o.paid, o.total)
	ts := max(o.ts, it.SourceTsMs)
	if o.customerOK {
		c := &o.customer.Row
		f.CustomerName = c.FirstName + " " + c.LastName
		f.CustomerEmail = c.Email
		f.CustomerCity = c.City
		if c.Region.Valid {
			f.CustomerRegion = c.Region.V
		}
		f.CustomerCountry = c.Country
		f.CustomerSegment = c.Segment
	}
	if found {
		ts = max(ts, v.SourceTsMs)
	}
	if found && !v.Deleted {
		vr := &v.Row
		f.VIN = vr.VIN
		f.Make = vr.Make
		f.Model = vr.Model
		f.ModelYear = vr.ModelYear
		f.BodyType = vr.BodyType
		f.FuelType = vr.FuelType
		f.Condition = vr.Condition
		f.ListPrice = money(Cents(vr.ListPrice))
	}
	f.UpdatedAt = Timestamp(ts * 1000)
	return f
}
