package debezium

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"hash/maphash"
	"strconv"
	"strings"
	"unsafe"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// DefaultMaxRecordBytes is the default of Options.MaxRecordBytes.
const DefaultMaxRecordBytes = 4 << 20

// DefaultPlaceholder is Debezium's default unavailable.value.placeholder.
const DefaultPlaceholder = "__debezium_unavailable_value"

// DecimalHandling says how a schemaless NUMERIC value that is a JSON string
// is read. (A JSON number is always read as decimal text, an object as a
// VariableScaleDecimal; with a schema, the schema decides.)
type DecimalHandling uint8

// The decimal handlings.
const (
	// DecimalAuto reads a string containing '.' or '-' (or NaN/Infinity) as
	// decimal text and anything else as precise base64. Base64 never holds
	// those characters, and the string mode of a NUMERIC with a scale always
	// prints a point, so this is unambiguous for the tables of docs/design.md, Source data model.
	DecimalAuto DecimalHandling = iota
	// DecimalPrecise: strings are base64 (decimal.handling.mode=precise).
	DecimalPrecise
	// DecimalString: strings are decimal text (decimal.handling.mode=string).
	DecimalString
)

// Options configure a Decoder. The zero value works.
type Options struct {
	// TopicPrefix is the connector's topic.prefix. Table topics are
	// <prefix>.<schema>.<table>; <prefix>.transaction and <prefix>.message
	// are the transaction-metadata and logical-message topics. Empty means
	// "any prefix": the table is the topic's last dot-separated segment (a
	// bare table name such as "orders" works too), and any topic ending in
	// .transaction or .message is one of those. Topics starting with
	// __debezium-heartbeat are heartbeats either way.
	TopicPrefix string
	// MaxRecordBytes bounds len(key)+len(value); a larger record is
	// Oversized. Zero means DefaultMaxRecordBytes, negative means no limit.
	MaxRecordBytes int
	// DecimalHandling reads schemaless NUMERIC strings; default DecimalAuto.
	DecimalHandling DecimalHandling
	// Placeholder is the connector's unavailable.value.placeholder;
	// default DefaultPlaceholder.
	Placeholder string
	// OnUnknownColumn, when set, is called once per Decoder for each column
	// name a table does not have (the column is ignored). It runs inside
	// Decode.
	OnUnknownColumn func(table topology.Table, column string)
	// SkipUpdateBefore leaves the before image of an update undecoded
	// (Change.Before not Valid) when its after image has no unchanged
	// TOAST column: the join rules read an update's before image only to
	// fill such columns, and with REPLICA IDENTITY FULL it is as large as
	// the after image. The image is still checked to be JSON; deletes,
	// and updates with unchanged columns, decode it as usual.
	SkipUpdateBefore bool
	// Stored, with SkipUpdateBefore, reports whether the row of table
	// with the given id is in the caller's state (a tombstone counts):
	// then an update's before image stays undecoded even when its after
	// image has unchanged columns, which the join rules fill from the
	// stored row. Answering false when unsure only costs the decoding.
	Stored func(table topology.Table, id int64) bool
	// Memo makes the decoder remember long string values per row and
	// column, for Check to pass over (see memo.go). It holds a few dozen
	// bytes per long value of every row decoded; for a decoder that
	// checks many versions of the same rows.
	Memo bool
}

// Decoder turns Kafka records of the Debezium PostgreSQL connector into
// Changes. It keeps, per table, the schema bytes last seen and the column
// plan derived from them, so that a record whose schema is byte-for-byte
// the previous one skips it with one comparison.
//
// A Decoder is not safe for concurrent use: give each partition actor its
// own.
type Decoder struct {
	opts     Options
	maxBytes int

	arena      []byte
	cache      [numTables]schemaCache
	schemaless [numTables]*plan
	reported   [numTables]map[string]struct{}

	// Placeholder forms (docs/debezium.md, Unchanged TOAST values): strings compared after
	// unescaping, and array/object forms compared without whitespace.
	phStrings      []string
	phSpans        []string
	phMin, phMax   int
	txTopic        string
	msgTopic       string
	dataPrefix     string
	lastTopic      string
	lastTable      topology.Table
	lastKind       Kind
	lastTopicValid bool

	// The memo (Options.Memo, memo.go): nil without it.
	memo     map[memoKey]memoVal
	memoCols [numTables]topology.ColumnSet // the columns with values in memo
	seed     maphash.Seed
	checking bool  // in Check
	memoHits int64 // values Check passed over (for tests)
}

const numTables = 6 // topology.TableUnknown … topology.TablePayments

