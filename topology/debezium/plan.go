package debezium

import (
	"encoding/json"
	"strconv"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// valueKind says how a column's JSON value is encoded: by the Connect
// schema when the record carries one, else by the column's type in the
// table definition (topology.Table.Columns).
type valueKind uint8

const (
	vkInt         valueKind = iota + 1 // int8…int64 number
	vkText                             // string
	vkJSON                             // string holding JSON text (io.debezium.data.Json)
	vkDecBytes                         // Connect Decimal: base64 two's complement, scale from the schema
	vkDecText                          // decimal.handling.mode=string or double (or decimal.format=NUMERIC)
	vkDecVariable                      // io.debezium.data.VariableScaleDecimal {scale, value}
	vkDecAuto                          // schemaless NUMERIC: see Options.DecimalHandling
	vkDate                             // days since the epoch (number) or IsoDate (string)
	vkTsISO                            // ZonedTimestamp / IsoTimestamp string
	vkTsMillis                         // io.debezium.time.Timestamp, Connect Timestamp
	vkTsMicros                         // io.debezium.time.MicroTimestamp
	vkTsNanos                          // io.debezium.time.NanoTimestamp
)

func (k valueKind) decimal() bool { return k >= vkDecBytes && k <= vkDecAuto }

// field is one member of a row image as the decoder expects it.
type field struct {
	member           // the name, and how to recognize it in the input
	col    int       // index in table.Columns(), -1 for a column the table does not have
	kind   valueKind // how the value is encoded
	scale  int32     // scale of a vkDecBytes value
	dst    dst       // where the value goes in an Image
}

// plan is how to decode the row images of one table: the fields in the
// order they are expected (schema order, or table order without a schema).
type plan struct {
	table    topology.Table
	fields   []field
	required topology.ColumnSet // NOT NULL columns: must be present
}

// lookup finds the field named name when it is not the expected one, and
// returns it with the index to expect next.
func (p *plan) lookup(name []byte, next int) (*field, int) {
	for j := range p.fields {
		if string(name) == p.fields[j].name {
			return &p.fields[j], j + 1
		}
	}
	return nil, next
}

func requiredColumns(t topology.Table) topology.ColumnSet {
	var s topology.ColumnSet
	for i, c := range t.Columns() {
		if !c.Nullable {
			s = s.With(i)
		}
	}
	return s
}

// schemalessPlan decodes rows by the table definition alone.
func schemalessPlan(t topology.Table) *plan {
	p := &plan{table: t, required: requiredColumns(t)}
	for i, c := range t.Columns() {
		f := field{col: i, scale: c.Scale}
		switch c.Type {
		case topology.TypeSmallint, topology.TypeInteger, topology.TypeBigint:
			f.kind = vkInt
		case topology.TypeText:
			f.kind = vkText
		case topology.TypeJSONB:
			f.kind = vkJSON
		case topology.TypeNumeric:
			f.kind = vkDecAuto
		case topology.TypeDate:
			f.kind = vkDate
		case topology.TypeTimestamptz:
			f.kind = vkTsISO
		}
		p.add(c.Name, f)
	}
	return p
}

func (p *plan) add(name string, f field) {
	f.member = newMember(name)
	if f.col >= 0 {
		f.dst = dsts[p.table][f.col]
	}
	p.fields = append(p.fields, f)
}

// connectSchema is a Kafka Connect schema in the JsonConverter's JSON form
// (docs/debezium.md, Connect schemas). It is decoded with encoding/json: this happens only
// when a table's schema changes, never per record.
type connectSchema struct {
	Type       string            `json:"type"`
	Optional   bool              `json:"optional"`
	Name       string            `json:"name"`
	Parameters map[string]string `json:"parameters"`
	Field      string            `json:"field"`
	Fields     []connectSchema   `json:"fields"`
}

// planFromSchema derives the plan of table t from the value schema span.
func (d *Decoder) planFromSchema(t topology.Table, span []byte) (*plan, error) {
	var env connectSchema
	if err := json.Unmarshal(span, &env); err != nil {
		return nil, newError(NotEnvelope, "value.schema", "not a Connect schema: "+err.Error())
	}
	if env.Type != "struct" {
		return nil, newError(NotEnvelope, "value.schema", "envelope schema is "+strconv.Quote(env.Type)+", not a struct")
	}
	var row *connectSchema
	which := ""
	for i := range env.Fields {
		f := &env.Fields[i]
		if f.Type == "struct" && (f.Field == "after" || (f.Field == "before" && row == nil)) {
			row, which = f, f.Field
		}
	}
	if row == nil {
		return nil, newError(NotEnvelope, "value.schema", "envelope schema has no before or after struct")
	}
	cols := t.Columns()
	p := &plan{table: t, required: requiredColumns(t)}
	for _, f := range row.Fields {
		col := t.ColumnIndex(f.Field)
		if col < 0 {
			d.reportUnknown(t, []byte(f.Field))
			p.add(f.Field, field{col: -1})
			continue
		}
		kind, scale, ok := kindFor(&f, cols[col])
		if !ok {
			desc := f.Type
			if f.Name != "" {
				desc += " (" + f.Name + ")"
			}
			return nil, newError(TypeMismatch, "value.schema."+which+"."+f.Field,
				"schema type "+desc+" does not fit column "+f.Field+" "+columnTypeString(cols[col]))
		}
		p.add(f.Field, field{col: col, kind: kind, scale: scale})
	}
	return p, nil
}

func columnTypeString(c topology.Column) string {
	switch {
	case c.Type == topology.TypeNumeric:
		return "numeric(" + strconv.Itoa(int(c.Precision)) + "," + strconv.Itoa(int(c.Scale)) + ")"
	case c.Type == topology.TypeText && c.Precision > 0:
		return "char(" + strconv.Itoa(int(c.Precision)) + ")"
	}
	return c.Type.String()
}

func isIntType(t string) bool {
	return t == "int8" || t == "int16" || t == "int32" || t == "int64"
}

// Logical type names of docs/debezium.md, Types.
const (
	nameDecimal         = "org.apache.kafka.connect.data.Decimal"
	nameVariableDecimal = "io.debezium.data.VariableScaleDecimal"
	nameDate            = "io.debezium.time.Date"
	nameConnectDate     = "org.apache.kafka.connect.data.Date"
	nameIsoDate         = "io.debezium.time.IsoDate"
	nameZonedTimestamp  = "io.debezium.time.ZonedTimestamp"
	nameIsoTimestamp    = "io.debezium.time.IsoTimestamp"
	nameTimestamp       = "io.debezium.time.Timestamp"
	nameConnectTs       = "org.apache.kafka.connect.data.Timestamp"
	nameMicroTimestamp  = "io.debezium.time.MicroTimestamp"
	nameNanoTimestamp   = "io.debezium.time.NanoTimestamp"
)

// kindFor maps a schema field onto column c, or reports that it does not
// fit (a type change the decoder cannot follow).
func kindFor(f *connectSchema, c topology.Column) (valueKind, int32, bool) {
	switch c.Type {
	case topology.TypeSmallint, topology.TypeInteger, topology.TypeBigint:
		if isIntType(f.Type) && f.Name == "" {
			return vkInt, 0, true
		}
	case topology.TypeText:
		if f.Type == "string" {
			return vkText, 0, true
		}
	case topology.TypeJSONB:
		if f.Type == "string" {
			return vkJSON, 0, true
		}
	case topology.TypeNumeric:
		switch {
		case f.Type == "bytes" && f.Name == nameDecimal:
			scale, err := strconv.ParseInt(f.Parameters["scale"], 10, 32)
			if err != nil && f.Parameters["scale"] != "" {
				return 0, 0, false
			}
			return vkDecBytes, int32(scale), true
		case f.Type == "string", f.Type == "double", f.Type == "float":
			return vkDecText, 0, true
		case isIntType(f.Type) && f.Name == "":
			return vkDecText, 0, true
		case f.Type == "struct" && f.Name == nameVariableDecimal:
			return vkDecVariable, 0, true
		}
	case topology.TypeDate:
		switch {
		case isIntType(f.Type) && (f.Name == nameDate || f.Name == nameConnectDate):
			return vkDate, 0, true
		case f.Type == "string" && f.Name == nameIsoDate:
			return vkDate, 0, true
		}
	case topology.TypeTimestamptz:
		switch {
		case f.Type == "string" && (f.Name == nameZonedTimestamp || f.Name == nameIsoTimestamp || f.Name == ""):
			return vkTsISO, 0, true
		case f.Type == "int64" && (f.Name == nameTimestamp || f.Name == nameConnectTs):
			return vkTsMillis, 0, true
		case f.Type == "int64" && f.Name == nameMicroTimestamp:
			return vkTsMicros, 0, true
		case f.Type == "int64" && f.Name == nameNanoTimestamp:
			return vkTsNanos, 0, true
		}
	}
	return 0, 0, false
}
