package topology

import "errors"

// Op is the kind of a change: Debezium's op field for row events.
type Op uint8

// The row-event ops. OpUnknown is the zero value.
const (
	OpUnknown Op = iota
	OpCreate     // "c": insert
	OpRead       // "r": snapshot read
	OpUpdate     // "u": update
	OpDelete     // "d": delete
)

var opCodes = [...]string{"?", "c", "r", "u", "d"}

// String returns Debezium's one-letter code ("c", "r", "u", "d").
func (o Op) String() string {
	if int(o) < len(opCodes) {
		return opCodes[o]
	}
	return "op(" + itoa(int64(o)) + ")"
}

// OpNamed returns the op with the given Debezium code, or OpUnknown.
func OpNamed(code string) Op {
	for i, c := range opCodes {
		if c == code && i != 0 {
			return Op(i)
		}
	}
	return OpUnknown
}

// Row holds one row of any source table: Table says which field holds it;
// the others are zero. It is a plain value (no pointers besides strings), so
// copying it never aliases another row.
type Row struct {
	Table    Table
	Customer Customer
	Vehicle  Vehicle
	Order    Order
	Item     OrderItem
	Payment  Payment
}

// CustomerRow returns c as a Row.
func CustomerRow(c Customer) Row { return Row{Table: TableCustomers, Customer: c} }

// VehicleRow returns v as a Row.
func VehicleRow(v Vehicle) Row { return Row{Table: TableVehicles, Vehicle: v} }

// OrderRow returns o as a Row.
func OrderRow(o Order) Row { return Row{Table: TableOrders, Order: o} }

// ItemRow returns it as a Row.
func ItemRow(it OrderItem) Row { return Row{Table: TableOrderItems, Item: it} }

// PaymentRow returns p as a Row.
func PaymentRow(p Payment) Row { return Row{Table: TablePayments, Payment: p} }

// ID returns the row's primary key.
func (r *Row) ID() int64 {
	switch r.Table {
	case TableCustomers:
		return r.Customer.ID
	case TableVehicles:
		return r.Vehicle.ID
	case TableOrders:
		return r.Order.ID
	case TableOrderItems:
		return r.Item.ID
	case TablePayments:
		return r.Payment.ID
	}
	return 0
}

// OrderID returns the order the row belongs to in the order stream: the
// id of an order, the order_id of an item or payment, 0 for global tables.
// It decides the row's partition.
func (r *Row) OrderID() int64 {
	switch r.Table {
	case TableOrders:
		return r.Order.ID
	case TableOrderItems:
		return r.Item.OrderID
	case TablePayments:
		return r.Payment.OrderID
	}
	return 0
}

// Position is where a record was read: its Kafka partition and offset in
// the topic of its table.
type Position struct {
	Partition int32
	Offset    int64
}

// Before reports whether p is earlier than q in the same topic partition.
// Positions in different partitions (or with a negative offset, meaning
// unknown) are not ordered, and Before returns false.
func (p Position) Before(q Position) bool {
	return p.Partition == q.Partition && p.Offset >= 0 && q.Offset >= 0 && p.Offset < q.Offset
}

// Change is one decoded row event, the input of the join rules. The
// Debezium decoder produces its own type; the actors convert it to a
// Change. A Change is plain data, safe to copy.
type Change struct {
	Table Table
	Op    Op
	// Pos is where the record was read. All changes of one row go to one
	// partition of one topic (rows are keyed by id; items and payments are
	// routed by their immutable order_id), so Pos orders the changes of a
	// row exactly, snapshot reads included. See the package doc.
	Pos Position
	// LSN is source.lsn: the mirror row's _version. 0 when unknown
	// (incremental-snapshot reads carry none).
	LSN uint64
	// TxID is source.txId (0 when unknown). Informational.
	TxID uint64
	// SourceTsMs is source.ts_ms: commit time when streaming, read time in
	// a snapshot. It feeds sales_facts.updated_at.
	SourceTsMs int64
	// Before is the old row image (op u and d; with REPLICA IDENTITY FULL,
	// complete), After the new one (op c, r, u). Their Row.Table must equal
	// Table.
	Before Opt[Row]
	After  Opt[Row]
	// Unchanged lists the columns of After that carried Debezium's
	// unchanged-TOAST placeholder: their values in After are meaningless and
	// are taken from the stored row (or, failing that, from Before).
	// Column i is the i-th field of the table's struct in rows.go (0 is
	// id), as in Table.Columns.
	Unchanged ColumnSet
}

// Image returns the row image that identifies the changed row: Before for
// a delete, After otherwise.
func (ch *Change) Image() *Row {
	if ch.Op == OpDelete {
		return &ch.Before.V
	}
	return &ch.After.V
}

// ID returns the primary key of the changed row.
func (ch *Change) ID() int64 { return ch.Image().ID() }

// ErrInvalidChange is wrapped by the errors of Change.Validate.
var ErrInvalidChange = errors.New("invalid change")

// Validate checks that ch is self-consistent: a known table and op, the
// row image its op needs, images of the right table.
func (ch *Change) Validate() error {
	fail := func(msg string) error {
		return &changeError{table: ch.Table, op: ch.Op, msg: msg}
	}
	if ch.Table == TableUnknown || int(ch.Table) > len(Tables) {
		return fail("unknown table")
	}
	switch ch.Op {
	case OpCreate, OpRead, OpUpdate:
		if !ch.After.Valid {
			return fail("missing after image")
		}
	case OpDelete:
		if !ch.Before.Valid {
			return fail("missing before image")
		}
	default:
		return fail("unknown op")
	}
	if ch.Before.Valid && ch.Before.V.Table != ch.Table {
		return fail("before image of table " + ch.Before.V.Table.String())
	}
	if ch.After.Valid && ch.After.V.Table != ch.Table {
		return fail("after image of table " + ch.After.V.Table.String())
	}
	return nil
}

type changeError struct {
	table Table
	op    Op
	msg   string
}

func (e *changeError) Error() string {
	return "invalid change (" + e.table.String() + " op " + e.op.String() + "): " + e.msg
}

func (e *changeError) Unwrap() error { return ErrInvalidChange }

// Stored is a row as state keeps it: the row image after the last applied
// change and facts about that change. A deleted row is kept as a tombstone
// (Deleted, with its last image) so that an older change redelivered later
// cannot resurrect it, and so that facts can still name its order_date.
type Stored[T any] struct {
	Row     T
	Deleted bool
	// LSN is the source.lsn of the last applied change (the mirror
	// _version); SourceTsMs its source.ts_ms.
	LSN        uint64
	SourceTsMs int64
	// Pos is where the last applied change was read.
	Pos Position
	// PastMonths, for orders only, lists the months (toYYYYMM, as
	// Timestamp.Month gives them) other than the current one that the
	// order's order_date has had in this state, ascending. sales_facts is
	// partitioned by that month and ReplacingMergeTree replaces rows
	// within a partition only, so the facts of the order carry, at every
	// emission, a tombstone under each of them (see "Rows that move" in
	// doc.go).
	PastMonths []int32
}

// ItemRef names an order item by its order and its own id: the key of an
// item in state, where items are clustered by order.
type ItemRef struct {
	OrderID int64
	ItemID  int64
}