type schemaCache struct {
	value []byte // the value's "schema" member as last seen
	plan  *plan  // derived from value
	key   []byte // the key's "schema" member as last seen
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opts Options) *Decoder {
	d := &Decoder{opts: opts, maxBytes: opts.MaxRecordBytes}
	if opts.Memo {
		d.memo, d.seed = map[memoKey]memoVal{}, maphash.MakeSeed()
	}
	if d.maxBytes == 0 {
		d.maxBytes = DefaultMaxRecordBytes
	}
	for _, t := range topology.Tables {
		d.schemaless[t] = schemalessPlan(t)
	}
	ph := opts.Placeholder
	if ph == "" {
		ph = DefaultPlaceholder
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(ph))
	u := nameUUID(ph)
	quoted := strconv.Quote(ph)
	d.phStrings = []string{ph, b64, u, "{" + quoted + ":" + quoted + "}"}
	var bytesArr strings.Builder
	bytesArr.WriteByte('[')
	for i := 0; i < len(ph); i++ {
		if i > 0 {
			bytesArr.WriteByte(',')
		}
		bytesArr.WriteString(strconv.Itoa(int(ph[i])))
	}
	bytesArr.WriteByte(']')
	d.phSpans = []string{
		"[" + quoted + "]", "[" + strconv.Quote(b64) + "]", "[" + strconv.Quote(u) + "]",
		bytesArr.String(), "{" + quoted + ":" + quoted + "}",
	}
	d.phMin, d.phMax = len(d.phStrings[0]), 0
	for _, s := range d.phStrings {
		d.phMin, d.phMax = min(d.phMin, len(s)), max(d.phMax, len(s))
	}
	if p := opts.TopicPrefix; p != "" {
		d.txTopic, d.msgTopic, d.dataPrefix = p+".transaction", p+".message", p+"."
	}
	return d
}

