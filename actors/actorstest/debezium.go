// Package actorstest holds test helpers for package actors: an encoder of
// Debezium change events in the JSON converter's shape (schemas on), an
// in-memory sink with ReplacingMergeTree semantics that can be stalled
// and made to fail, and helpers that put generated histories into Kafka.
package actorstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Placeholder is Debezium's default unavailable.value.placeholder: what
// an unchanged TOASTed column carries.
const Placeholder = "__debezium_unavailable_value"

// Encoder writes Kafka keys and values the way the Debezium PostgreSQL
// connector with the JSON converter (schemas.enable=true, decimal
// handling precise, adaptive time precision) writes them, for the topics
// <Prefix>.public.<table>. Safe for concurrent use.
type Encoder struct {
	Prefix string

	once    sync.Once
	schemas [6]string // value schema by table
	keys    [6]string // key schema by table
}

func (e *Encoder) init() {
	e.once.Do(func() {
		for _, t := range topology.Tables {
			e.schemas[t] = e.valueSchema(t)
			e.keys[t] = `{"type":"struct","fields":[{"type":"int64","optional":false,"default":0,"field":"id"}],"optional":false,"name":"` +
				e.Prefix + `.public.` + t.String() + `.Key"}`
		}
	})
}

// Topic returns the topic of table t.
func (e *Encoder) Topic(t topology.Table) string { return e.Prefix + ".public." + t.String() }

// Key returns the record key of the row of table t with the given id.
func (e *Encoder) Key(t topology.Table, id int64) []byte {
	e.init()
	return []byte(`{"schema":` + e.keys[t] + `,"payload":{"id":` + strconv.FormatInt(id, 10) + `}}`)
}

// Value returns the record value of ch: the change event envelope with
// its schema. Columns in ch.Unchanged carry the placeholder. LSN and TxID
// 0 are written as null (as incremental-snapshot reads have them).
func (e *Encoder) Value(ch *topology.Change) []byte {
	e.init()
	var b strings.Builder
	b.WriteString(`{"schema":`)
	b.WriteString(e.schemas[ch.Table])
	b.WriteString(`,"payload":{"before":`)
	e.image(&b, ch.Table, ch.Before, 0)
	b.WriteString(`,"after":`)
	e.image(&b, ch.Table, ch.After, ch.Unchanged)
	b.WriteString(`,"source":`)
	e.source(&b, ch)
	ts := ch.SourceTsMs + 3
	fmt.Fprintf(&b, `,"transaction":null,"op":%q,"ts_ms":%d,"ts_us":%d,"ts_ns":%d}}`, ch.Op.String(), ts, ts*1000, ts*1000000)
	return []byte(b.String())
}

func (e *Encoder) source(b *strings.Builder, ch *topology.Change) {
	snapshot := "null"
	if ch.Op == topology.OpRead {
		snapshot = `"true"`
	}
	nullable := func(v uint64) string {
		if v == 0 {
			return "null"
		}
		return strconv.FormatUint(v, 10)
	}
	fmt.Fprintf(b, `{"version":"3.6.1.Final","connector":"postgresql","name":%q,"ts_ms":%d,"snapshot":%s,`+
		`"db":"ecommerce","sequence":"[null,\"%d\"]","ts_us":%d,"ts_ns":%d,"schema":"public","table":%q,`+
		`"txId":%s,"lsn":%s,"xmin":null}`,
		e.Prefix, ch.SourceTsMs, snapshot, ch.LSN, ch.SourceTsMs*1000, ch.SourceTsMs*1000000, ch.Table.String(),
		nullable(ch.TxID), nullable(ch.LSN))
}

func (e *Encoder) image(b *strings.Builder, t topology.Table, img topology.Opt[topology.Row], unchanged topology.ColumnSet) {
	if !img.Valid {
		b.WriteString("null")
		return
	}
	r := img.V
	v := rowValue(&r)
	b.WriteByte('{')
	for i, col := range t.Columns() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(col.Name))
		b.WriteByte(':')
		if unchanged.Has(i) {
			writePlaceholder(b, col)
			continue
		}
		writeValue(b, col, v.Field(i))
	}
	b.WriteByte('}')
}

func writePlaceholder(b *strings.Builder, col topology.Column) {
	switch col.Type {
	case topology.TypeText, topology.TypeJSONB:
		b.WriteString(strconv.Quote(Placeholder))
	case topology.TypeNumeric:
		b.WriteString(strconv.Quote(base64.StdEncoding.EncodeToString([]byte(Placeholder))))
	default:
		panic("actorstest: no placeholder for a " + col.Type.String() + " column")
	}
}

var (
	decimalType   = reflect.TypeFor[topology.Decimal]()
	timestampType = reflect.TypeFor[topology.Timestamp]()
	dateType      = reflect.TypeFor[topology.Date]()
)

