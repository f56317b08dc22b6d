package debezium

import (
	"strings"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Builders of records in the JsonConverter's shape, for tests that need a
// particular variation. Real records captured from Debezium are under
// testdata/fixtures.

type connectorMode struct {
	prefix  string
	decimal string // precise (default), string, double
	time    string // adaptive (default), connect, isostring
}

var defaultMode = connectorMode{prefix: "ecommerce"}

func (m connectorMode) columnSchema(c topology.Column) string {
	opt := "false"
	if c.Nullable {
		opt = "true"
	}
	head := `{"type":`
	switch c.Type {
	case topology.TypeSmallint:
		head += `"int16","optional":` + opt
	case topology.TypeInteger:
		head += `"int32","optional":` + opt
	case topology.TypeBigint:
		head += `"int64","optional":` + opt
	case topology.TypeText:
		head += `"string","optional":` + opt
	case topology.TypeJSONB:
		head += `"string","optional":` + opt + `,"name":"io.debezium.data.Json","version":1`
	case topology.TypeNumeric:
		switch m.decimal {
		case "string":
			head += `"string","optional":` + opt
		case "double":
			head += `"double","optional":` + opt
		default:
			head += `"bytes","optional":` + opt + `,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"}`
		}
	case topology.TypeDate:
		switch m.time {
		case "connect":
			head += `"int32","optional":` + opt + `,"name":"org.apache.kafka.connect.data.Date","version":1`
		case "isostring":
			head += `"string","optional":` + opt + `,"name":"io.debezium.time.IsoDate","version":1`
		default:
			head += `"int32","optional":` + opt + `,"name":"io.debezium.time.Date","version":1`
		}
	case topology.TypeTimestamptz:
		head += `"string","optional":` + opt + `,"name":"io.debezium.time.ZonedTimestamp","version":1`
	}
	return head + `,"field":"` + c.Name + `"}`
}

func (m connectorMode) rowSchema(t topology.Table, field string) string {
	var b strings.Builder
	b.WriteString(`{"type":"struct","fields":[`)
	for i, c := range t.Columns() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.columnSchema(c))
	}
	b.WriteString(`],"optional":true,"name":"` + m.prefix + `.public.` + t.String() + `.Value","field":"` + field + `"}`)
	return b.String()
}

const sourceSchema = `{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"}`

const transactionSchema = `{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"}`

func (m connectorMode) valueSchema(t topology.Table) string {
	return `{"type":"struct","fields":[` + m.rowSchema(t, "before") + `,` + m.rowSchema(t, "after") + `,` + sourceSchema + `,` + transactionSchema +
		`,{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":"` +
		m.prefix + `.public.` + t.String() + `.Envelope","version":2}`
}

func (m connectorMode) keySchema(t topology.Table) string {
	return `{"type":"struct","fields":[{"type":"int64","optional":false,"default":0,"field":"id"}],"optional":false,"name":"` + m.prefix + `.public.` + t.String() + `.Key"}`
}

func (m connectorMode) topic(t topology.Table) string { return m.prefix + ".public." + t.String() }

// source returns a streaming source block.
func (m connectorMode) source(t topology.Table, snapshot string) string {
	return `{"version":"3.6.1.Final","connector":"postgresql","name":"` + m.prefix + `","ts_ms":1732700000123,"snapshot":` + snapshot +
		`,"db":"ecommerce","sequence":"[\"24023128\",\"24023184\"]","ts_us":1732700000123456,"ts_ns":1732700000123456000,"schema":"public","table":"` +
		t.String() + `","txId":771,"lsn":24023184,"xmin":null}`
}

// payload builds an envelope payload.
func (m connectorMode) payload(t topology.Table, op, before, after string) string {
	return `{"before":` + before + `,"after":` + after + `,"source":` + m.source(t, `"false"`) +
		`,"transaction":null,"op":"` + op + `","ts_ms":1732700000200,"ts_us":1732700000200111,"ts_ns":1732700000200111222}`
}

// value wraps a payload with the schema when schemas are on.
func (m connectorMode) value(t topology.Table, schemas bool, payload string) string {
	if !schemas {
		return payload
	}
	return `{"schema":` + m.valueSchema(t) + `,"payload":` + payload + `}`
}

func (m connectorMode) key(t topology.Table, schemas bool, id string) string {
	if !schemas {
		return `{"id":` + id + `}`
	}
	return `{"schema":` + m.keySchema(t) + `,"payload":{"id":` + id + `}}`
}

// Sample rows.
const (
	orderItemRow = `{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"D54=","discount":"AA=="}`
	orderRow     = `{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"2024-02-23T08:52:14.431487Z","updated_at":"2024-02-23T09:00:00Z"}`
	vehicleRow   = `{"id":12,"vin":"WVWZZZ1KZAW000001","make":"Volkswagen","model":"Golf","model_year":2021,"body_type":"hatchback","fuel_type":"petrol","transmission":"manual","color":"blue","mileage_km":35120,"condition":"used","list_price":"JJsY","cost_price":"IM6i","stock_status":"available","features":"{\"abs\": true, \"seats\": 5, \"extras\": [\"navigation\", \"heated seats\", \"parking sensors\"], \"warranty_months\": 12}","created_at":"2023-11-02T10:15:00.5Z","updated_at":"2024-01-15T16:45:30.123456Z"}`
	customerRow  = `{"id":41,"email":"ana@example.com","first_name":"Ana","last_name":"Núñez","phone":null,"city":"Sevilla","region":"Andalucía","country":"ES","segment":"retail","birth_date":-3653,"created_at":"2023-01-01T00:00:00Z","updated_at":"2023-01-01T00:00:00Z"}`
	paymentRow   = `{"id":5,"order_id":3,"amount":"D54=","method":"credit_card","status":"approved","paid_at":null,"created_at":"2024-02-23T08:52:14Z"}`
)
