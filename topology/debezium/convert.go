package debezium

import "github.com/drivetrain-cdc/drivetrain/topology"

// ToTopology fills dst, the join rules' input, from c, a decoded change of
// one of the five tables read at pos. Rows are copied as they are: call
// Detach first if they must outlive the next Decode.
func (c *Change) ToTopology(pos topology.Position, dst *topology.Change) {
	*dst = topology.Change{
		Table:      c.Table,
		Op:         topology.OpNamed(c.Op.String()),
		Pos:        pos,
		SourceTsMs: c.SourceTsMs,
		Unchanged:  c.After.Unchanged,
	}
	if c.LSN.Valid && c.LSN.V > 0 {
		dst.LSN = uint64(c.LSN.V)
	}
	if c.TxID.Valid && c.TxID.V > 0 {
		dst.TxID = uint64(c.TxID.V)
	}
	if c.Before.Valid {
		dst.Before = topology.Some(c.Before.Row(c.Table))
	}
	if c.After.Valid {
		dst.After = topology.Some(c.After.Row(c.Table))
	}
}

// Row returns the image's row of table t as a topology.Row.
func (img *Image) Row(t topology.Table) topology.Row {
	switch t {
	case topology.TableCustomers:
		return topology.CustomerRow(img.Customer)
	case topology.TableVehicles:
		return topology.VehicleRow(img.Vehicle)
	case topology.TableOrders:
		return topology.OrderRow(img.Order)
	case topology.TableOrderItems:
		return topology.ItemRow(img.OrderItem)
	case topology.TablePayments:
		return topology.PaymentRow(img.Payment)
	}
	return topology.Row{}
}
