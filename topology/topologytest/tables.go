package topologytest

import (
	"maps"
	"slices"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Tables is the content of the five source tables at one moment, as
// PostgreSQL holds it, each row with the LSN and source.ts_ms of its last
// change (Stored.Pos and Deleted are unused). It computes the expected
// output directly, independently of the join rules. The maps may be read
// but should be changed only through the generator.
type Tables struct {
	Customers map[int64]topology.Stored[topology.Customer]
	Vehicles  map[int64]topology.Stored[topology.Vehicle]
	Orders    map[int64]topology.Stored[topology.Order]
	Items     map[int64]topology.Stored[topology.OrderItem]
	Payments  map[int64]topology.Stored[topology.Payment]
	// Gone holds, per order id, the latest source.ts_ms of the deletes of
	// its items and payments: deletions feed updated_at too.
	Gone map[int64]int64
}

// NewTables returns empty tables.
func NewTables() *Tables {
	return &Tables{
		Customers: map[int64]topology.Stored[topology.Customer]{},
		Vehicles:  map[int64]topology.Stored[topology.Vehicle]{},
		Orders:    map[int64]topology.Stored[topology.Order]{},
		Items:     map[int64]topology.Stored[topology.OrderItem]{},
		Payments:  map[int64]topology.Stored[topology.Payment]{},
		Gone:      map[int64]int64{},
	}
}

// Mirrors returns the expected live rows of the mirror tables: every row
// with _version = the LSN of its last change, sorted by table and id.
func (t *Tables) Mirrors() []topology.Mirror {
	var out []topology.Mirror
	for _, s := range t.Customers {
		out = append(out, topology.Mirror{Row: topology.CustomerRow(s.Row), Version: s.LSN})
	}
	for _, s := range t.Vehicles {
		out = append(out, topology.Mirror{Row: topology.VehicleRow(s.Row), Version: s.LSN})
	}
	for _, s := range t.Orders {
		out = append(out, topology.Mirror{Row: topology.OrderRow(s.Row), Version: s.LSN})
	}
	for _, s := range t.Items {
		out = append(out, topology.Mirror{Row: topology.ItemRow(s.Row), Version: s.LSN})
	}
	for _, s := range t.Payments {
		out = append(out, topology.Mirror{Row: topology.PaymentRow(s.Row), Version: s.LSN})
	}
	SortMirrors(out)
	return out
}

// Facts returns sales_facts_current as SQL would compute it from the
// tables (order_items LEFT JOIN orders, customers, vehicles, with the
// aggregates of docs/design.md, Outputs), _version 0. updated_at is the latest
// source.ts_ms among the rows the fact joins: the item, its order, the
// order's customer, the item's vehicle, and every item and payment of the
// order, deleted ones included (Gone). Items without an order (impossible
// with the foreign key) are left out.
func (t *Tables) Facts() []topology.Fact {
	totals := map[int64]int64{}
	paid := map[int64]int64{}
	ts := map[int64]int64{}
	maps.Copy(ts, t.Gone)
	for _, it := range t.Items {
		r := it.Row
		totals[r.OrderID] += int64(r.Quantity)*cents(r.UnitPrice) - cents(r.Discount)
		ts[r.OrderID] = max(ts[r.OrderID], it.SourceTsMs)
	}
	for _, p := range t.Payments {
		if p.Row.Status == "approved" {
			paid[p.Row.OrderID] += cents(p.Row.Amount)
		}
		ts[p.Row.OrderID] = max(ts[p.Row.OrderID], p.SourceTsMs)
	}
	var out []topology.Fact
	for _, it := range t.Items {
		r := it.Row
		o, ok := t.Orders[r.OrderID]
		if !ok {
			continue
		}
		f := topology.Fact{
			OrderItemID: r.ID, OrderID: r.OrderID,
			OrderDate: o.Row.OrderDate, OrderStatus: o.Row.Status, Channel: o.Row.Channel, Currency: o.Row.Currency,
			CustomerID: o.Row.CustomerID,
			VehicleID:  r.VehicleID,
			ListPrice:  dec(0),
			Quantity:   r.Quantity, UnitPrice: dec(cents(r.UnitPrice)), Discount: dec(cents(r.Discount)),
			LineTotal:  dec(int64(r.Quantity)*cents(r.UnitPrice) - cents(r.Discount)),
			OrderTotal: dec(totals[r.OrderID]), OrderPaid: dec(paid[r.OrderID]),
		}
		switch p, tot := paid[r.OrderID], totals[r.OrderID]; {
		case p == 0:
			f.PaymentStatus = "unpaid"
		case p < tot:
			f.PaymentStatus = "partial"
		default:
			f.PaymentStatus = "paid"
		}
		latest := max(it.SourceTsMs, o.SourceTsMs, ts[r.OrderID])
		if c, ok := t.Customers[o.Row.CustomerID]; ok {
			f.CustomerName = c.Row.FirstName + " " + c.Row.LastName
			f.CustomerEmail, f.CustomerCity = c.Row.Email, c.Row.City
			if c.Row.Region.Valid {
				f.CustomerRegion = c.Row.Region.V
			}
			f.CustomerCountry, f.CustomerSegment = c.Row.Country, c.Row.Segment
			latest = max(latest, c.SourceTsMs)
		}
		if v, ok := t.Vehicles[r.VehicleID]; ok {
			f.VIN, f.Make, f.Model, f.ModelYear = v.Row.VIN, v.Row.Make, v.Row.Model, v.Row.ModelYear
			f.BodyType, f.FuelType, f.Condition = v.Row.BodyType, v.Row.FuelType, v.Row.Condition
			f.ListPrice = dec(cents(v.Row.ListPrice))
			latest = max(latest, v.SourceTsMs)
		}
		f.UpdatedAt = topology.Timestamp(latest * 1000)
		out = append(out, f)
	}
	SortFacts(out)
	return out
}

// cents converts an exact money value to units of 0.01.
func cents(d topology.Decimal) int64 {
	r, ok := d.Rescale(2)
	if !ok {
		panic("topologytest: money value " + d.String() + " is not exact in cents")
	}
	return r.Unscaled
}

func dec(cents int64) topology.Decimal { return topology.NewDecimal(cents, 2) }

// sortedKeys returns the keys of m in ascending order.
func sortedKeys[V any](m map[int64]V) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
