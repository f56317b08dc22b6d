package pipeline

import (
	"fmt"
	"io"
	"time"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// StoreOp names a method of topology's store interfaces.
type StoreOp int

// The traced store methods.
const (
	OpCustomer StoreOp = iota
	OpVehicle
	OpOrder
	OpItem
	OpPayment
	OpItemsOfOrder
	OpPaymentsOfOrder
	OpOrdersOfCustomer
	OpItemsOfVehicle
	OpLastFactVersion
	OpPutCustomer
	OpPutVehicle
	OpPutOrder
	OpPutItem
	OpPutPayment
	OpSetFactVersion
	numStoreOps
)

var storeOpNames = [numStoreOps]string{
	"Customer", "Vehicle", "Order", "Item", "Payment",
	"ItemsOfOrder", "PaymentsOfOrder", "OrdersOfCustomer", "ItemsOfVehicle", "LastFactVersion",
	"PutCustomer", "PutVehicle", "PutOrder", "PutItem", "PutPayment", "SetFactVersion",
}

func (o StoreOp) String() string { return storeOpNames[o] }

// StoreTrace counts the join rules' calls into state and the time they
// took, by method (Options.TraceStore). Not safe for concurrent use.
type StoreTrace struct {
	Calls [numStoreOps]int64
	Time  [numStoreOps]time.Duration
}

// Write prints the methods called, per event of events.
func (tr *StoreTrace) Write(w io.Writer, events int64) {
	if events == 0 {
		return
	}
	var calls int64
	var total time.Duration
	for op := range numStoreOps {
		if tr.Calls[op] == 0 {
			continue
		}
		calls += tr.Calls[op]
		total += tr.Time[op]
		fmt.Fprintf(w, "  %-17s %6.2f calls/event %8.0f ns/call %8.0f ns/event\n", StoreOp(op), float64(tr.Calls[op])/float64(events),
			float64(tr.Time[op])/float64(tr.Calls[op]), float64(tr.Time[op])/float64(events))
	}
	fmt.Fprintf(w, "  %-17s %6.2f calls/event %8.0f ns/call %8.0f ns/event\n", "all", float64(calls)/float64(events),
		float64(total)/float64(calls), float64(total)/float64(events))
}

func (tr *StoreTrace) add(op StoreOp, start time.Time) {
	tr.Calls[op]++
	tr.Time[op] += time.Since(start)
}

// tracedGlobal wraps a topology.GlobalStore with a StoreTrace.
type tracedGlobal struct {
	s  topology.GlobalStore
	tr *StoreTrace
}

func (g tracedGlobal) Customer(id int64) (topology.Stored[topology.Customer], bool, error) {
	defer g.tr.add(OpCustomer, time.Now())
	return g.s.Customer(id)
}

func (g tracedGlobal) Vehicle(id int64) (topology.Stored[topology.Vehicle], bool, error) {
	defer g.tr.add(OpVehicle, time.Now())
	return g.s.Vehicle(id)
}

func (g tracedGlobal) PutCustomer(s topology.Stored[topology.Customer]) error {
	defer g.tr.add(OpPutCustomer, time.Now())
	return g.s.PutCustomer(s)
}

func (g tracedGlobal) PutVehicle(s topology.Stored[topology.Vehicle]) error {
	defer g.tr.add(OpPutVehicle, time.Now())
	return g.s.PutVehicle(s)
}

// tracedPartition wraps a topology.PartitionStore with a StoreTrace.
type tracedPartition struct {
	s  topology.PartitionStore
	tr *StoreTrace
}

func (p tracedPartition) Customer(id int64) (topology.Stored[topology.Customer], bool, error) {
	defer p.tr.add(OpCustomer, time.Now())
	return p.s.Customer(id)
}

func (p tracedPartition) Vehicle(id int64) (topology.Stored[topology.Vehicle], bool, error) {
	defer p.tr.add(OpVehicle, time.Now())
	return p.s.Vehicle(id)
}

func (p tracedPartition) Order(id int64) (topology.Stored[topology.Order], bool, error) {
	defer p.tr.add(OpOrder, time.Now())
	return p.s.Order(id)
}

func (p tracedPartition) Item(orderID, itemID int64) (topology.Stored[topology.OrderItem], bool, error) {
	defer p.tr.add(OpItem, time.Now())
	return p.s.Item(orderID, itemID)
}

func (p tracedPartition) Payment(orderID, paymentID int64) (topology.Stored[topology.Payment], bool, error) {
	defer p.tr.add(OpPayment, time.Now())
	return p.s.Payment(orderID, paymentID)
}

func (p tracedPartition) ItemsOfOrder(orderID int64, dst []topology.Stored[topology.OrderItem]) ([]topology.Stored[topology.OrderItem], error) {
	defer p.tr.add(OpItemsOfOrder, time.Now())
	return p.s.ItemsOfOrder(orderID, dst)
}

func (p tracedPartition) PaymentsOfOrder(orderID int64, dst []topology.Stored[topology.Payment]) ([]topology.Stored[topology.Payment], error) {
	defer p.tr.add(OpPaymentsOfOrder, time.Now())
	return p.s.PaymentsOfOrder(orderID, dst)
}

func (p tracedPartition) OrdersOfCustomer(customerID int64, dst []int64) ([]int64, error) {
	defer p.tr.add(OpOrdersOfCustomer, time.Now())
	return p.s.OrdersOfCustomer(customerID, dst)
}

func (p tracedPartition) ItemsOfVehicle(vehicleID int64, dst []topology.ItemRef) ([]topology.ItemRef, error) {
	defer p.tr.add(OpItemsOfVehicle, time.Now())
	return p.s.ItemsOfVehicle(vehicleID, dst)
}

func (p tracedPartition) LastFactVersion(itemID int64) (uint64, bool, error) {
	defer p.tr.add(OpLastFactVersion, time.Now())
	return p.s.LastFactVersion(itemID)
}

func (p tracedPartition) PutOrder(s topology.Stored[topology.Order]) error {
	defer p.tr.add(OpPutOrder, time.Now())
	return p.s.PutOrder(s)
}

func (p tracedPartition) PutItem(s topology.Stored[topology.OrderItem]) error {
	defer p.tr.add(OpPutItem, time.Now())
	return p.s.PutItem(s)
}

func (p tracedPartition) PutPayment(s topology.Stored[topology.Payment]) error {
	defer p.tr.add(OpPutPayment, time.Now())
	return p.s.PutPayment(s)
}

func (p tracedPartition) SetFactVersion(itemID int64, version uint64) error {
	defer p.tr.add(OpSetFactVersion, time.Now())
	return p.s.SetFactVersion(itemID, version)
}
