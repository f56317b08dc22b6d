package topology

// GlobalRows reads the global tables (customers, vehicles). A missing row
// is (zero, false, nil); a deleted one is returned with Deleted set.
type GlobalRows interface {
	Customer(id int64) (Stored[Customer], bool, error)
	Vehicle(id int64) (Stored[Vehicle], bool, error)
}

// GlobalStore is GlobalRows plus writes, as one write batch of state sees
// them: reads return the batch's own earlier writes.
type GlobalStore interface {
	GlobalRows
	PutCustomer(Stored[Customer]) error
	PutVehicle(Stored[Vehicle]) error
}

// Rows reads what the join rules need for one partition of the order
// stream: the global tables, the partition's orders, items and payments
// (tombstones included for point reads), its secondary indexes, and the
// last fact version per item (or a bound of it).
//
// The list methods append to dst and return it, so callers can reuse a
// buffer, in ascending key order. The indexes are kept by the
// implementation from the rows it stores:
//   - ItemsOfOrder: every stored item whose OrderID is orderID, tombstones
//     included, by item id;
//   - PaymentsOfOrder: every stored payment of the order, tombstones
//     included, by payment id;
//   - OrdersOfCustomer: ids of live orders whose CustomerID is customerID;
//   - ItemsOfVehicle: live items whose VehicleID is vehicleID, by (order
//     id, item id).
//
// Vehicle may leave the text of Features out (Features.V empty, Valid
// as stored): no fact column reads it, and it can be tens of kilobytes.
// GlobalStore's Vehicle returns it, for the TOAST merge of ApplyGlobal.
type Rows interface {
	GlobalRows
	Order(id int64) (Stored[Order], bool, error)
	Item(orderID, itemID int64) (Stored[OrderItem], bool, error)
	Payment(orderID, paymentID int64) (Stored[Payment], bool, error)
	ItemsOfOrder(orderID int64, dst []Stored[OrderItem]) ([]Stored[OrderItem], error)
	PaymentsOfOrder(orderID int64, dst []Stored[Payment]) ([]Stored[Payment], error)
	OrdersOfCustomer(customerID int64, dst []int64) ([]int64, error)
	ItemsOfVehicle(vehicleID int64, dst []ItemRef) ([]ItemRef, error)
	// LastFactVersion returns the version of the last fact emitted for the
	// item, or any higher version the store chooses to return (package
	// state returns its partition's highest), and false if none was
	// recorded. NextVersion of it is then above the item's last version.
	LastFactVersion(itemID int64) (uint64, bool, error)
}

// PartitionStore is Rows plus writes, as one write batch of state sees
// them: reads return the batch's own earlier writes. Put replaces the
// stored row with the same key and updates the indexes from the old and
// new images (an item that changed vehicle leaves the old vehicle's index).
type PartitionStore interface {
	Rows
	PutOrder(Stored[Order]) error
	PutItem(Stored[OrderItem]) error
	PutPayment(Stored[Payment]) error
	SetFactVersion(itemID int64, version uint64) error
}
