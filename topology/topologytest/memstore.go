package topologytest

import (
	"slices"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// MemStore is a map-backed state for the join rules: the global tables,
// with per-partition stores from Partition. Its indexes are computed by
// scanning, so it doubles as an independent check of the indexes that
// state maintains. Writes apply at once (there is no batch to commit). Not
// safe for concurrent use.
type MemStore struct {
	customers map[int64]topology.Stored[topology.Customer]
	vehicles  map[int64]topology.Stored[topology.Vehicle]
	parts     map[int32]*MemPartition
}

var _ topology.GlobalStore = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		customers: map[int64]topology.Stored[topology.Customer]{},
		vehicles:  map[int64]topology.Stored[topology.Vehicle]{},
		parts:     map[int32]*MemPartition{},
	}
}

// Customer implements topology.GlobalRows.
func (m *MemStore) Customer(id int64) (topology.Stored[topology.Customer], bool, error) {
	s, ok := m.customers[id]
	return s, ok, nil
}

// Vehicle implements topology.GlobalRows.
func (m *MemStore) Vehicle(id int64) (topology.Stored[topology.Vehicle], bool, error) {
	s, ok := m.vehicles[id]
	return s, ok, nil
}

// PutCustomer implements topology.GlobalStore.
func (m *MemStore) PutCustomer(s topology.Stored[topology.Customer]) error {
	m.customers[s.Row.ID] = s
	return nil
}

// PutVehicle implements topology.GlobalStore.
func (m *MemStore) PutVehicle(s topology.Stored[topology.Vehicle]) error {
	m.vehicles[s.Row.ID] = s
	return nil
}

// Partition returns the store of partition p, creating it empty.
func (m *MemStore) Partition(p int32) *MemPartition {
	mp := m.parts[p]
	if mp == nil {
		mp = &MemPartition{
			MemStore: m,
			orders:   map[int64]topology.Stored[topology.Order]{},
			items:    map[topology.ItemRef]topology.Stored[topology.OrderItem]{},
			payments: map[topology.ItemRef]topology.Stored[topology.Payment]{},
			versions: map[int64]uint64{},
		}
		m.parts[p] = mp
	}
	return mp
}

// MemPartition is the state of one partition of a MemStore; it reads the
// global tables of its MemStore.
type MemPartition struct {
	*MemStore
	orders   map[int64]topology.Stored[topology.Order]
	items    map[topology.ItemRef]topology.Stored[topology.OrderItem]
	payments map[topology.ItemRef]topology.Stored[topology.Payment] // keyed by (order, payment)
	versions map[int64]uint64
}

var _ topology.PartitionStore = (*MemPartition)(nil)

// Order implements topology.Rows.
func (p *MemPartition) Order(id int64) (topology.Stored[topology.Order], bool, error) {
	s, ok := p.orders[id]
	return s, ok, nil
}

// Item implements topology.Rows.
func (p *MemPartition) Item(orderID, itemID int64) (topology.Stored[topology.OrderItem], bool, error) {
	s, ok := p.items[topology.ItemRef{OrderID: orderID, ItemID: itemID}]
	return s, ok, nil
}

// Payment implements topology.Rows.
func (p *MemPartition) Payment(orderID, paymentID int64) (topology.Stored[topology.Payment], bool, error) {
	s, ok := p.payments[topology.ItemRef{OrderID: orderID, ItemID: paymentID}]
	return s, ok, nil
}

// ItemsOfOrder implements topology.Rows.
func (p *MemPartition) ItemsOfOrder(orderID int64, dst []topology.Stored[topology.OrderItem]) ([]topology.Stored[topology.OrderItem], error) {
	n := len(dst)
	for k, s := range p.items {
		if k.OrderID == orderID {
			dst = append(dst, s)
		}
	}
	slices.SortFunc(dst[n:], func(a, b topology.Stored[topology.OrderItem]) int { return cmpInt(a.Row.ID, b.Row.ID) })
	return dst, nil
}

// PaymentsOfOrder implements topology.Rows.
func (p *MemPartition) PaymentsOfOrder(orderID int64, dst []topology.Stored[topology.Payment]) ([]topology.Stored[topology.Payment], error) {
	n := len(dst)
	for k, s := range p.payments {
		if k.OrderID == orderID {
			dst = append(dst, s)
		}
	}
	slices.SortFunc(dst[n:], func(a, b topology.Stored[topology.Payment]) int { return cmpInt(a.Row.ID, b.Row.ID) })
	return dst, nil
}

// OrdersOfCustomer implements topology.Rows.
func (p *MemPartition) OrdersOfCustomer(customerID int64, dst []int64) ([]int64, error) {
	n := len(dst)
	for id, s := range p.orders {
		if s.Row.CustomerID == customerID && !s.Deleted {
			dst = append(dst, id)
		}
	}
	slices.Sort(dst[n:])
	return dst, nil
}

// ItemsOfVehicle implements topology.Rows.
func (p *MemPartition) ItemsOfVehicle(vehicleID int64, dst []topology.ItemRef) ([]topology.ItemRef, error) {
	n := len(dst)
	for k, s := range p.items {
		if s.Row.VehicleID == vehicleID && !s.Deleted {
			dst = append(dst, k)
		}
	}
	slices.SortFunc(dst[n:], compareRefs)
	return dst, nil
}

// LastFactVersion implements topology.Rows.
func (p *MemPartition) LastFactVersion(itemID int64) (uint64, bool, error) {
	v, ok := p.versions[itemID]
	return v, ok, nil
}

// PutOrder implements topology.PartitionStore.
func (p *MemPartition) PutOrder(s topology.Stored[topology.Order]) error {
	p.orders[s.Row.ID] = s
	return nil
}

// PutItem implements topology.PartitionStore.
func (p *MemPartition) PutItem(s topology.Stored[topology.OrderItem]) error {
	p.items[topology.ItemRef{OrderID: s.Row.OrderID, ItemID: s.Row.ID}] = s
	return nil
}

// PutPayment implements topology.PartitionStore.
func (p *MemPartition) PutPayment(s topology.Stored[topology.Payment]) error {
	p.payments[topology.ItemRef{OrderID: s.Row.OrderID, ItemID: s.Row.ID}] = s
	return nil
}

// SetFactVersion implements topology.PartitionStore.
func (p *MemPartition) SetFactVersion(itemID int64, v uint64) error {
	p.versions[itemID] = v
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareRefs(a, b topology.ItemRef) int {
	if c := cmpInt(a.OrderID, b.OrderID); c != 0 {
		return c
	}
	return cmpInt(a.ItemID, b.ItemID)
}