// nameUUID is Java's UUID.nameUUIDFromBytes (version 3, MD5, no
// namespace): how Debezium spells the placeholder in a uuid[] column.
func nameUUID(s string) string {
	h := md5.Sum([]byte(s))
	h[6] = h[6]&0x0f | 0x30
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// route maps a topic to its table, or to the kind of record it carries.
func (d *Decoder) route(topic string) (topology.Table, Kind) {
	if d.lastTopicValid && topic == d.lastTopic {
		return d.lastTable, d.lastKind
	}
	t, k := d.routeSlow(topic)
	d.lastTopic, d.lastTable, d.lastKind, d.lastTopicValid = topic, t, k, true
	return t, k
}

func (d *Decoder) routeSlow(topic string) (topology.Table, Kind) {
	if strings.HasPrefix(topic, "__debezium-heartbeat") {
		return topology.TableUnknown, KindHeartbeat
	}
	if d.dataPrefix != "" {
		switch {
		case topic == d.txTopic:
			return topology.TableUnknown, KindTransaction
		case topic == d.msgTopic:
			return topology.TableUnknown, KindMessage
		case !strings.HasPrefix(topic, d.dataPrefix):
			return topology.TableUnknown, KindChange
		}
		topic = topic[len(d.dataPrefix):]
	} else {
		switch {
		case strings.HasSuffix(topic, ".transaction"):
			return topology.TableUnknown, KindTransaction
		case strings.HasSuffix(topic, ".message"):
			return topology.TableUnknown, KindMessage
		}
	}
	if i := strings.LastIndexByte(topic, '.'); i >= 0 {
		topic = topic[i+1:]
	}
	return topology.TableNamed(topic), KindChange
}

// Decode decodes one Kafka record into ch, overwriting what it held. key
// and value are the record's bytes (nil for a null key or value). On error
// ch is left partly filled and must not be used; the error is an *Error.
//
// Records of heartbeat, transaction and message topics are not parsed: ch
// gets their Kind and nothing else.
func (d *Decoder) Decode(topic string, key, value []byte, ch *Change) error {
	ch.reset(topic)
	if d.maxBytes > 0 && len(key)+len(value) > d.maxBytes {
		return newError(Oversized, "", "record of "+strconv.Itoa(len(key)+len(value))+" bytes exceeds the limit of "+strconv.Itoa(d.maxBytes))
	}
	t, kind := d.route(topic)
	if kind != KindChange {
		ch.Kind = kind
		return nil
	}
	if t == topology.TableUnknown {
		return newError(UnknownTable, "", "topic "+strconv.Quote(topic)+" is not a table topic of drivetrain's source tables")
	}
	ch.Table = t
	d.arena = d.arena[:0]
	tombstone, err := d.decodeValue(t, value, ch)
	if err != nil {
		return err
	}
	if err := d.decodeKey(t, key, ch); err != nil {
		return err
	}
	if tombstone {
		ch.Kind = KindTombstone
		return nil
	}
	if !ch.Key.Valid {
		return newError(MissingField, "key", "a change event needs a key")
	}
	ch.Kind = KindChange
	return nil
}

// decodeValue decodes the record value, reporting a tombstone.
func (d *Decoder) decodeValue(t topology.Table, value []byte, ch *Change) (bool, error) {
	s := scanner{b: value}
	s.ws()
	if s.i == len(value) {
		return true, nil
	}
	switch s.b[s.i] {
	case 'n':
		if err := s.literal("null"); err != nil {
			return false, at(err, "value")
		}
		return true, at(s.end(), "value")
	case '{':
	default:
		if err := s.skip(); err != nil {
			return false, at(err, "value")
		}
		if err := s.end(); err != nil {
			return false, at(err, "value")
		}
		return false, newError(NotEnvelope, "value", "expected an object, found "+tokenName(value[0]))
	}
	s.i++
	s.ws()
	if s.peek() == '"' {
		save := s.i
		name, err := s.str(&d.arena)
		if err != nil {
			return false, at(err, "value")
		}
		switch string(name) {
		case "schema":
			return d.decodeWrapped(t, &s, ch, false)
		case "payload":
			return d.decodeWrapped(t, &s, ch, true)
		}
		s.i = save
	}
	if err := d.decodeEnvelope(&s, d.schemaless[t], ch, "value"); err != nil {
		return false, err
	}
	return false, at(s.end(), "value")
}

// decodeWrapped decodes {"schema":…,"payload":…} after the first member
// name (schema, or payload when payloadFirst). A schema the decoder cannot
// use is an error only when the payload is not null: a tombstone needs no
// plan.
func (d *Decoder) decodeWrapped(t topology.Table, s *scanner, ch *Change, payloadFirst bool) (bool, error) {
	if err := s.expect(':', "expected ':'"); err != nil {
		return false, at(err, "value")
	}
	s.ws()
	var (
		p       *plan
		planErr error
		payload scanner // positioned at the payload value
	)
	if payloadFirst {
		payload = *s
		if err := s.skip(); err != nil {
			return false, at(err, "value.payload")
		}
		payload.b = s.b[:s.i]
		if err := d.secondMember(s, "schema"); err != nil {
			return false, err
		}
		p, planErr = d.valuePlan(t, s)
	} else {
		p, planErr = d.valuePlan(t, s)
		if err := d.secondMember(s, "payload"); err != nil {
			if planErr != nil {
				return false, planErr
			}
			return false, err
		}
		payload = *s
	}
	if e, ok := planErr.(*Error); ok && e.Kind == MalformedJSON {
		return false, planErr
	}
	if payload.isNull() {
		if !payloadFirst {
			*s = payload
		}
		return true, d.closeWrapped(s)
	}
	if planErr != nil {
		return false, planErr
	}
	tomb, err := d.decodePayload(&payload, p, ch)
	if err != nil {
		return false, err
	}
	if payloadFirst {
		if err := payload.end(); err != nil {
			return false, at(err, "value.payload")
		}
	} else {
		*s = payload
	}
	return tomb, d.closeWrapped(s)
}

// secondMember consumes `, "<want>" :`.
func (d *Decoder) secondMember(s *scanner, want string) error {
	s.ws()
	if s.peek() == '}' {
		return newError(NotEnvelope, "value", "a value with schemas has both schema and payload members; "+want+" is missing")
	}
	if err := s.expect(',', "expected ','"); err != nil {
		return at(err, "value")
	}
	s.ws()
	if s.peek() != '"' {
		return at(s.syntax("expected a member name"), "value")
	}
	name, err := s.str(&d.arena)
	if err != nil {
		return at(err, "value")
	}
	if string(name) != want {
		return newError(NotEnvelope, "value", "a value with schemas has exactly the members schema and payload, found "+strconv.Quote(string(name)))
	}
	if err := s.expect(':', "expected ':'"); err != nil {
		return at(err, "value")
	}
	s.ws()
	return nil
}

// closeWrapped consumes the end of {"schema":…,"payload":…} and the input.
func (d *Decoder) closeWrapped(s *scanner) error {
	s.ws()
	if s.peek() == ',' {
		return newError(NotEnvelope, "value", "a value with schemas has exactly the members schema and payload")
	}
	if err := s.expect('}', "expected '}'"); err != nil {
		return at(err, "value")
	}
	return at(s.end(), "value")
}

// valuePlan consumes the value schema at s.i and returns the plan for it:
// the cached one when the bytes are those seen last for t.
func (d *Decoder) valuePlan(t topology.Table, s *scanner) (*plan, error) {
	if s.isNull() {
		return d.schemaless[t], nil
	}
	c := &d.cache[t]
	if c.plan != nil && hasPrefixAt(s.b, s.i, c.value) {
		s.i += len(c.value)
		return c.plan, nil
	}
	start := s.i
	if s.peek() != '{' {
		if err := s.skip(); err != nil {
			return nil, at(err, "value.schema")
		}
		return nil, newError(NotEnvelope, "value.schema", "expected a schema object, found "+tokenName(s.b[start]))
	}
	if err := s.skip(); err != nil {
		return nil, at(err, "value.schema")
	}
	span := s.b[start:s.i]
	p, err := d.planFromSchema(t, span)
	if err != nil {
		return nil, err
	}
	c.value = append(c.value[:0], span...)
	c.plan = p
	return p, nil
}

func hasPrefixAt(b []byte, i int, prefix []byte) bool {
	return len(b)-i >= len(prefix) && string(b[i:i+len(prefix)]) == string(prefix)
}

// decodePayload decodes the payload member's value: the envelope, or null.
func (d *Decoder) decodePayload(s *scanner, p *plan, ch *Change) (bool, error) {
	if s.isNull() {
		return true, nil
	}
	if s.peek() != '{' {
		return false, at(s.mismatch("an envelope object"), "value.payload")
	}
	s.i++
	s.ws()
	return false, d.decodeEnvelope(s, p, ch, "value.payload")
}

// The members of the envelope and of its source block in the order
// Debezium writes them (docs/debezium.md, The envelope, The source block), quoted and with the colon,
// for nameAt.
var (
	envelopeMembers = members("before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns")
	sourceMembers   = members("version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns",
		"schema", "table", "txId", "lsn", "xmin", "origin", "origin_lsn")
)

// Indexes in envelopeMembers and sourceMembers of the members the decoder
// reads.
const (
	envBefore = 0
	envAfter  = 1
	envSource = 2
	envOp     = 4

	srcTsMs     = 3
	srcSnapshot = 4
	srcTable    = 10
	srcTxID     = 11
	srcLSN      = 12
)

// memberID reads the next member name of an object whose members are
// usually those of expected, in order (*next is the index expected now),
// and returns its index in expected, or -1 and the name for another
// member. The expected member costs a 16-byte comparison, no scan.
func (s *scanner) memberID(arena *[]byte, expected []member, next *int) (int, []byte, error) {
	if n := *next; n < len(expected) && expected[n].at(s.b, s.i) {
		*next = n + 1
		s.i += len(expected[n].quoted)
		s.ws()
		return n, nil, nil
	}
	name, err := s.name(arena)
	if err != nil {
		return -1, nil, err
	}
	for j := range expected {
		if expected[j].name == string(name) {
			*next = j + 1
			return j, nil, nil
		}
	}
	return -1, name, nil
}

// memberName is the name of member id (from memberID), for paths.
func memberName(expected []member, id int, name []byte) string {
	if id >= 0 {
		return expected[id].name
	}
	return string(name)
}

// decodeEnvelope decodes the members of an envelope object; s is just
// after its '{'.
func (d *Decoder) decodeEnvelope(s *scanner, p *plan, ch *Change, base string) error {
	var sawBefore, sawAfter, sawSource, sawOp bool
	before := -1 // with SkipUpdateBefore: where the before image starts
	if s.peek() == '}' {
		return newError(NotEnvelope, base, "empty object")
	}
	next := 0
	for {
		id, name, err := s.memberID(&d.arena, envelopeMembers, &next)
		if err != nil {
			return at(err, base)
		}
		switch id {
		case envBefore:
			sawBefore = true
			if d.opts.SkipUpdateBefore {
				// Decoded below once op and after are known.
				before = s.i
				if d.checking && d.memo != nil && d.skipImage(s, p) {
					break
				}
				s.i = before
				if err = s.skip(); err != nil {
					err = at(err, base+".before")
				}
			} else {
				err = d.decodeImage(s, p, &ch.Before, base, "before")
			}
		case envAfter:
			sawAfter = true
			err = d.decodeImage(s, p, &ch.After, base, "after")
		case envSource:
			sawSource = true
			err = d.decodeSource(s, ch, base)
		case envOp:
			sawOp = true
			err = d.decodeOp(s, ch, base)
		default: // transaction, ts_ms, ts_us, ts_ns, and whatever comes later
			if err = s.skip(); err != nil {
				err = at(err, base+"."+memberName(envelopeMembers, id, name))
			}
		}
		if err != nil {
			return err
		}
		if i := s.i; i+1 < len(s.b) && s.b[i] == ',' && s.b[i+1] == '"' { // compact input
			s.i = i + 1
			continue
		}
		if more, err := s.next('}'); err != nil {
			return at(err, base)
		} else if !more {
			break
		}
	}
	if !sawOp {
		if !sawBefore && !sawAfter && !sawSource {
			return newError(NotEnvelope, base, "no op, before, after or source member: not a Debezium change event")
		}
		return newError(MissingField, base+".op", "op is missing")
	}
	if !sawSource {
		return newError(MissingField, base+".source", "source is missing")
	}
	if before >= 0 && d.needBefore(ch) {
		bs := scanner{b: s.b, i: before}
		if err := d.decodeImage(&bs, p, &ch.Before, base, "before"); err != nil {
			return err
		}
	}
	switch ch.Op {
	case OpRead, OpCreate, OpUpdate:
		if !ch.After.Valid {
			return newError(MissingField, base+".after", "op "+ch.Op.String()+" needs an after image")
		}
	case OpDelete:
		if !ch.Before.Valid {
			return newError(MissingField, base+".before", "op d needs a before image")
		}
	}
	return nil
}

// needBefore reports whether, with SkipUpdateBefore, the join rules may
// read ch's before image: for anything but an update; for an update,
// only to fill unchanged columns of a row the caller does not store.
func (d *Decoder) needBefore(ch *Change) bool {
	if ch.Op != OpUpdate || !ch.After.Valid {
		return true
	}
	if ch.After.Unchanged == 0 {
		return false
	}
	return d.opts.Stored == nil || !d.opts.Stored(ch.Table, ch.After.ID(ch.Table))
}

func (d *Decoder) decodeOp(s *scanner, ch *Change, base string) error {
	if s.isNull() {
		return newError(MissingField, base+".op", "op is null")
	}
	if s.peek() != '"' {
		return at(s.mismatch("a string"), base+".op")
	}
	v, err := s.str(&d.arena)
	if err != nil {
		return at(err, base+".op")
	}
	if len(v) == 1 {
		switch op := Op(v[0]); op {
		case OpRead, OpCreate, OpUpdate, OpDelete:
			ch.Op = op
			return nil
		case 't':
			return newError(UnknownOp, base+".op", `op "t" (truncate) is not supported`)
		case 'm':
			return newError(UnknownOp, base+".op", `op "m" (logical decoding message) on a table topic`)
		}
	}
	return newError(UnknownOp, base+".op", "unknown op "+strconv.Quote(string(v)))
}

// decodeSource reads ts_ms, snapshot, txId and lsn from the source block.
// checkTable checks source.table, when present, against the topic's
// table.
func (d *Decoder) checkTable(s *scanner, ch *Change) error {
	if s.isNull() {
		return nil
	}
	if s.peek() != '"' {
		return s.mismatch("a string")
	}
	name, err := s.str(&d.arena)
	if err != nil {
		return err
	}
	if string(name) != ch.Table.String() {
		return newError(WrongTable, "", "source.table "+strconv.Quote(string(name))+" on the topic of "+ch.Table.String())
	}
	return nil
}

func (d *Decoder) decodeSource(s *scanner, ch *Change, base string) error {
	if s.isNull() {
		return newError(MissingField, base+".source", "source is null")
	}
	if s.peek() != '{' {
		return at(s.mismatch("an object"), base+".source")
	}
	s.i++
	s.ws()
	sawTs := false
	if s.peek() == '}' {
		s.i++
	} else {
		next := 0
		for {
			var (
				id   int
				name []byte
				err  error
			)
			if next < len(sourceMembers) && sourceMembers[next].at(s.b, s.i) { // inline fast path of memberID
				id = next
				s.i += len(sourceMembers[next].quoted)
				next++
				s.ws()
			} else if id, name, err = s.memberID(&d.arena, sourceMembers, &next); err != nil {
				return at(err, base+".source")
			}
			switch id {
			case srcTsMs:
				if s.isNull() {
					return newError(MissingField, base+".source.ts_ms", "ts_ms is null")
				}
				if ch.SourceTsMs, err = s.int(); err != nil {
					return at(err, base+".source.ts_ms")
				}
				sawTs = true
			case srcLSN:
				if err := optInt(s, &ch.LSN); err != nil {
					return at(err, base+".source.lsn")
				}
			case srcTxID:
				if err := optInt(s, &ch.TxID); err != nil {
					return at(err, base+".source.txId")
				}
			case srcSnapshot:
				if err := d.decodeSnapshot(s, ch); err != nil {
					return at(err, base+".source.snapshot")
				}
			case srcTable:
				if err := d.checkTable(s, ch); err != nil {
					return at(err, base+".source.table")
				}
			default:
				if err := s.skip(); err != nil {
					return at(err, base+".source."+memberName(sourceMembers, id, name))
				}
			}
			if i := s.i; i+1 < len(s.b) && s.b[i] == ',' && s.b[i+1] == '"' { // compact input
				s.i = i + 1
				continue
			}
			if more, err := s.next('}'); err != nil {
				return at(err, base+".source")
			} else if !more {
				break
			}
		}
	}
	if !sawTs {
		return newError(MissingField, base+".source.ts_ms", "ts_ms is missing")
	}
	return nil
}

func optInt(s *scanner, dst *topology.Opt[int64]) error {
	if s.isNull() {
		*dst = topology.Opt[int64]{}
		return nil
	}
	v, err := s.int()
	if err != nil {
		return err
	}
	*dst = topology.Some(v)
	return nil
}

func (d *Decoder) decodeSnapshot(s *scanner, ch *Change) error {
	switch s.peek() {
	case 'n':
		ch.Snapshot = SnapshotNone
		return s.literal("null")
	case 't':
		ch.Snapshot = SnapshotTrue
		return s.literal("true")
	case 'f':
		ch.Snapshot = SnapshotFalse
		return s.literal("false")
	case '"':
		v, err := s.str(&d.arena)
		if err != nil {
			return err
		}
		ch.Snapshot = parseSnapshot(v)
		return nil
	}
	return s.mismatch("a string")
}

func parseSnapshot(v []byte) Snapshot {
	switch string(v) {
	case "false":
		return SnapshotFalse
	case "true":
		return SnapshotTrue
	case "first":
		return SnapshotFirst
	case "first_in_data_collection":
		return SnapshotFirstInDataCollection
	case "last_in_data_collection":
		return SnapshotLastInDataCollection
	case "last":
		return SnapshotLast
	case "incremental":
		return SnapshotIncremental
	}
	return SnapshotUnknown
}

// decodeImage decodes a before or after row (or null) into img.
func (d *Decoder) decodeImage(s *scanner, p *plan, img *Image, base, which string) error {
	if s.isNull() {
		img.Valid = false
		return nil
	}
	if s.peek() != '{' {
		return at(s.mismatch("an object or null"), base+"."+which)
	}
	t := p.table
	cols := t.Columns()
	img.clear(t)
	img.Valid = true
	img.Unchanged = 0
	var seen topology.ColumnSet
	b := s.b // the scanner's bytes never change; s.i does
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
	} else {
		next := 0
		for {
			f, name, n, err := d.imageMember(s, p, next)
			if err != nil {
				return at(err, base+"."+which)
			}
			if next = n; f == nil {
				d.reportUnknown(t, name)
				if err := s.skip(); err != nil {
					return at(err, base+"."+which+"."+string(name))
				}
			}
			if f != nil && f.col < 0 {
				if err := s.skip(); err != nil {
					return at(err, base+"."+which+"."+f.name)
				}
			} else if f != nil {
				if err := d.imageCell(s, t, f, &cols[f.col], img, &seen); err != nil {
					return at(err, base+"."+which+"."+f.name)
				}
			}
			if i := s.i; i+1 < len(b) && b[i] == ',' && b[i+1] == '"' { // compact input
				s.i = i + 1
				continue
			}
			if more, err := s.next('}'); err != nil {
				return at(err, base+"."+which)
			} else if !more {
				break
			}
		}
	}
	if missing := p.required &^ seen; missing != 0 {
		for i, c := range cols {
			if missing.Has(i) {
				return newError(MissingField, base+"."+which+"."+c.Name, "NOT NULL column "+c.Name+" is missing")
			}
		}
	}
	return nil
}

