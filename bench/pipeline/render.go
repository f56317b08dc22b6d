package pipeline

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// schemaFiles are verbatim copies of the captured update records of
// topology/debezium/testdata/fixtures (fixture__<table>__u.json, Debezium
// 3.6.1, schemas on); TestSchemaFilesMatchFixtures keeps them identical.
// Only their key and value "schema" members are used: the payloads are
// rendered by the append functions below in the captured field order.
//
//go:embed schemas/*.json
var schemaFiles embed.FS

// capturedPrefix is the connector name (topic prefix) of the captured
// records.
const capturedPrefix = "fixture"

// envelope is what a table's records share: the "schema" members of the
// key and value (schemas on), and the topic.
type envelope struct {
	topic string
	// keyHead and valueHead are `{"schema":…,"payload":`; the payload and
	// a closing brace follow.
	keyHead, valueHead []byte
}

// renderer writes Kafka records of the Debezium PostgreSQL connector
// (JSON converter) in the byte layout of the captured ones. It does not
// allocate once its output buffer has grown. Not safe for concurrent use.
type renderer struct {
	prefix  string // topic prefix, also source.name
	db      string // source.db
	schemas bool
	tables  [numTables]envelope
}

const numTables = 6 // topology.TableUnknown … topology.TablePayments

// newRenderer loads the captured schemas, renamed from the capture's
// connector name to prefix.
func newRenderer(prefix, db string, schemas bool) (*renderer, error) {
	r := &renderer{prefix: prefix, db: db, schemas: schemas}
	for _, t := range topology.Tables {
		data, err := schemaFiles.ReadFile("schemas/" + t.String() + ".json")
		if err != nil {
			return nil, fmt.Errorf("reading captured schema of %s: %w", t, err)
		}
		var f struct {
			Key   json.RawMessage `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("parsing captured record of %s: %w", t, err)
		}
		env := envelope{topic: prefix + ".public." + t.String()}
		if env.keyHead, err = schemaHead(f.Key, prefix); err != nil {
			return nil, fmt.Errorf("captured key of %s: %w", t, err)
		}
		if env.valueHead, err = schemaHead(f.Value, prefix); err != nil {
			return nil, fmt.Errorf("captured value of %s: %w", t, err)
		}
		r.tables[t] = env
	}
	return r, nil
}

// schemaHead returns the bytes of a captured record up to its payload,
// with the connector name renamed to prefix in the schema's names.
func schemaHead(rec []byte, prefix string) ([]byte, error) {
	const marker = `,"payload":`
	i := bytes.Index(rec, []byte(marker))
	if i < 0 || !bytes.HasPrefix(rec, []byte(`{"schema":`)) || rec[len(rec)-1] != '}' {
		return nil, fmt.Errorf("not a schema envelope")
	}
	head := append([]byte(nil), rec[:i+len(marker)]...)
	return bytes.ReplaceAll(head, []byte(`"`+capturedPrefix+`.`), []byte(`"`+prefix+`.`)), nil
}

// topic returns the topic of table t.
func (r *renderer) topic(t topology.Table) string { return r.tables[t].topic }

// source is the envelope's metadata: the source block and the op.
type source struct {
	op       topology.Op
	snapshot string // source.snapshot; "" is null (streaming)
	seqFirst int64  // first element of source.sequence (last commit LSN); 0 is null
	lsn      int64
	txID     int64
	sourceUs int64 // source.ts_us; ts_ms and ts_ns derive from it
	envNs    int64 // the envelope's ts_ns; ts_ms and ts_us derive from it
}

// appendKey appends the record key of the row with the given id.
func (r *renderer) appendKey(b []byte, t topology.Table, id int64) []byte {
	if r.schemas {
		b = append(b, r.tables[t].keyHead...)
	}
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, '}')
	if r.schemas {
		b = append(b, '}')
	}
	return b
}

// appendValue appends the record value of a change of table t with the
// given row images (nil for null).
func (r *renderer) appendValue(b []byte, t topology.Table, src *source, before, after *topology.Row) []byte {
	if r.schemas {
		b = append(b, r.tables[t].valueHead...)
	}
	b = append(b, `{"before":`...)
	b = appendImage(b, before)
	b = append(b, `,"after":`...)
	b = appendImage(b, after)
	b = append(b, `,"source":{"version":"3.6.1.Final","connector":"postgresql","name":`...)
	b = appendString(b, r.prefix)
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, src.sourceUs/1000, 10)
	b = append(b, `,"snapshot":`...)
	if src.snapshot == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, src.snapshot)
	}
	b = append(b, `,"db":`...)
	b = appendString(b, r.db)
	b = append(b, `,"sequence":"[`...)
	if src.seqFirst == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, `\"`...)
		b = strconv.AppendInt(b, src.seqFirst, 10)
		b = append(b, `\"`...)
	}
	b = append(b, `,\"`...)
	b = strconv.AppendInt(b, src.lsn, 10)
	b = append(b, `\"]","ts_us":`...)
	b = strconv.AppendInt(b, src.sourceUs, 10)
	b = append(b, `,"ts_ns":`...)
	b = strconv.AppendInt(b, src.sourceUs*1000, 10)
	b = append(b, `,"schema":"public","table":`...)
	b = appendString(b, t.String())
	b = append(b, `,"txId":`...)
	b = strconv.AppendInt(b, src.txID, 10)
	b = append(b, `,"lsn":`...)
	b = strconv.AppendInt(b, src.lsn, 10)
	b = append(b, `,"xmin":null,"origin":null,"origin_lsn":null},"transaction":null,"op":"`...)
	b = append(b, src.op.String()...)
	b = append(b, `","ts_ms":`...)
	b = strconv.AppendInt(b, src.envNs/1_000_000, 10)
	b = append(b, `,"ts_us":`...)
	b = strconv.AppendInt(b, src.envNs/1000, 10)
	b = append(b, `,"ts_ns":`...)
	b = strconv.AppendInt(b, src.envNs, 10)
	b = append(b, '}')
	if r.schemas {
		b = append(b, '}')
	}
	return b
}

// appendImage appends a row image as the JSON converter writes it, in the
// column order of the source table (and of the captured records).
func appendImage(b []byte, row *topology.Row) []byte {
	if row == nil {
		return append(b, "null"...)
	}
	switch row.Table {
	case topology.TableCustomers:
		c := &row.Customer
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, c.ID, 10)
		b = appendField(b, "email")
		b = appendString(b, c.Email)
		b = appendField(b, "first_name")
		b = appendString(b, c.FirstName)
		b = appendField(b, "last_name")
		b = appendString(b, c.LastName)
		b = appendField(b, "phone")
		b = appendOptString(b, c.Phone)
		b = appendField(b, "city")
		b = appendString(b, c.City)
		b = appendField(b, "region")
		b = appendOptString(b, c.Region)
		b = appendField(b, "country")
		b = appendString(b, c.Country)
		b = appendField(b, "segment")
		b = appendString(b, c.Segment)
		b = appendField(b, "birth_date")
		if c.BirthDate.Valid {
			b = strconv.AppendInt(b, int64(c.BirthDate.V), 10)
		} else {
			b = append(b, "null"...)
		}
		b = appendField(b, "created_at")
		b = appendTimestamp(b, c.CreatedAt)
		b = appendField(b, "updated_at")
		b = appendTimestamp(b, c.UpdatedAt)
	case topology.TableVehicles:
		v := &row.Vehicle
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, v.ID, 10)
		b = appendField(b, "vin")
		b = appendString(b, v.VIN)
		b = appendField(b, "make")
		b = appendString(b, v.Make)
		b = appendField(b, "model")
		b = appendString(b, v.Model)
		b = appendField(b, "model_year")
		b = strconv.AppendInt(b, int64(v.ModelYear), 10)
		b = appendField(b, "body_type")
		b = appendString(b, v.BodyType)
		b = appendField(b, "fuel_type")
		b = appendString(b, v.FuelType)
		b = appendField(b, "transmission")
		b = appendString(b, v.Transmission)
		b = appendField(b, "color")
		b = appendOptString(b, v.Color)
		b = appendField(b, "mileage_km")
		b = strconv.AppendInt(b, int64(v.MileageKm), 10)
		b = appendField(b, "condition")
		b = appendString(b, v.Condition)
		b = appendField(b, "list_price")
		b = appendDecimal(b, v.ListPrice)
		b = appendField(b, "cost_price")
		if v.CostPrice.Valid {
			b = appendDecimal(b, v.CostPrice.V)
		} else {
			b = append(b, "null"...)
		}
		b = appendField(b, "stock_status")
		b = appendString(b, v.StockStatus)
		b = appendField(b, "features")
		b = appendOptString(b, v.Features)
		b = appendField(b, "created_at")
		b = appendTimestamp(b, v.CreatedAt)
		b = appendField(b, "updated_at")
		b = appendTimestamp(b, v.UpdatedAt)
	case topology.TableOrders:
		o := &row.Order
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, o.ID, 10)
		b = appendField(b, "customer_id")
		b = strconv.AppendInt(b, o.CustomerID, 10)
		b = appendField(b, "status")
		b = appendString(b, o.Status)
		b = appendField(b, "channel")
		b = appendString(b, o.Channel)
		b = appendField(b, "currency")
		b = appendString(b, o.Currency)
		b = appendField(b, "order_date")
		b = appendTimestamp(b, o.OrderDate)
		b = appendField(b, "updated_at")
		b = appendTimestamp(b, o.UpdatedAt)
	case topology.TableOrderItems:
		it := &row.Item
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, it.ID, 10)
		b = appendField(b, "order_id")
		b = strconv.AppendInt(b, it.OrderID, 10)
		b = appendField(b, "vehicle_id")
		b = strconv.AppendInt(b, it.VehicleID, 10)
		b = appendField(b, "quantity")
		b = strconv.AppendInt(b, int64(it.Quantity), 10)
		b = appendField(b, "unit_price")
		b = appendDecimal(b, it.UnitPrice)
		b = appendField(b, "discount")
		b = appendDecimal(b, it.Discount)
	case topology.TablePayments:
		p := &row.Payment
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, p.ID, 10)
		b = appendField(b, "order_id")
		b = strconv.AppendInt(b, p.OrderID, 10)
		b = appendField(b, "amount")
		b = appendDecimal(b, p.Amount)
		b = appendField(b, "method")
		b = appendString(b, p.Method)
		b = appendField(b, "status")
		b = appendString(b, p.Status)
		b = appendField(b, "paid_at")
		if p.PaidAt.Valid {
			b = appendTimestamp(b, p.PaidAt.V)
		} else {
			b = append(b, "null"...)
		}
		b = appendField(b, "created_at")
		b = appendTimestamp(b, p.CreatedAt)
	default:
		return append(b, "null"...)
	}
	return append(b, '}')
}

