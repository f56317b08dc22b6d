package topology

// Table identifies one of the five source tables of docs/design.md,
// Source data model.
type Table uint8

// The source tables. TableUnknown is the zero value.
const (
	TableUnknown Table = iota
	TableCustomers
	TableVehicles
	TableOrders
	TableOrderItems
	TablePayments
)

// Tables lists the five source tables in the order of docs/design.md,
// Source data model.
var Tables = []Table{TableCustomers, TableVehicles, TableOrders, TableOrderItems, TablePayments}

var tableNames = [...]string{"", "customers", "vehicles", "orders", "order_items", "payments"}

// String returns the PostgreSQL table name ("order_items").
func (t Table) String() string {
	if int(t) < len(tableNames) && t != TableUnknown {
		return tableNames[t]
	}
	return "unknown(" + itoa(int64(t)) + ")"
}

// TableNamed returns the table with the given PostgreSQL name, or
// TableUnknown.
func TableNamed(name string) Table {
	for i, n := range tableNames {
		if n == name && i != 0 {
			return Table(i)
		}
	}
	return TableUnknown
}

// Global reports whether every node keeps all of t (customers, vehicles),
// as opposed to the order-stream tables partitioned by order id.
func (t Table) Global() bool { return t == TableCustomers || t == TableVehicles }

// Customer is a row of customers.
type Customer struct {
	ID        int64
	Email     string
	FirstName string
	LastName  string
	Phone     Opt[string]
	City      string
	Region    Opt[string]
	Country   string // CHAR(2)
	Segment   string // retail|business|fleet
	BirthDate Opt[Date]
	CreatedAt Timestamp
	UpdatedAt Timestamp
}

// Vehicle is a row of vehicles.
type Vehicle struct {
	ID           int64
	VIN          string // CHAR(17)
	Make         string
	Model        string
	ModelYear    int16
	BodyType     string
	FuelType     string
	Transmission string
	Color        Opt[string]
	MileageKm    int32
	Condition    string // new|used|certified
	ListPrice    Decimal
	CostPrice    Opt[Decimal]
	StockStatus  string      // available|reserved|sold
	Features     Opt[string] // JSONB, as JSON text; can be large (TOASTed)
	CreatedAt    Timestamp
	UpdatedAt    Timestamp
}

// Order is a row of orders.
type Order struct {
	ID         int64
	CustomerID int64
	Status     string // pending|confirmed|paid|delivered|cancelled
	Channel    string // web|mobile|dealer
	Currency   string // CHAR(3)
	OrderDate  Timestamp
	UpdatedAt  Timestamp
}

// OrderItem is a row of order_items.
type OrderItem struct {
	ID        int64
	OrderID   int64
	VehicleID int64
	Quantity  int32
	UnitPrice Decimal
	Discount  Decimal
}

// Payment is a row of payments.
type Payment struct {
	ID        int64
	OrderID   int64
	Amount    Decimal
	Method    string // credit_card|bank_transfer|financing|cash
	Status    string // pending|approved|rejected|refunded
	PaidAt    Opt[Timestamp]
	CreatedAt Timestamp
}