// imageMember reads the name of the row image's member at s.i, and its
// colon, and returns its field in p with the index of the field to expect
// next; for a column p does not know, f is nil and name is its name.
func (d *Decoder) imageMember(s *scanner, p *plan, next int) (f *field, name []byte, _ int, err error) {
	// Fast path: the expected member, written compactly, matches byte
	// for byte (name, quotes and colon) without scanning.
	if next < len(p.fields) && p.fields[next].at(s.b, s.i) {
		f = &p.fields[next]
		s.i += len(f.quoted)
		s.ws()
		return f, nil, next + 1, nil
	}
	if name, err = s.name(&d.arena); err != nil {
		return nil, nil, next, err
	}
	f, next = p.lookup(name, next)
	return f, name, next, nil
}

// imageCell decodes the value at s.i of column col into img and seen;
// with a memo, it remembers the long string values it decodes and, in
// Check, passes over those it knows.
func (d *Decoder) imageCell(s *scanner, t topology.Table, f *field, col *topology.Column, img *Image, seen *topology.ColumnSet) error {
	start := s.i
	var key memoKey
	memo := d.memo != nil && f.col > 0 && seen.Has(0) && s.peek() == '"'
	if memo {
		key = memoKey{t, img.ID(t), f.col}
	}
	if memo && d.checking {
		if n, ok := d.known(s.b, start, key, f); ok {
			s.i += n
			*seen = seen.With(f.col)
			return nil
		}
	}
	var c cell
	unchanged, err := d.decodeCell(s, f, col, &c)
	if err != nil {
		return err
	}
	*seen = seen.With(f.col)
	switch {
	case unchanged:
		img.Unchanged = img.Unchanged.With(f.col)
	case c.null && !col.Nullable:
		return newError(TypeMismatch, "", "null in NOT NULL column "+f.name)
	default:
		if memo {
			d.remember(s.b, start, s.i, key, f)
		}
		img.store(f.dst, &c)
	}
	return nil
}