func appendField(b []byte, name string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendOptString(b []byte, s topology.Opt[string]) []byte {
	if !s.Valid {
		return append(b, "null"...)
	}
	return appendString(b, s.V)
}

// appendString appends s as a JSON string the way Jackson writes it:
// UTF-8 as is except characters outside the Basic Multilingual Plane,
// which become escaped UTF-16 surrogate pairs; quote and backslash
// escaped; control characters as short escapes or \u00XX.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0xf0 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				b = append(b, s[start:i]...)
				for _, u := range [2]rune{r1, r2} {
					b = append(b, '\\', 'u', hex[u>>12&0xf], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
				}
				i += size - 1
				start = i + 1
			}
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendTimestamp appends an io.debezium.time.ZonedTimestamp as the
// captured records spell it: UTC, six fractional digits.
func appendTimestamp(b []byte, ts topology.Timestamp) []byte {
	b = append(b, '"')
	b = ts.Time().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	return append(b, '"')
}

// appendDecimal appends a Connect Decimal (decimal.handling.mode=precise):
// the unscaled value as minimal big-endian two's complement bytes
// (Java's BigInteger.toByteArray), base64 in a JSON string. The scale is
// the schema's (2 for every NUMERIC of docs/design.md, Source data model).
func appendDecimal(b []byte, d topology.Decimal) []byte {
	var raw [8]byte
	u := uint64(d.Unscaled)
	for i := 7; i >= 0; i-- {
		raw[i] = byte(u)
		u >>= 8
	}
	// Drop leading bytes that only repeat the sign.
	i := 0
	for i < 7 && ((raw[i] == 0 && raw[i+1]&0x80 == 0) || (raw[i] == 0xff && raw[i+1]&0x80 != 0)) {
		i++
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	src := raw[i:]
	b = append(b, '"')
	for len(src) >= 3 {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		b = append(b, alphabet[v>>18&0x3f], alphabet[v>>12&0x3f], alphabet[v>>6&0x3f], alphabet[v&0x3f])
		src = src[3:]
	}
	switch len(src) {
	case 2:
		v := uint(src[0])<<16 | uint(src[1])<<8
		b = append(b, alphabet[v>>18&0x3f], alphabet[v>>12&0x3f], alphabet[v>>6&0x3f], '=')
	case 1:
		v := uint(src[0]) << 16
		b = append(b, alphabet[v>>18&0x3f], alphabet[v>>12&0x3f], '=', '=')
	}
	return append(b, '"')
}

// micros returns t as a topology.Timestamp.
func micros(t time.Time) topology.Timestamp { return topology.TimestampOf(t) }
