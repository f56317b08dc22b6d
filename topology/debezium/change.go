package debezium

import (
	"strconv"
	"unsafe"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Kind says what a decoded record is. Only KindChange carries rows; the
// others are recognized and meant to be skipped by the processor.
type Kind uint8

// The record kinds.
const (
	// KindChange is a change event (op r, c, u or d) of a source table.
	KindChange Kind = iota + 1
	// KindTombstone is a table record with a null value (nil bytes, the
	// text null, or {"schema":…,"payload":null}): the compaction marker
	// that follows a delete. Only Topic, Table and Key are set.
	KindTombstone
	// KindHeartbeat is a record of the heartbeat topic
	// (__debezium-heartbeat.<prefix>).
	KindHeartbeat
	// KindTransaction is a record of the transaction metadata topic
	// (<prefix>.transaction).
	KindTransaction
	// KindMessage is a logical decoding message (<prefix>.message, op m).
	KindMessage
)

var kindNames = [...]string{"", "change", "tombstone", "heartbeat", "transaction", "message"}

// String returns the lowercase name of k ("tombstone").
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Op is the Debezium operation of a change event.
type Op byte

// The operations a change event can carry.
const (
	OpRead   Op = 'r' // snapshot read
	OpCreate Op = 'c' // insert
	OpUpdate Op = 'u' // update
	OpDelete Op = 'd' // delete
)

// String returns the one-letter Debezium code ("u").
func (o Op) String() string {
	switch o {
	case OpRead, OpCreate, OpUpdate, OpDelete:
		return string(rune(o))
	}
	return ""
}

// Snapshot is source.snapshot: whether, and where in, a snapshot the event
// was read. Debezium declares it a string enum; documentation samples show
// booleans (true → SnapshotTrue, false → SnapshotFalse), and with
// replace.null.with.default=false streaming events carry null
// (SnapshotNone, the zero value).
type Snapshot uint8

// The snapshot markers of docs/debezium.md, The source block.
const (
	SnapshotNone                  Snapshot = iota // null or absent: streaming
	SnapshotFalse                                 // "false": streaming
	SnapshotTrue                                  // "true"
	SnapshotFirst                                 // "first"
	SnapshotFirstInDataCollection                 // "first_in_data_collection"
	SnapshotLastInDataCollection                  // "last_in_data_collection"
	SnapshotLast                                  // "last"
	SnapshotIncremental                           // "incremental"
	SnapshotUnknown                               // a string this decoder does not know
)

var snapshotNames = [...]string{"", "false", "true", "first", "first_in_data_collection", "last_in_data_collection", "last", "incremental", "unknown"}

// String returns the Debezium spelling ("last"), or "" for SnapshotNone.
func (s Snapshot) String() string {
	if int(s) < len(snapshotNames) {
		return snapshotNames[s]
	}
	return "unknown"
}

// InSnapshot reports whether the event was read by a snapshot (initial,
// blocking or incremental) rather than streamed from the WAL.
func (s Snapshot) InSnapshot() bool { return s > SnapshotFalse && s != SnapshotUnknown }

// Image is one row image of a change event: the before or the after row.
// Only the field of the change's table is meaningful, and only when Valid.
type Image struct {
	// Valid is false when the image is null or absent (before of an insert,
	// after of a delete).
	Valid bool
	// Unchanged holds the columns whose value was Debezium's "unavailable
	// value" placeholder (an unchanged TOASTed value, docs/debezium.md, Unchanged TOAST values). Such a
	// column has its zero value in the row and must be taken from state.
	Unchanged topology.ColumnSet

	Customer  topology.Customer
	Vehicle   topology.Vehicle
	Order     topology.Order
	OrderItem topology.OrderItem
	Payment   topology.Payment
}

// Change is one decoded Kafka record. Decode fills a caller-owned Change,
// so one value can be reused for every record (that is what makes
// decoding allocation-free).
//
// Lifetime: strings in Before and After may alias the record's value bytes
// or the Decoder's scratch buffer. They are valid until the next Decode
// call on the same Decoder and as long as the value bytes are not modified.
// Call Detach before keeping a Change (or a row of it) longer.
type Change struct {
	Kind  Kind
	Topic string
	Table topology.Table

	// Op, Snapshot, LSN, TxID and SourceTsMs come from the envelope (op) and
	// its source block (snapshot, lsn, txId, ts_ms). LSN and TxID are null for
	// incremental-snapshot reads.
	Op         Op
	Snapshot   Snapshot
	LSN        topology.Opt[int64]
	TxID       topology.Opt[int64]
	SourceTsMs int64

	// Key is the record key's id (the primary key of every source table).
	// It is null only for a tombstone without a key.
	Key topology.Opt[int64]

	Before Image
	After  Image
}

// ID returns the primary key of the image's row of table t.
func (img *Image) ID(t topology.Table) int64 {
	switch t {
	case topology.TableCustomers:
		return img.Customer.ID
	case topology.TableVehicles:
		return img.Vehicle.ID
	case topology.TableOrders:
		return img.Order.ID
	case topology.TableOrderItems:
		return img.OrderItem.ID
	case topology.TablePayments:
		return img.Payment.ID
	}
	return 0
}

// reset clears everything Decode sets, keeping the rows' memory.
func (ch *Change) reset(topic string) {
	ch.Kind = 0
	ch.Topic = topic
	ch.Table = topology.TableUnknown
	ch.Op = 0
	ch.Snapshot = SnapshotNone
	ch.LSN = topology.Opt[int64]{}
	ch.TxID = topology.Opt[int64]{}
	ch.SourceTsMs = 0
	ch.Key = topology.Opt[int64]{}
	ch.Before.Valid, ch.Before.Unchanged = false, 0
	ch.After.Valid, ch.After.Unchanged = false, 0
}

// Detach copies every string of ch's images that may alias decoder-owned or
// record-owned memory into one new allocation owned by ch, so that ch stays
// valid after the next Decode call. It costs one allocation when the rows
// hold any text.
func (ch *Change) Detach() {
	n := ch.Before.textLen(ch.Table) + ch.After.textLen(ch.Table)
	if n == 0 {
		return
	}
	buf := make([]byte, 0, n)
	buf = ch.Before.detach(ch.Table, buf)
	ch.After.detach(ch.Table, buf)
}

func (img *Image) textLen(t topology.Table) int {
	if !img.Valid {
		return 0
	}
	n := 0
	for i, col := range t.Columns() {
		if isText(col.Type) {
			var c cell
			img.get(t, i, &c)
			n += len(c.s)
		}
	}
	return n
}

// detach moves img's strings into buf, which has room for all of them, and
// returns buf extended by what it used.
func (img *Image) detach(t topology.Table, buf []byte) []byte {
	if !img.Valid {
		return buf
	}
	for i, col := range t.Columns() {
		if !isText(col.Type) {
			continue
		}
		var c cell
		img.get(t, i, &c)
		if c.null || len(c.s) == 0 {
			continue
		}
		start := len(buf)
		buf = append(buf, c.s...)
		c.s = unsafe.String(&buf[start], len(c.s))
		img.set(t, i, &c)
	}
	return buf
}

func isText(t topology.ColumnType) bool { return t == topology.TypeText || t == topology.TypeJSONB }