func (d *Decoder) reportUnknown(t topology.Table, name []byte) {
	m := d.reported[t]
	if _, ok := m[string(name)]; ok {
		return
	}
	if m == nil {
		m = make(map[string]struct{})
		d.reported[t] = m
	}
	col := string(name)
	m[col] = struct{}{}
	if d.opts.OnUnknownColumn != nil {
		d.opts.OnUnknownColumn(t, col)
	}
}

// decodeCell decodes the value at s.i for column col into c, or reports it
// as Debezium's placeholder for an unchanged TOASTed value.
func (d *Decoder) decodeCell(s *scanner, f *field, col *topology.Column, c *cell) (unchanged bool, err error) {
	// The common cases first: the JSON token the column's kind expects.
	tok := s.peek()
	switch f.kind {
	case vkText:
		if tok == '"' {
			v, err := s.str(&d.arena)
			if err != nil {
				return false, err
			}
			if len(v) >= d.phMin && len(v) <= d.phMax && d.isPlaceholder(v) {
				return true, nil
			}
			c.s = bytesString(v)
			return false, nil
		}
	case vkInt:
		if tok-'0' < 10 || tok == '-' {
			v, err := s.int()
			if err != nil {
				return false, err
			}
			return false, intInRange(v, col, c)
		}
	}
	switch tok {
	case '"':
		v, err := s.str(&d.arena)
		if err != nil {
			return false, err
		}
		if len(v) >= d.phMin && len(v) <= d.phMax && d.isPlaceholder(v) {
			return true, nil
		}
		return false, d.fromString(v, f, col, c)
	case 'n':
		if err := s.literal("null"); err != nil {
			return false, err
		}
		c.null = true
		return false, nil
	case '{':
		if f.kind.decimal() {
			return false, d.variableDecimal(s, col, c)
		}
		return d.containerValue(s, f)
	case '[':
		return d.containerValue(s, f)
	case 't', 'f':
		return false, s.mismatch(kindWant(f.kind))
	}
	if f.kind == vkInt {
		v, err := s.int()
		if err != nil {
			return false, err
		}
		return false, intInRange(v, col, c)
	}
	t, isInt, err := s.number()
	if err != nil {
		return false, err
	}
	return false, fromNumber(t, isInt, f, col, c)
}