func writeValue(b *strings.Builder, col topology.Column, v reflect.Value) {
	if v.Kind() == reflect.Struct && v.Type() != decimalType {
		// An Opt[T]: {V T; Valid bool}.
		if !v.FieldByName("Valid").Bool() {
			b.WriteString("null")
			return
		}
		v = v.FieldByName("V")
	}
	switch v.Type() {
	case decimalType:
		d := v.Interface().(topology.Decimal)
		r, ok := d.Rescale(col.Scale)
		if !ok {
			panic(fmt.Sprintf("actorstest: %s does not fit scale %d", d, col.Scale))
		}
		b.WriteString(strconv.Quote(base64.StdEncoding.EncodeToString(twosComplement(r.Unscaled))))
		return
	case timestampType:
		ts := v.Interface().(topology.Timestamp)
		b.WriteString(strconv.Quote(ts.Time().Format("2006-01-02T15:04:05.000000Z")))
		return
	case dateType:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
		return
	}
	switch v.Kind() {
	case reflect.String:
		q, _ := json.Marshal(v.String())
		b.Write(q)
	case reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	default:
		panic("actorstest: cannot encode " + v.Type().String())
	}
}

// twosComplement returns v as Java's BigInteger.toByteArray does: the
// shortest big-endian two's complement (Kafka Connect's Decimal).
func twosComplement(v int64) []byte {
	bi := big.NewInt(v)
	if v >= 0 {
		out := bi.Bytes()
		if len(out) == 0 || out[0]&0x80 != 0 {
			out = append([]byte{0}, out...)
		}
		return out
	}
	// -v in n bytes: 2^(8n) + v, with n the smallest that keeps the sign.
	for n := 1; n <= 8; n++ {
		lim := new(big.Int).Lsh(big.NewInt(1), uint(8*n-1))
		if bi.Cmp(new(big.Int).Neg(lim)) >= 0 {
			u := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(8*n)), bi)
			out := u.Bytes()
			for len(out) < n {
				out = append([]byte{0xff}, out...)
			}
			return out
		}
	}
	panic("unreachable")
}

func (e *Encoder) valueSchema(t topology.Table) string {
	row := func(field string) string {
		var b strings.Builder
		b.WriteString(`{"type":"struct","fields":[`)
		for i, c := range t.Columns() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(columnSchema(c))
		}
		b.WriteString(`],"optional":true,"name":"` + e.Prefix + `.public.` + t.String() + `.Value","field":"` + field + `"}`)
		return b.String()
	}
	return `{"type":"struct","fields":[` + row("before") + `,` + row("after") + `,` + sourceSchema + `,` + transactionSchema +
		`,{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},` +
		`{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],` +
		`"optional":false,"name":"` + e.Prefix + `.public.` + t.String() + `.Envelope","version":2}`
}

func columnSchema(c topology.Column) string {
	opt := strconv.FormatBool(c.Nullable)
	s := `{"type":`
	switch c.Type {
	case topology.TypeSmallint:
		s += `"int16","optional":` + opt
	case topology.TypeInteger:
		s += `"int32","optional":` + opt
	case topology.TypeBigint:
		s += `"int64","optional":` + opt
		if c.Name == "id" {
			s += `,"default":0`
		}
	case topology.TypeText:
		s += `"string","optional":` + opt
	case topology.TypeJSONB:
		s += `"string","optional":` + opt + `,"name":"io.debezium.data.Json","version":1`
	case topology.TypeNumeric:
		s += `"bytes","optional":` + opt + `,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"` +
			strconv.Itoa(int(c.Scale)) + `","connect.decimal.precision":"` + strconv.Itoa(int(c.Precision)) + `"}`
	case topology.TypeDate:
		s += `"int32","optional":` + opt + `,"name":"io.debezium.time.Date","version":1`
	case topology.TypeTimestamptz:
		s += `"string","optional":` + opt + `,"name":"io.debezium.time.ZonedTimestamp","version":1`
	}
	return s + `,"field":"` + c.Name + `"}`
}

const sourceSchema = `{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},` +
	`{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},` +
	`{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum",` +
	`"version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},` +
	`"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},` +
	`{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},` +
	`{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},` +
	`{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},` +
	`{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"}],` +
	`"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}`

const transactionSchema = `{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},` +
	`{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],` +
	`"optional":true,"name":"event.block","version":1,"field":"transaction"}`

// rowValue returns the struct of r's table, addressable.
func rowValue(r *topology.Row) reflect.Value {
	switch r.Table {
	case topology.TableCustomers:
		return reflect.ValueOf(&r.Customer).Elem()
	case topology.TableVehicles:
		return reflect.ValueOf(&r.Vehicle).Elem()
	case topology.TableOrders:
		return reflect.ValueOf(&r.Order).Elem()
	case topology.TableOrderItems:
		return reflect.ValueOf(&r.Item).Elem()
	case topology.TablePayments:
		return reflect.ValueOf(&r.Payment).Elem()
	}
	panic("actorstest: row of unknown table")
}