// containerValue handles an array or object where the column wants a
// scalar: a placeholder form (docs/debezium.md, Unchanged TOAST
// values), or a type mismatch.
func (d *Decoder) containerValue(s *scanner, f *field) (bool, error) {
	start := s.i
	if err := s.skip(); err != nil {
		return false, err
	}
	if d.isPlaceholderSpan(s.b[start:s.i]) {
		return true, nil
	}
	return false, newError(TypeMismatch, "", "expected "+kindWant(f.kind)+", found "+tokenName(s.b[start]))
}

func (d *Decoder) isPlaceholder(v []byte) bool {
	for _, p := range d.phStrings {
		if string(v) == p {
			return true
		}
	}
	return false
}

// isPlaceholderSpan compares a JSON array or object, whitespace outside
// strings ignored, with the placeholder's array and map forms.
func (d *Decoder) isPlaceholderSpan(span []byte) bool {
	for _, p := range d.phSpans {
		if equalIgnoringSpace(span, p) {
			return true
		}
	}
	return false
}

func equalIgnoringSpace(span []byte, want string) bool {
	j := 0
	inString := false
	for i := 0; i < len(span); i++ {
		c := span[i]
		if !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			continue
		}
		if j >= len(want) || want[j] != c {
			return false
		}
		j++
		if c == '"' {
			inString = !inString
		} else if c == '\\' && inString && i+1 < len(span) {
			i++
			if j >= len(want) || want[j] != span[i] {
				return false
			}
			j++
		}
	}
	return j == len(want)
}

func kindWant(k valueKind) string {
	switch k {
	case vkInt:
		return "an integer"
	case vkText:
		return "a string"
	case vkJSON:
		return "a string of JSON text"
	case vkDecBytes, vkDecText, vkDecVariable, vkDecAuto:
		return "a decimal"
	case vkDate:
		return "a date"
	}
	return "a timestamp"
}

// bytesString returns v as a string without copying: v aliases the record
// or the arena, whose lifetime Change documents.
func bytesString(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	return unsafe.String(&v[0], len(v))
}

func (d *Decoder) fromString(v []byte, f *field, col *topology.Column, c *cell) error {
	switch f.kind {
	case vkText:
		c.s = bytesString(v)
		return nil
	case vkJSON:
		js := scanner{b: v}
		js.ws()
		err := js.skip()
		if err == nil {
			err = js.end()
		}
		if err != nil {
			return newError(TypeMismatch, "", "not valid JSON text: "+err.(*Error).Detail)
		}
		c.s = bytesString(v)
		return nil
	case vkDecBytes:
		u, err := decodeDecimalBytes(v)
		if err != nil {
			return err
		}
		return rescale(topology.Decimal{Unscaled: u, Scale: f.scale}, col, c)
	case vkDecText:
		return decimalText(v, col, c)
	case vkDecAuto:
		switch d.opts.DecimalHandling {
		case DecimalString:
			return decimalText(v, col, c)
		case DecimalAuto:
			if looksLikeDecimalText(v) {
				return decimalText(v, col, c)
			}
		}
		u, err := decodeDecimalBytes(v)
		if err != nil {
			return err
		}
		return rescale(topology.Decimal{Unscaled: u, Scale: col.Scale}, col, c)
	case vkDate:
		days, err := parseISODate(v)
		c.i = int64(days)
		return err
	case vkTsISO, vkTsMillis, vkTsMicros, vkTsNanos:
		ts, err := parseISOTimestamp(v)
		c.i = int64(ts)
		return err
	}
	return newError(TypeMismatch, "", "expected "+kindWant(f.kind)+", found a string")
}

func decimalText(v []byte, col *topology.Column, c *cell) error {
	dec, err := parseDecimalText(v, col.Scale)
	c.d = dec
	return err
}

func rescale(dec topology.Decimal, col *topology.Column, c *cell) error {
	r, ok := dec.Rescale(col.Scale)
	if !ok {
		return newError(OutOfRange, "", dec.String()+" is not exact at scale "+strconv.Itoa(int(col.Scale)))
	}
	c.d = r
	return nil
}

// intInRange stores v if it fits the column's integer type.
func intInRange(v int64, col *topology.Column, c *cell) error {
	ok := true
	switch col.Type {
	case topology.TypeSmallint:
		ok = v >= -1<<15 && v < 1<<15
	case topology.TypeInteger:
		ok = v >= -1<<31 && v < 1<<31
	}
	if !ok {
		return newError(OutOfRange, "", strconv.FormatInt(v, 10)+" does not fit column type "+col.Type.String())
	}
	c.i = v
	return nil
}

func fromNumber(t []byte, isInt bool, f *field, col *topology.Column, c *cell) error {
	switch f.kind {
	case vkInt:
		if !isInt {
			return newError(TypeMismatch, "", "expected an integer, found "+string(t))
		}
		v, ok := parseInt(t)
		if !ok {
			return newError(OutOfRange, "", string(t)+" does not fit in int64")
		}
		return intInRange(v, col, c)
	case vkDecBytes, vkDecText, vkDecVariable, vkDecAuto:
		return decimalText(t, col, c)
	case vkDate:
		if !isInt {
			return newError(TypeMismatch, "", "expected days since the epoch, found "+string(t))
		}
		v, ok := parseInt(t)
		if !ok {
			return newError(OutOfRange, "", string(t)+" does not fit a date")
		}
		days, err := epochToDate(v)
		c.i = int64(days)
		return err
	case vkTsMillis, vkTsMicros, vkTsNanos:
		if !isInt {
			return newError(TypeMismatch, "", "expected an epoch count, found "+string(t))
		}
		v, ok := parseInt(t)
		if !ok {
			return newError(OutOfRange, "", string(t)+" does not fit in int64")
		}
		unit := int64(1)
		switch f.kind {
		case vkTsMillis:
			unit = 1000
		case vkTsNanos:
			unit = -1000
		}
		ts, err := epochToMicros(v, unit)
		c.i = int64(ts)
		return err
	}
	return newError(TypeMismatch, "", "expected "+kindWant(f.kind)+", found a number")
}

// variableDecimal decodes an io.debezium.data.VariableScaleDecimal
// {"scale":int32,"value":base64}.
func (d *Decoder) variableDecimal(s *scanner, col *topology.Column, c *cell) error {
	s.i++ // '{'
	s.ws()
	var scale int64
	var value []byte
	sawScale, sawValue := false, false
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			name, err := s.name(&d.arena)
			if err != nil {
				return err
			}
			switch string(name) {
			case "scale":
				if scale, err = s.int(); err != nil {
					return err
				}
				sawScale = true
			case "value":
				if s.peek() != '"' {
					return s.mismatch("a base64 string")
				}
				if value, err = s.str(&d.arena); err != nil {
					return err
				}
				sawValue = true
			default:
				if err := s.skip(); err != nil {
					return err
				}
			}
			if i := s.i; i+1 < len(s.b) && s.b[i] == ',' && s.b[i+1] == '"' { // compact input
				s.i = i + 1
				continue
			}
			if more, err := s.next('}'); err != nil {
				return err
			} else if !more {
				break
			}
		}
	}
	if !sawScale || !sawValue {
		return newError(TypeMismatch, "", "a VariableScaleDecimal needs scale and value")
	}
	if scale < -1000 || scale > 1000 {
		return newError(OutOfRange, "", "decimal scale "+strconv.FormatInt(scale, 10)+" is out of range")
	}
	u, err := decodeDecimalBytes(value)
	if err != nil {
		return err
	}
	return rescale(topology.Decimal{Unscaled: u, Scale: int32(scale)}, col, c)
}

// decodeKey decodes the record key: {"id":…}, with or without a schema, or
// null.
func (d *Decoder) decodeKey(t topology.Table, key []byte, ch *Change) error {
	s := scanner{b: key}
	s.ws()
	if s.i == len(key) {
		return nil
	}
	if s.isNull() {
		return at(s.end(), "key")
	}
	if s.peek() != '{' {
		return at(s.mismatch("an object or null"), "key")
	}
	s.i++
	s.ws()
	if s.peek() == '"' {
		save := s.i
		name, err := s.str(&d.arena)
		if err != nil {
			return at(err, "key")
		}
		switch string(name) {
		case "schema":
			return d.decodeWrappedKey(t, &s, ch)
		case "payload":
			return newError(NotEnvelope, "key", "a key with schemas must start with its schema member")
		}
		s.i = save
	}
	if err := d.keyStruct(&s, ch, "key"); err != nil {
		return err
	}
	return at(s.end(), "key")
}

func (d *Decoder) decodeWrappedKey(t topology.Table, s *scanner, ch *Change) error {
	if err := s.expect(':', "expected ':'"); err != nil {
		return at(err, "key")
	}
	s.ws()
	c := &d.cache[t]
	if len(c.key) > 0 && hasPrefixAt(s.b, s.i, c.key) {
		s.i += len(c.key)
	} else {
		start := s.i
		if err := s.skip(); err != nil {
			return at(err, "key.schema")
		}
		c.key = append(c.key[:0], s.b[start:s.i]...)
	}
	s.ws()
	if s.peek() != ',' {
		if s.peek() == '}' {
			return newError(NotEnvelope, "key", "a key with schemas has both schema and payload members; payload is missing")
		}
		return at(s.syntax("expected ','"), "key")
	}
	s.i++
	s.ws()
	if s.peek() != '"' {
		return at(s.syntax("expected a member name"), "key")
	}
	name, err := s.str(&d.arena)
	if err != nil {
		return at(err, "key")
	}
	if string(name) != "payload" {
		return newError(NotEnvelope, "key", "a key with schemas has exactly the members schema and payload, found "+strconv.Quote(string(name)))
	}
	if err := s.expect(':', "expected ':'"); err != nil {
		return at(err, "key")
	}
	s.ws()
	if !s.isNull() {
		if s.peek() != '{' {
			return at(s.mismatch("an object or null"), "key.payload")
		}
		s.i++
		s.ws()
		if err := d.keyStruct(s, ch, "key.payload"); err != nil {
			return err
		}
	}
	s.ws()
	if s.peek() == ',' {
		return newError(NotEnvelope, "key", "a key with schemas has exactly the members schema and payload")
	}
	if err := s.expect('}', "expected '}'"); err != nil {
		return at(err, "key")
	}
	return at(s.end(), "key")
}

// keyStruct reads the members of a key struct (s is after its '{'): id is
// required, others are ignored.
func (d *Decoder) keyStruct(s *scanner, ch *Change, base string) error {
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			name, err := s.name(&d.arena)
			if err != nil {
				return at(err, base)
			}
			if string(name) == "id" {
				if s.isNull() {
					return newError(MissingField, base+".id", "key id is null")
				}
				v, err := s.int()
				if err != nil {
					return at(err, base+".id")
				}
				ch.Key = topology.Some(v)
			} else if err := s.skip(); err != nil {
				return at(err, base+"."+string(name))
			}
			if i := s.i; i+1 < len(s.b) && s.b[i] == ',' && s.b[i+1] == '"' { // compact input
				s.i = i + 1
				continue
			}
			if more, err := s.next('}'); err != nil {
				return at(err, base)
			} else if !more {
				break
			}
		}
	}
	if !ch.Key.Valid {
		return newError(MissingField, base+".id", "the key has no id")
	}
	return nil
}
