package debezium

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

const (
	tItems    = topology.TableOrderItems
	tOrders   = topology.TableOrders
	tVehicles = topology.TableVehicles
	tCust     = topology.TableCustomers
	tPay      = topology.TablePayments
)

// src is the rendering of defaultMode.source.
const src = `"snapshot":"false","lsn":24023184,"tx_id":771,"source_ts_ms":1732700000123`

func TestDecode(t *testing.T) {
	m := defaultMode
	itemsAfter := `{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"39.98","discount":"0.00"}`
	tests := []struct {
		name       string
		opts       Options
		topic      string
		key, value string
		nilKey     bool
		nilValue   bool
		want       string
	}{
		{
			name: "insert with schemas", topic: m.topic(tItems), key: m.key(tItems, true, "7"),
			value: m.value(tItems, true, m.payload(tItems, "c", "null", orderItemRow)),
			want:  `{"topic":"ecommerce.public.order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "insert without schemas", topic: m.topic(tItems), key: m.key(tItems, false, "7"),
			value: m.value(tItems, false, m.payload(tItems, "c", "null", orderItemRow)),
			want:  `{"topic":"ecommerce.public.order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "update with full before", topic: m.topic(tOrders), key: m.key(tOrders, true, "3"),
			value: m.value(tOrders, true, m.payload(tOrders, "u", strings.Replace(orderRow, `"paid"`, `"confirmed"`, 1), orderRow)),
			want: `{"topic":"ecommerce.public.orders","table":"orders","op":"u",` + src + `,"key":3,` +
				`"before":{"id":3,"customer_id":41,"status":"confirmed","channel":"web","currency":"EUR","order_date":"2024-02-23T08:52:14.431487Z","updated_at":"2024-02-23T09:00:00Z"},` +
				`"after":{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"2024-02-23T08:52:14.431487Z","updated_at":"2024-02-23T09:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "delete", topic: m.topic(tPay), key: m.key(tPay, false, "5"),
			value: m.value(tPay, false, m.payload(tPay, "d", paymentRow, "null")),
			want: `{"topic":"ecommerce.public.payments","table":"payments","op":"d",` + src + `,"key":5,` +
				`"before":{"id":5,"order_id":3,"amount":"39.98","method":"credit_card","status":"approved","paid_at":null,"created_at":"2024-02-23T08:52:14Z"},"after":null,"unchanged":[]}`,
		},
		{
			name: "vehicle with JSON features", topic: m.topic(tVehicles), key: m.key(tVehicles, true, "12"),
			value: m.value(tVehicles, true, m.payload(tVehicles, "r", "null", vehicleRow)),
			want: `{"topic":"ecommerce.public.vehicles","table":"vehicles","op":"r",` + src + `,"key":12,"before":null,` +
				`"after":{"id":12,"vin":"WVWZZZ1KZAW000001","make":"Volkswagen","model":"Golf","model_year":2021,"body_type":"hatchback","fuel_type":"petrol","transmission":"manual","color":"blue","mileage_km":35120,"condition":"used","list_price":"23990.00","cost_price":"21500.50","stock_status":"available",` +
				`"features":{"abs": true, "seats": 5, "extras": ["navigation", "heated seats", "parking sensors"], "warranty_months": 12},"created_at":"2023-11-02T10:15:00.5Z","updated_at":"2024-01-15T16:45:30.123456Z"},"unchanged":[]}`,
		},
		{
			name: "customer: non-ASCII, null, date before 1970", topic: m.topic(tCust), key: m.key(tCust, true, "41"),
			value: m.value(tCust, true, m.payload(tCust, "c", "null", customerRow)),
			want: `{"topic":"ecommerce.public.customers","table":"customers","op":"c",` + src + `,"key":41,"before":null,` +
				`"after":{"id":41,"email":"ana@example.com","first_name":"Ana","last_name":"Núñez","phone":null,"city":"Sevilla","region":"Andalucía","country":"ES","segment":"retail","birth_date":"1960-01-01","created_at":"2023-01-01T00:00:00Z","updated_at":"2023-01-01T00:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "tombstone: nil value", topic: m.topic(tItems), key: m.key(tItems, true, "7"), nilValue: true,
			want: `{"topic":"ecommerce.public.order_items","tombstone":true,"key":7}`,
		},
		{
			name: "tombstone: null text", topic: m.topic(tItems), key: m.key(tItems, false, "7"), value: " null ",
			want: `{"topic":"ecommerce.public.order_items","tombstone":true,"key":7}`,
		},
		{
			name: "tombstone: null payload", topic: m.topic(tItems), key: m.key(tItems, true, "7"),
			value: `{"schema":` + m.valueSchema(tItems) + `,"payload":null}`,
			want:  `{"topic":"ecommerce.public.order_items","tombstone":true,"key":7}`,
		},
		{
			name: "tombstone: null payload, unusable schema", topic: m.topic(tItems), key: m.key(tItems, true, "7"),
			value: `{"schema":{"type":"string"},"payload":null}`,
			want:  `{"topic":"ecommerce.public.order_items","tombstone":true,"key":7}`,
		},
		{
			name: "tombstone without key", topic: m.topic(tItems), nilKey: true, nilValue: true,
			want: `{"topic":"ecommerce.public.order_items","tombstone":true,"key":null}`,
		},
		{
			name: "heartbeat", topic: "__debezium-heartbeat.ecommerce", key: `{"serverName":"ecommerce"}`, value: `{"ts_ms":1}`,
			want: `{"topic":"__debezium-heartbeat.ecommerce","skipped":"heartbeat"}`,
		},
		{
			name: "transaction", topic: "ecommerce.transaction", value: `{"status":"BEGIN","id":"571:53195832","event_count":null,"data_collections":null,"ts_ms":1}`,
			want: `{"topic":"ecommerce.transaction","skipped":"transaction"}`,
		},
		{
			name: "message", topic: "ecommerce.message", value: `{"op":"m"}`,
			want: `{"topic":"ecommerce.message","skipped":"message"}`,
		},
		{
			name: "prefix given", opts: Options{TopicPrefix: "ecommerce"}, topic: "ecommerce.transaction", value: `x`,
			want: `{"topic":"ecommerce.transaction","skipped":"transaction"}`,
		},
		{
			name: "bare table name as topic", topic: "order_items", key: `{"id":7}`,
			value: m.payload(tItems, "c", "null", orderItemRow),
			want:  `{"topic":"order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "payload before schema", topic: m.topic(tItems), key: m.key(tItems, true, "7"),
			value: `{"payload":` + m.payload(tItems, "c", "null", orderItemRow) + `,"schema":` + m.valueSchema(tItems) + `}`,
			want:  `{"topic":"ecommerce.public.order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "whitespace everywhere", topic: m.topic(tItems), key: " { \"id\" : 7 } ",
			value: ` { "before" : null , "after" : { "id" : 7 , "order_id" : 3 , "vehicle_id" : 12 , "quantity" : 2 , "unit_price" : "D54=" , "discount" : "AA==" } , "source" : { "ts_ms" : 5 } , "op" : "c" } `,
			want:  `{"topic":"ecommerce.public.order_items","table":"order_items","op":"c","snapshot":null,"lsn":null,"tx_id":null,"source_ts_ms":5,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "docs sample: boolean snapshot, members in another order", topic: m.topic(tOrders), key: `{"id":3}`,
			value: `{"op":"r","source":{"snapshot":true,"ts_ms":9,"txId":555,"lsn":9223372036854775807},"after":` + orderRow + `}`,
			want: `{"topic":"ecommerce.public.orders","table":"orders","op":"r","snapshot":"true","lsn":9223372036854775807,"tx_id":555,"source_ts_ms":9,"key":3,"before":null,` +
				`"after":{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"2024-02-23T08:52:14.431487Z","updated_at":"2024-02-23T09:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "incremental snapshot: null lsn and txId", topic: m.topic(tItems), key: `{"id":7}`,
			value: `{"before":null,"after":` + orderItemRow + `,"source":{"ts_ms":1,"snapshot":"incremental","txId":null,"lsn":null},"op":"r"}`,
			want:  `{"topic":"ecommerce.public.order_items","table":"order_items","op":"r","snapshot":"incremental","lsn":null,"tx_id":null,"source_ts_ms":1,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "TOAST placeholder in jsonb and text", topic: m.topic(tVehicles), key: `{"id":12}`,
			value: m.payload(tVehicles, "u", "null", strings.NewReplacer(
				`"features":"{\"abs\": true, \"seats\": 5, \"extras\": [\"navigation\", \"heated seats\", \"parking sensors\"], \"warranty_months\": 12}"`, `"features":"__debezium_unavailable_value"`,
				`"color":"blue"`, `"color":["__debezium_unavailable_value"]`,
				`"model":"Golf"`, `"model":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`,
			).Replace(vehicleRow)),
			want: `{"topic":"ecommerce.public.vehicles","table":"vehicles","op":"u",` + src + `,"key":12,"before":null,` +
				`"after":{"id":12,"vin":"WVWZZZ1KZAW000001","make":"Volkswagen","model_year":2021,"body_type":"hatchback","fuel_type":"petrol","transmission":"manual","mileage_km":35120,"condition":"used","list_price":"23990.00","cost_price":"21500.50","stock_status":"available",` +
				`"created_at":"2023-11-02T10:15:00.5Z","updated_at":"2024-01-15T16:45:30.123456Z"},"unchanged":["model","color","features"]}`,
		},
		{
			name: "TOAST placeholder: other shapes", topic: m.topic(tVehicles), key: `{"id":12}`,
			value: m.payload(tVehicles, "u", "null", strings.NewReplacer(
				`"features":"{\"abs\": true, \"seats\": 5, \"extras\": [\"navigation\", \"heated seats\", \"parking sensors\"], \"warranty_months\": 12}"`, `"features":{"__debezium_unavailable_value":"__debezium_unavailable_value"}`,
				`"color":"blue"`, `"color":[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108,101,95,118,97,108,117,101]`,
				`"model":"Golf"`, `"model":["b68a35a7-17ad-35b3-af2a-ae46edb4545a"]`,
				`"make":"Volkswagen"`, `"make":"{\"__debezium_unavailable_value\":\"__debezium_unavailable_value\"}"`,
			).Replace(vehicleRow)),
			want: `{"topic":"ecommerce.public.vehicles","table":"vehicles","op":"u",` + src + `,"key":12,"before":null,` +
				`"after":{"id":12,"vin":"WVWZZZ1KZAW000001","model_year":2021,"body_type":"hatchback","fuel_type":"petrol","transmission":"manual","mileage_km":35120,"condition":"used","list_price":"23990.00","cost_price":"21500.50","stock_status":"available",` +
				`"created_at":"2023-11-02T10:15:00.5Z","updated_at":"2024-01-15T16:45:30.123456Z"},"unchanged":["make","model","color","features"]}`,
		},
		{
			name: "custom placeholder", opts: Options{Placeholder: "<toast>"}, topic: m.topic(tVehicles), key: `{"id":12}`,
			value: m.payload(tVehicles, "u", "null", strings.Replace(vehicleRow, `"color":"blue"`, `"color":"<toast>"`, 1)),
			want: `{"topic":"ecommerce.public.vehicles","table":"vehicles","op":"u",` + src + `,"key":12,"before":null,` +
				`"after":{"id":12,"vin":"WVWZZZ1KZAW000001","make":"Volkswagen","model":"Golf","model_year":2021,"body_type":"hatchback","fuel_type":"petrol","transmission":"manual","mileage_km":35120,"condition":"used","list_price":"23990.00","cost_price":"21500.50","stock_status":"available",` +
				`"features":{"abs": true, "seats": 5, "extras": ["navigation", "heated seats", "parking sensors"], "warranty_months": 12},"created_at":"2023-11-02T10:15:00.5Z","updated_at":"2024-01-15T16:45:30.123456Z"},"unchanged":["color"]}`,
		},
		{
			name: "escaped strings", topic: m.topic(tCust), key: `{"id":41}`,
			value: m.payload(tCust, "c", "null", strings.Replace(customerRow, `"first_name":"Ana"`, `"first_name":"A\"n\\a\u00e9\ud83d\ude97\n\/"`, 1)),
			want: `{"topic":"ecommerce.public.customers","table":"customers","op":"c",` + src + `,"key":41,"before":null,` +
				`"after":{"id":41,"email":"ana@example.com","first_name":"A\"n\\aé🚗\n/","last_name":"Núñez","phone":null,"city":"Sevilla","region":"Andalucía","country":"ES","segment":"retail","birth_date":"1960-01-01","created_at":"2023-01-01T00:00:00Z","updated_at":"2023-01-01T00:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "missing nullable column is NULL, unknown column ignored", topic: m.topic(tPay), key: `{"id":5}`,
			value: m.payload(tPay, "c", "null", `{"id":5,"order_id":3,"amount":"D54=","method":"cash","status":"pending","created_at":"2024-02-23T08:52:14Z","new_col":[1,{"a":2}]}`),
			want: `{"topic":"ecommerce.public.payments","table":"payments","op":"c",` + src + `,"key":5,"before":null,` +
				`"after":{"id":5,"order_id":3,"amount":"39.98","method":"cash","status":"pending","paid_at":null,"created_at":"2024-02-23T08:52:14Z"},"unchanged":[]}`,
		},
		{
			name: "decimal string mode with schema", topic: "x.public.order_items", key: `{"id":7}`,
			value: connectorMode{prefix: "x", decimal: "string"}.value(tItems, true, m.payload(tItems, "c", "null",
				`{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"9999999999.99","discount":"-1.00"}`)),
			want: `{"topic":"x.public.order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,` +
				`"after":{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"9999999999.99","discount":"-1.00"},"unchanged":[]}`,
		},
		{
			name: "decimal double mode with schema", topic: "x.public.order_items", key: `{"id":7}`,
			value: connectorMode{prefix: "x", decimal: "double"}.value(tItems, true, m.payload(tItems, "c", "null",
				`{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":9.99999999999E9,"discount":-0.01}`)),
			want: `{"topic":"x.public.order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,` +
				`"after":{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"9999999999.99","discount":"-0.01"},"unchanged":[]}`,
		},
		{
			name: "decimal string mode schemaless (auto)", topic: m.topic(tItems), key: `{"id":7}`,
			value: m.payload(tItems, "c", "null", `{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"39.98","discount":"0.00"}`),
			want:  `{"topic":"ecommerce.public.order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "decimal double mode schemaless", topic: m.topic(tItems), key: `{"id":7}`,
			value: m.payload(tItems, "c", "null", `{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":39.98,"discount":0.0}`),
			want:  `{"topic":"ecommerce.public.order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "VariableScaleDecimal", topic: m.topic(tItems), key: `{"id":7}`,
			value: m.payload(tItems, "c", "null", `{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":{"scale":2,"value":"D54="},"discount":{"scale":0,"value":"AA=="}}`),
			want:  `{"topic":"ecommerce.public.order_items","table":"order_items","op":"c",` + src + `,"key":7,"before":null,"after":` + itemsAfter + `,"unchanged":[]}`,
		},
		{
			name: "connect time mode", topic: "x.public.customers", key: `{"id":41}`,
			value: connectorMode{prefix: "x", time: "connect"}.value(tCust, true, m.payload(tCust, "c", "null", customerRow)),
			want: `{"topic":"x.public.customers","table":"customers","op":"c",` + src + `,"key":41,"before":null,` +
				`"after":{"id":41,"email":"ana@example.com","first_name":"Ana","last_name":"Núñez","phone":null,"city":"Sevilla","region":"Andalucía","country":"ES","segment":"retail","birth_date":"1960-01-01","created_at":"2023-01-01T00:00:00Z","updated_at":"2023-01-01T00:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "isostring time mode", topic: "x.public.customers", key: `{"id":41}`,
			value: connectorMode{prefix: "x", time: "isostring"}.value(tCust, true, m.payload(tCust, "c", "null", strings.Replace(customerRow, `-3653`, `"1960-01-01Z"`, 1))),
			want: `{"topic":"x.public.customers","table":"customers","op":"c",` + src + `,"key":41,"before":null,` +
				`"after":{"id":41,"email":"ana@example.com","first_name":"Ana","last_name":"Núñez","phone":null,"city":"Sevilla","region":"Andalucía","country":"ES","segment":"retail","birth_date":"1960-01-01","created_at":"2023-01-01T00:00:00Z","updated_at":"2023-01-01T00:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "infinite order_date is clamped, the row kept", topic: m.topic(tOrders), key: m.key(tOrders, true, "3"),
			value: m.value(tOrders, true, m.payload(tOrders, "c", "null", strings.Replace(orderRow, `"2024-02-23T08:52:14.431487Z"`, `"infinity"`, 1))),
			want: `{"topic":"ecommerce.public.orders","table":"orders","op":"c",` + src + `,"key":3,"before":null,` +
				`"after":{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"2106-02-07T06:28:15Z","updated_at":"2024-02-23T09:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "-infinity timestamps schemaless", topic: m.topic(tOrders), key: `{"id":3}`,
			value: m.payload(tOrders, "c", "null", `{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"-infinity","updated_at":"infinity"}`),
			want: `{"topic":"ecommerce.public.orders","table":"orders","op":"c",` + src + `,"key":3,"before":null,` +
				`"after":{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"1970-01-01T00:00:00Z","updated_at":"2106-02-07T06:28:15Z"},"unchanged":[]}`,
		},
		{
			name: "infinite birth_date (streaming encoding) is clamped", topic: m.topic(tCust), key: `{"id":41}`,
			value: m.value(tCust, true, m.payload(tCust, "c", "null", strings.Replace(customerRow, `-3653`, `-2147472692`, 1))),
			want: `{"topic":"ecommerce.public.customers","table":"customers","op":"c",` + src + `,"key":41,"before":null,` +
				`"after":{"id":41,"email":"ana@example.com","first_name":"Ana","last_name":"Núñez","phone":null,"city":"Sevilla","region":"Andalucía","country":"ES","segment":"retail","birth_date":"2106-02-07","created_at":"2023-01-01T00:00:00Z","updated_at":"2023-01-01T00:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "-infinity birth_date as text is clamped", topic: m.topic(tCust), key: `{"id":41}`,
			value: m.payload(tCust, "c", "null", strings.Replace(customerRow, `-3653`, `"-infinity"`, 1)),
			want: `{"topic":"ecommerce.public.customers","table":"customers","op":"c",` + src + `,"key":41,"before":null,` +
				`"after":{"id":41,"email":"ana@example.com","first_name":"Ana","last_name":"Núñez","phone":null,"city":"Sevilla","region":"Andalucía","country":"ES","segment":"retail","birth_date":"1970-01-01","created_at":"2023-01-01T00:00:00Z","updated_at":"2023-01-01T00:00:00Z"},"unchanged":[]}`,
		},
		{
			name: "timestamps before 1970 and after 2038", topic: m.topic(tOrders), key: `{"id":3}`,
			value: m.payload(tOrders, "c", "null", `{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"1969-12-31T23:59:59.999999Z","updated_at":"2100-02-28T12:00:00.000001Z"}`),
			want: `{"topic":"ecommerce.public.orders","table":"orders","op":"c",` + src + `,"key":3,"before":null,` +
				`"after":{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":"1969-12-31T23:59:59.999999Z","updated_at":"2100-02-28T12:00:00.000001Z"},"unchanged":[]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.opts)
			var key, value []byte
			if !tt.nilKey {
				key = []byte(tt.key)
			}
			if !tt.nilValue {
				value = []byte(tt.value)
			}
			var ch Change
			require.NoError(t, d.Decode(tt.topic, key, value, &ch))
			assert.JSONEq(t, tt.want, string(ch.AppendJSON(nil)))
			// A second decode (schema cached) gives the same result.
			require.NoError(t, d.Decode(tt.topic, key, value, &ch))
			assert.JSONEq(t, tt.want, string(ch.AppendJSON(nil)))
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	m := defaultMode
	item := func(row string) string { return m.payload(tItems, "c", "null", row) }
	withCol := func(col, v string) string {
		return item(`{"id":7,"order_id":3,"vehicle_id":12,"quantity":` + pick(col == "quantity", v, "2") +
			`,"unit_price":` + pick(col == "unit_price", v, `"D54="`) + `,"discount":"AA=="}`)
	}
	tests := []struct {
		name       string
		opts       Options
		topic      string
		key, value string
		nilKey     bool
		kind       ErrorKind
		path       string
	}{
		{name: "oversized", opts: Options{MaxRecordBytes: 10}, topic: m.topic(tItems), key: `{"id":7}`, value: item(orderItemRow), kind: Oversized},
		{name: "unknown table", topic: "ecommerce.public.debezium_signal", key: `{"id":7}`, value: `{}`, kind: UnknownTable},
		{name: "unknown table with prefix", opts: Options{TopicPrefix: "ecommerce"}, topic: "other.public.orders", value: `{}`, kind: UnknownTable},
		{name: "malformed: truncated", topic: m.topic(tItems), key: `{"id":7}`, value: item(orderItemRow)[:100], kind: MalformedJSON, path: "value.after"},
		{name: "malformed: garbage", topic: m.topic(tItems), key: `{"id":7}`, value: `{"before":nul}`, kind: MalformedJSON, path: "value.before"},
		{name: "malformed: trailing", topic: m.topic(tItems), key: `{"id":7}`, value: item(orderItemRow) + `}`, kind: MalformedJSON, path: "value"},
		{name: "malformed: invalid UTF-8", topic: m.topic(tItems), key: `{"id":7}`, value: `{"op":"` + "\xff" + `"}`, kind: MalformedJSON, path: "value.op"},
		{name: "malformed: control char", topic: m.topic(tItems), key: `{"id":7}`, value: "{\"op\":\"\x01\"}", kind: MalformedJSON, path: "value.op"},
		{name: "malformed: bad escape", topic: m.topic(tItems), key: `{"id":7}`, value: `{"op":"\x"}`, kind: MalformedJSON, path: "value.op"},
		{name: "malformed: deep nesting", topic: m.topic(tItems), key: `{"id":7}`, value: `{"x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, kind: MalformedJSON, path: "value.x"},
		{name: "malformed key", topic: m.topic(tItems), key: `{"id":7`, value: item(orderItemRow), kind: MalformedJSON, path: "key"},
		{name: "not envelope: array", topic: m.topic(tItems), key: `{"id":7}`, value: `[1,2]`, kind: NotEnvelope, path: "value"},
		{name: "not envelope: flattened row", topic: m.topic(tItems), key: `{"id":7}`, value: orderItemRow, kind: NotEnvelope, path: "value"},
		{name: "not envelope: extra member beside schema", topic: m.topic(tItems), key: `{"id":7}`, value: `{"schema":null,"payload":null,"x":1}`, kind: NotEnvelope, path: "value"},
		{name: "not envelope: schema without payload", topic: m.topic(tItems), key: `{"id":7}`, value: `{"schema":null}`, kind: NotEnvelope, path: "value"},
		{name: "not envelope: schema not a struct", topic: m.topic(tItems), key: `{"id":7}`, value: `{"schema":{"type":"string"},"payload":{"op":"c"}}`, kind: NotEnvelope, path: "value.schema"},
		{name: "wrong table: an order labelled payments", topic: m.topic(tOrders), key: `{"id":3}`, value: strings.Replace(m.payload(tOrders, "c", "null", orderRow), `"table":"orders"`, `"table":"payments"`, 1), kind: WrongTable, path: "value.source.table"},
		{name: "wrong table: not a string", topic: m.topic(tOrders), key: `{"id":3}`, value: strings.Replace(m.payload(tOrders, "c", "null", orderRow), `"table":"orders"`, `"table":7`, 1), kind: TypeMismatch, path: "value.source.table"},
		{name: "unknown op", topic: m.topic(tItems), key: `{"id":7}`, value: strings.Replace(item(orderItemRow), `"op":"c"`, `"op":"x"`, 1), kind: UnknownOp, path: "value.op"},
		{name: "truncate op", topic: m.topic(tItems), value: `{"before":null,"after":null,"source":{"ts_ms":1},"op":"t"}`, kind: UnknownOp, path: "value.op"},
		{name: "missing op", topic: m.topic(tItems), key: `{"id":7}`, value: `{"before":null,"after":` + orderItemRow + `,"source":{"ts_ms":1}}`, kind: MissingField, path: "value.op"},
		{name: "missing source", topic: m.topic(tItems), key: `{"id":7}`, value: `{"after":` + orderItemRow + `,"op":"c"}`, kind: MissingField, path: "value.source"},
		{name: "missing ts_ms", topic: m.topic(tItems), key: `{"id":7}`, value: `{"after":` + orderItemRow + `,"source":{"lsn":1},"op":"c"}`, kind: MissingField, path: "value.source.ts_ms"},
		{name: "missing after", topic: m.topic(tItems), key: `{"id":7}`, value: `{"before":null,"after":null,"source":{"ts_ms":1},"op":"c"}`, kind: MissingField, path: "value.after"},
		{name: "missing before on delete", topic: m.topic(tItems), key: `{"id":7}`, value: `{"before":null,"after":null,"source":{"ts_ms":1},"op":"d"}`, kind: MissingField, path: "value.before"},
		{name: "missing required column", topic: m.topic(tItems), key: `{"id":7}`, value: item(`{"id":7,"order_id":3,"vehicle_id":12,"unit_price":"D54=","discount":"AA=="}`), kind: MissingField, path: "value.after.quantity"},
		{name: "missing key", topic: m.topic(tItems), nilKey: true, value: item(orderItemRow), kind: MissingField, path: "key"},
		{name: "key without id", topic: m.topic(tItems), key: `{"order_id":3}`, value: item(orderItemRow), kind: MissingField, path: "key.id"},
		{name: "key with schema without id", topic: m.topic(tItems), key: `{"schema":{},"payload":{}}`, value: item(orderItemRow), kind: MissingField, path: "key.payload.id"},
		{name: "null in NOT NULL column", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("quantity", "null"), kind: TypeMismatch, path: "value.after.quantity"},
		{name: "string in integer column", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("quantity", `"2"`), kind: TypeMismatch, path: "value.after.quantity"},
		{name: "fraction in integer column", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("quantity", `2.5`), kind: TypeMismatch, path: "value.after.quantity"},
		{name: "boolean in decimal column", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("unit_price", `true`), kind: TypeMismatch, path: "value.after.unit_price"},
		{name: "bad base64", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("unit_price", `"D5*="`), kind: TypeMismatch, path: "value.after.unit_price"},
		{name: "invalid JSON in jsonb", topic: m.topic(tVehicles), key: `{"id":12}`, value: m.payload(tVehicles, "c", "null", strings.Replace(vehicleRow, `"features":"{`, `"features":"{{`, 1)), kind: TypeMismatch, path: "value.after.features"},
		{name: "schema type does not fit column", topic: "x.public.order_items", key: `{"id":7}`,
			value: `{"schema":` + strings.Replace(m.valueSchema(tItems), `"int32"`, `"string"`, -1) + `,"payload":` + item(orderItemRow) + `}`, kind: TypeMismatch, path: "value.schema.after.quantity"},
		{name: "integer overflow", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("quantity", `2147483648`), kind: OutOfRange, path: "value.after.quantity"},
		{name: "int64 overflow", topic: m.topic(tItems), key: `{"id":9223372036854775808}`, value: item(orderItemRow), kind: OutOfRange, path: "key.id"},
		{name: "decimal wider than int64", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("unit_price", `"AQAAAAAAAAAAAA=="`), kind: OutOfRange, path: "value.after.unit_price"},
		{name: "decimal not exact at scale", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("unit_price", `39.985`), kind: OutOfRange, path: "value.after.unit_price"},
		{name: "NaN decimal", topic: m.topic(tItems), key: `{"id":7}`, value: withCol("unit_price", `"NaN"`), kind: OutOfRange, path: "value.after.unit_price"},
		{name: "null in NOT NULL timestamp column", topic: m.topic(tOrders), key: `{"id":3}`, value: m.payload(tOrders, "c", "null", strings.Replace(orderRow, `"2024-02-23T08:52:14.431487Z"`, `null`, 1)), kind: TypeMismatch, path: "value.after.order_date"},
		{name: "misspelt infinity", topic: m.topic(tOrders), key: `{"id":3}`, value: m.payload(tOrders, "c", "null", strings.Replace(orderRow, `"2024-02-23T08:52:14.431487Z"`, `"Infinity"`, 1)), kind: TypeMismatch, path: "value.after.order_date"},
		{name: "date beyond int32", topic: m.topic(tCust), key: `{"id":41}`, value: m.payload(tCust, "c", "null", strings.Replace(customerRow, `-3653`, `2147483648`, 1)), kind: OutOfRange, path: "value.after.birth_date"},
		{name: "impossible date", topic: m.topic(tOrders), key: `{"id":3}`, value: m.payload(tOrders, "c", "null", strings.Replace(orderRow, `"2024-02-23T09:00:00Z"`, `"2023-02-29T09:00:00Z"`, 1)), kind: TypeMismatch, path: "value.after.updated_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.opts)
			var key []byte
			if !tt.nilKey {
				key = []byte(tt.key)
			}
			var ch Change
			err := d.Decode(tt.topic, key, []byte(tt.value), &ch)
			require.Error(t, err)
			var e *Error
			require.True(t, errors.As(err, &e), "error %v is not an *Error", err)
			assert.Equal(t, tt.kind, e.Kind, "error: %v", err)
			assert.Equal(t, tt.path, e.Path, "error: %v", err)
			assert.ErrorIs(t, err, tt.kind)
			assert.NotEmpty(t, e.Detail)
		})
	}
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

func TestDecimalVectors(t *testing.T) {
	tests := []struct {
		b64   string
		scale int32
		want  string
	}{
		{"D54=", 2, "39.98"},
		{"C7c=", 2, "29.99"},
		{"8GI=", 2, "-39.98"},
		{"nA==", 2, "-1.00"},
		{"/w==", 0, "-1"},
		{"AIA=", 0, "128"},
		{"gA==", 0, "-128"},
		{"/4A=", 0, "-128"}, // redundant sign byte
		{"AA==", 0, "0"},
		{"AA==", 2, "0.00"},
		{"AM0=", 1, "20.5"},
		{"AOjUpQ//", 2, "9999999999.99"},
		{"/xcrWvAB", 2, "-9999999999.99"},
		{"AQ==", 2, "0.01"},
		{"f/////////8=", 0, "9223372036854775807"},
		{"gAAAAAAAAAA=", 0, "-9223372036854775808"},
		{"AH//////////", 0, "9223372036854775807"}, // 9 bytes, leading zero
		{"/4AAAAAAAAAA", 0, "-9223372036854775808"},
		{"AQ", 0, "1"}, // unpadded
	}
	for _, tt := range tests {
		t.Run(tt.b64, func(t *testing.T) {
			u, err := decodeDecimalBytes([]byte(tt.b64))
			require.NoError(t, err)
			assert.Equal(t, tt.want, topology.NewDecimal(u, tt.scale).String())
		})
	}
	for _, bad := range []string{"AIAAAAAAAAAA", "AQAAAAAAAAAAAA==", strings.Repeat("A", 100)} {
		_, err := decodeDecimalBytes([]byte(bad))
		assert.ErrorIs(t, err, OutOfRange, bad)
	}
	for _, bad := range []string{"", "*", "A==="} {
		_, err := decodeDecimalBytes([]byte(bad))
		assert.ErrorIs(t, err, TypeMismatch, bad)
	}
}

func TestParseDecimalText(t *testing.T) {
	tests := []struct {
		in   string
		want string
		kind ErrorKind
	}{
		{in: "39.98", want: "39.98"},
		{in: "-1.00", want: "-1.00"},
		{in: "0", want: "0.00"},
		{in: "-0.0", want: "0.00"},
		{in: "0.05", want: "0.05"},
		{in: "100", want: "100.00"},
		{in: "39.980000", want: "39.98"},
		{in: "9999999999.99", want: "9999999999.99"},
		{in: "-9999999999.99", want: "-9999999999.99"},
		{in: "9.99999999999E9", want: "9999999999.99"},
		{in: "1.0E-2", want: "0.01"},
		{in: "1e2", want: "100.00"},
		{in: "+5", want: "5.00"},
		{in: "00012.50", want: "12.50"},
		{in: "92233720368547758.07", want: "92233720368547758.07"},
		{in: "92233720368547758.08", kind: OutOfRange},
		{in: "39.985", kind: OutOfRange},
		{in: "1e-3", kind: OutOfRange},
		{in: "1e30", kind: OutOfRange},
		{in: "123456789012345678901234567890", kind: OutOfRange},
		{in: "NaN", kind: OutOfRange},
		{in: "Infinity", kind: OutOfRange},
		{in: "-Infinity", kind: OutOfRange},
		{in: "", kind: TypeMismatch},
		{in: "1.2.3", kind: TypeMismatch},
		{in: "12a", kind: TypeMismatch},
		{in: "1e", kind: TypeMismatch},
		{in: "-", kind: TypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := parseDecimalText([]byte(tt.in), 2)
			if tt.kind != 0 {
				assert.ErrorIs(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.String())
		})
	}
}

func TestParseISOTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 nano, or "" for an error
		kind ErrorKind
	}{
		{in: "2024-02-23T08:52:14.431487Z", want: "2024-02-23T08:52:14.431487Z"},
		{in: "2024-02-23T08:52:14Z", want: "2024-02-23T08:52:14Z"},
		{in: "2024-02-23T08:52:14.4Z", want: "2024-02-23T08:52:14.4Z"},
		{in: "2024-02-23T08:52:14.123456789Z", want: "2024-02-23T08:52:14.123456Z"},
		{in: "2024-02-23T08:52Z", want: "2024-02-23T08:52:00Z"},
		{in: "2024-02-23T10:52:14+02:00", want: "2024-02-23T08:52:14Z"},
		{in: "2024-02-23T08:52:14", want: "2024-02-23T08:52:14Z"},
		{in: "1969-12-31T23:59:59.999999Z", want: "1969-12-31T23:59:59.999999Z"},
		{in: "1900-01-01T00:00:00Z", want: "1900-01-01T00:00:00Z"},
		{in: "0001-01-01T00:00:00Z", want: "0001-01-01T00:00:00Z"},
		{in: "2038-01-19T03:14:08Z", want: "2038-01-19T03:14:08Z"},
		{in: "9999-12-31T23:59:59.999999Z", want: "9999-12-31T23:59:59.999999Z"},
		{in: "2024-02-29T00:00:00Z", want: "2024-02-29T00:00:00Z"},
		{in: "infinity", want: "2106-02-07T06:28:15Z"},
		{in: "+infinity", want: "2106-02-07T06:28:15Z"},
		{in: "-infinity", want: "1970-01-01T00:00:00Z"},
		{in: "+294247-01-10T04:00:25.2Z", want: "2106-02-07T06:28:15Z"}, // IsoTimestamp of Debezium's sentinels
		{in: "-290308-12-21T19:59:27.6Z", want: "1970-01-01T00:00:00Z"},
		{in: "Infinity", kind: TypeMismatch},
		{in: "infinity ", kind: TypeMismatch},
		{in: "2023-02-29T00:00:00Z", kind: TypeMismatch},
		{in: "2024-13-01T00:00:00Z", kind: TypeMismatch},
		{in: "2024-02-23T24:00:00Z", kind: TypeMismatch},
		{in: "2024-02-23T08:52:14.Z", kind: TypeMismatch},
		{in: "2024-02-23T08:52:14Zjunk", kind: TypeMismatch},
		{in: "2024-02-23", kind: TypeMismatch},
		{in: "", kind: TypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ts, err := parseISOTimestamp([]byte(tt.in))
			if tt.kind != 0 {
				assert.ErrorIs(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, ts.String())
		})
	}
}

// TestParseISOTimestampRandom compares the parser with time.Parse on
// random instants in every fraction width.
func TestParseISOTimestampRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 20000; n++ {
		want := time.Unix(r.Int64N(253402300799+62135596800)-62135596800, r.Int64N(1e9)).UTC().Truncate(time.Microsecond)
		layout := "2006-01-02T15:04:05" + []string{"", ".0", ".00", ".000", ".000000", ".000000000"}[n%6] + "Z07:00"
		text := want.Format(layout)
		ts, err := parseISOTimestamp([]byte(text))
		require.NoError(t, err, text)
		p, _ := time.Parse(time.RFC3339Nano, text)
		require.Equal(t, p.Truncate(time.Microsecond).UnixMicro(), int64(ts), text)
	}
}

func TestParseISODate(t *testing.T) {
	tests := []struct {
		in   string
		want string
		kind ErrorKind
	}{
		{in: "2024-01-01", want: "2024-01-01"},
		{in: "2024-01-01Z", want: "2024-01-01"},
		{in: "1960-01-01Z", want: "1960-01-01"},
		{in: "1582-10-04", want: "1582-10-04"},
		{in: "2100-02-28", want: "2100-02-28"},
		{in: "infinity", want: "2106-02-07"},
		{in: "-infinity", want: "1970-01-01"},
		{in: "-5877611-06-21Z", want: "2106-02-07"}, // IsoDate of Debezium's sentinels
		{in: "-5877611-06-22Z", want: "1970-01-01"},
		{in: "2100-02-29", kind: TypeMismatch},
		{in: "24-01-01", kind: TypeMismatch},
		{in: "Infinity", kind: TypeMismatch},
		{in: "2024-01-01T", kind: TypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := parseISODate([]byte(tt.in))
			if tt.kind != 0 {
				assert.ErrorIs(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.String())
		})
	}
	assert.Equal(t, topology.Date(19723), mustDate(t, "2024-01-01"))
}

func mustDate(t *testing.T, s string) topology.Date {
	d, err := parseISODate([]byte(s))
	require.NoError(t, err)
	return d
}

func TestEpochTimestamps(t *testing.T) {
	m := defaultMode
	schema := strings.ReplaceAll(m.valueSchema(tOrders), `"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"order_date"`, `"name":"io.debezium.time.MicroTimestamp","version":1,"field":"order_date"`)
	schema = strings.ReplaceAll(schema, `"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"updated_at"`, `"name":"io.debezium.time.NanoTimestamp","version":1,"field":"updated_at"`)
	schema = strings.ReplaceAll(schema, `{"type":"string","optional":false,"name":"io.debezium.time.MicroTimestamp"`, `{"type":"int64","optional":false,"name":"io.debezium.time.MicroTimestamp"`)
	schema = strings.ReplaceAll(schema, `{"type":"string","optional":false,"name":"io.debezium.time.NanoTimestamp"`, `{"type":"int64","optional":false,"name":"io.debezium.time.NanoTimestamp"`)
	row := `{"id":3,"customer_id":41,"status":"paid","channel":"web","currency":"EUR","order_date":1529507596945104,"updated_at":-1000}`
	d := NewDecoder(Options{})
	var ch Change
	require.NoError(t, d.Decode(m.topic(tOrders), []byte(`{"id":3}`), []byte(`{"schema":`+schema+`,"payload":`+m.payload(tOrders, "c", "null", row)+`}`), &ch))
	assert.Equal(t, "2018-06-20T15:13:16.945104Z", ch.After.Order.OrderDate.String())
	assert.Equal(t, topology.Timestamp(-1), ch.After.Order.UpdatedAt)

	row = strings.Replace(row, "1529507596945104", "9223372036825200000", 1)
	row = strings.Replace(row, "-1000", "-9223372036854775808", 1)
	require.NoError(t, d.Decode(m.topic(tOrders), []byte(`{"id":3}`), []byte(`{"schema":`+schema+`,"payload":`+m.payload(tOrders, "c", "null", row)+`}`), &ch))
	assert.Equal(t, "2106-02-07T06:28:15Z", ch.After.Order.OrderDate.String())
	assert.Equal(t, "1970-01-01T00:00:00Z", ch.After.Order.UpdatedAt.String())
}

// TestInfinity checks every numeric encoding Debezium uses for
// PostgreSQL's ±infinity (docs/debezium.md, Infinity; Debezium 3.6.1): each becomes
// the latest or earliest value the pipeline clamps to (ClickHouse
// DateTime's range), and the values next to the sentinels stay as they
// are.
func TestInfinity(t *testing.T) {
	const (
		maxTs = "2106-02-07T06:28:15Z"
		minTs = "1970-01-01T00:00:00Z"
	)
	assert.Equal(t, int64(math.MaxUint32), maxTimestamp.Time().Unix())
	assert.Equal(t, maxTs, maxTimestamp.String())
	assert.Equal(t, "2106-02-07", maxDate.String())

	timestamps := []struct {
		name string
		in   int64
		unit int64
		want string // RFC 3339 nano, or "" for an error
	}{
		{name: "MicroTimestamp infinity", in: 9223372036825200000, unit: 1, want: maxTs},
		{name: "MicroTimestamp -infinity", in: -9223372036832400000, unit: 1, want: minTs},
		{name: "Timestamp (ms) infinity", in: 9223372036825200, unit: 1000, want: maxTs},
		{name: "Timestamp (ms) -infinity", in: -9223372036832400, unit: 1000, want: minTs},
		{name: "NanoTimestamp infinity", in: math.MaxInt64, unit: -1000, want: maxTs},
		{name: "NanoTimestamp -infinity", in: math.MinInt64, unit: -1000, want: minTs},
		{name: "Long.MAX in µs", in: math.MaxInt64, unit: 1, want: maxTs},
		{name: "Long.MIN in ms", in: math.MinInt64, unit: 1000, want: minTs},
		{name: "µs next to the sentinel", in: 9223372036825199999, unit: 1, want: time.UnixMicro(9223372036825199999).UTC().Format(time.RFC3339Nano)},
		{name: "ms sentinel read as µs is finite", in: 9223372036825200, unit: 1, want: "2262-04-11T23:47:16.8252Z"},
		{name: "ms overflow", in: 1 << 62, unit: 1000},
	}
	for _, tt := range timestamps {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := epochToMicros(tt.in, tt.unit)
			if tt.want == "" {
				assert.ErrorIs(t, err, OutOfRange)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, ts.String())
		})
	}

	dates := []struct {
		name string
		in   int64
		want string // YYYY-MM-DD, or "" for an error
	}{
		{name: "streaming infinity", in: -2147472692, want: "2106-02-07"},
		{name: "streaming -infinity", in: -2147472691, want: "1970-01-01"},
		{name: "snapshot infinity", in: -622191234, want: "2106-02-07"},
		{name: "snapshot -infinity", in: -625821272, want: "1970-01-01"},
		{name: "snapshot infinity, JVM east of UTC", in: -622191233, want: "2106-02-07"},
		{name: "snapshot -infinity, JVM east of UTC", in: -625821271, want: "1970-01-01"},
		{name: "next to the streaming sentinels", in: -2147472693, want: topology.Date(-2147472693).String()},
		{name: "next to the snapshot sentinel", in: -622191235, want: topology.Date(-622191235).String()},
		{name: "finite", in: 19723, want: "2024-01-01"},
		{name: "beyond int32", in: 1 << 31},
		{name: "below int32", in: -1<<31 - 1},
	}
	for _, tt := range dates {
		t.Run(tt.name, func(t *testing.T) {
			d, err := epochToDate(tt.in)
			if tt.want == "" {
				assert.ErrorIs(t, err, OutOfRange)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.String())
		})
	}
}

func TestUnknownColumnReportedOnce(t *testing.T) {
	m := defaultMode
	var reported []string
	d := NewDecoder(Options{OnUnknownColumn: func(t topology.Table, col string) { reported = append(reported, t.String()+"."+col) }})
	row := `{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"D54=","discount":"AA==","note":"x"}`
	var ch Change
	for range 3 {
		require.NoError(t, d.Decode(m.topic(tItems), []byte(`{"id":7}`), []byte(m.payload(tItems, "c", "null", row)), &ch))
	}
	// With a schema that declares it, too.
	schema := strings.Replace(m.valueSchema(tItems), `{"type":"int64","optional":false,"field":"id"}`, `{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"extra"}`, 2)
	row2 := `{"id":7,"extra":"y","order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"D54=","discount":"AA=="}`
	for range 3 {
		require.NoError(t, d.Decode(m.topic(tItems), []byte(`{"id":7}`), []byte(`{"schema":`+schema+`,"payload":`+m.payload(tItems, "c", "null", row2)+`}`), &ch))
	}
	assert.Equal(t, []string{"order_items.note", "order_items.extra"}, reported)
	assert.Equal(t, int32(2), ch.After.OrderItem.Quantity)
}

func TestSchemaChangeIsFollowed(t *testing.T) {
	m := defaultMode
	d := NewDecoder(Options{})
	var ch Change
	precise := m.value(tItems, true, m.payload(tItems, "c", "null", orderItemRow))
	str := connectorMode{prefix: "ecommerce", decimal: "string"}.value(tItems, true, m.payload(tItems, "c", "null",
		`{"id":7,"order_id":3,"vehicle_id":12,"quantity":2,"unit_price":"12.34","discount":"0.00"}`))
	for i := range 4 {
		v, want := precise, "39.98"
		if i%2 == 1 {
			v, want = str, "12.34"
		}
		require.NoError(t, d.Decode(m.topic(tItems), []byte(`{"id":7}`), []byte(v), &ch))
		assert.Equal(t, want, ch.After.OrderItem.UnitPrice.String())
	}
}

func TestSnapshotValues(t *testing.T) {
	for in, want := range map[string]Snapshot{
		`"true"`: SnapshotTrue, `"first"`: SnapshotFirst, `"first_in_data_collection"`: SnapshotFirstInDataCollection,
		`"last_in_data_collection"`: SnapshotLastInDataCollection, `"last"`: SnapshotLast, `"false"`: SnapshotFalse,
		`"incremental"`: SnapshotIncremental, `true`: SnapshotTrue, `false`: SnapshotFalse, `null`: SnapshotNone, `"later"`: SnapshotUnknown,
	} {
		d := NewDecoder(Options{})
		var ch Change
		v := `{"after":` + orderItemRow + `,"source":{"ts_ms":1,"snapshot":` + in + `},"op":"r"}`
		require.NoError(t, d.Decode("order_items", []byte(`{"id":7}`), []byte(v), &ch), in)
		assert.Equal(t, want, ch.Snapshot, in)
	}
}

func TestDetach(t *testing.T) {
	m := defaultMode
	d := NewDecoder(Options{})
	value := []byte(m.value(tCust, true, m.payload(tCust, "u", strings.Replace(customerRow, `"Ana"`, `"A\u006ea"`, 1), customerRow)))
	var ch Change
	require.NoError(t, d.Decode(m.topic(tCust), []byte(`{"id":41}`), value, &ch))
	want := string(ch.AppendJSON(nil))
	ch.Detach()
	for i := range value {
		value[i] = 'x'
	}
	for i := range d.arena[:cap(d.arena)] {
		d.arena[:cap(d.arena)][i] = 'x'
	}
	assert.Equal(t, want, string(ch.AppendJSON(nil)))
	assert.Equal(t, "Ana", ch.Before.Customer.FirstName)
}

func TestZeroAllocs(t *testing.T) {
	m := defaultMode
	cases := map[string]struct {
		table topology.Table
		row   string
	}{
		"order_items": {tItems, orderItemRow},
		"orders":      {tOrders, orderRow},
		"vehicles":    {tVehicles, vehicleRow},
		"customers":   {tCust, customerRow},
		"payments":    {tPay, paymentRow},
	}
	for name, c := range cases {
		for _, schemas := range []bool{true, false} {
			key := []byte(m.key(c.table, schemas, "1"))
			value := []byte(m.value(c.table, schemas, m.payload(c.table, "u", c.row, c.row)))
			topic := m.topic(c.table)
			d := NewDecoder(Options{})
			var ch Change
			require.NoError(t, d.Decode(topic, key, value, &ch))
			allocs := testing.AllocsPerRun(100, func() {
				if err := d.Decode(topic, key, value, &ch); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs, "%s schemas=%v", name, schemas)
		}
	}
}

// TestZeroAllocsFixtures checks steady-state decoding of every captured
// record allocates nothing.
func TestZeroAllocsFixtures(t *testing.T) {
	for _, f := range loadFixtures(t) {
		d := NewDecoder(Options{})
		var ch Change
		require.NoError(t, d.Decode(f.topic, f.key, f.value, &ch), f.name)
		allocs := testing.AllocsPerRun(20, func() {
			if err := d.Decode(f.topic, f.key, f.value, &ch); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, f.name)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Kind: TypeMismatch, Path: "value.after.x", Detail: "expected a string"}
	assert.Equal(t, "type_mismatch: value.after.x: expected a string", e.Error())
	assert.Equal(t, MissingField, KindOf(errors.Join(errors.New("x"), &Error{Kind: MissingField})))
	for _, k := range ErrorKinds {
		assert.NotContains(t, k.String(), "(")
	}
}

// TestSkipUpdateBefore: with SkipUpdateBefore every captured record
// decodes as without it, except that an update whose after image has no
// unchanged column leaves its before image undecoded; an update with an
// unchanged TOAST column, and a delete, still decode it.
func TestSkipUpdateBefore(t *testing.T) {
	full := NewDecoder(Options{})
	lazy := NewDecoder(Options{SkipUpdateBefore: true})
	check := func(t *testing.T, name, topic string, key, value []byte) (skipped bool) {
		t.Helper()
		var want, got Change
		wantErr := full.Decode(topic, key, value, &want)
		gotErr := lazy.Decode(topic, key, value, &got)
		require.Equal(t, wantErr, gotErr, name)
		if wantErr != nil {
			return false
		}
		skipped = want.Kind == KindChange && want.Op == OpUpdate && want.Before.Valid && want.After.Unchanged == 0
		if skipped {
			assert.False(t, got.Before.Valid, name)
			got.Before = want.Before
		}
		assert.Equal(t, want, got, name)
		return skipped
	}
	skipped := 0
	for _, f := range loadFixtures(t) {
		if check(t, f.name, f.topic, f.key, f.value) {
			skipped++
		}
	}
	assert.Positive(t, skipped, "the captured updates have before images")

	// A FULL before image with an unchanged TOAST column after: decoded.
	for _, f := range loadFixtures(t) {
		if f.name != "fixture_off__vehicles__u" {
			continue
		}
		value := bytes.Replace(f.value, []byte(`"features":"{\"tow_bar\": true}","created_at":"2024-03-01T10:00:00.000000Z","updated_at":"2024-03-02`),
			[]byte(`"features":"__debezium_unavailable_value","created_at":"2024-03-01T10:00:00.000000Z","updated_at":"2024-03-02`), 1)
		require.NotEqual(t, f.value, value)
		assert.False(t, check(t, "toast", f.topic, f.key, value))
		var got Change
		require.NoError(t, lazy.Decode(f.topic, f.key, value, &got))
		require.True(t, got.Before.Valid)
		assert.Equal(t, `{"tow_bar": true}`, got.Before.Vehicle.Features.V)
		assert.NotZero(t, got.After.Unchanged)

		// Unless the caller stores the row, which the join rules then
		// read instead.
		var asked []int64
		stored := NewDecoder(Options{SkipUpdateBefore: true, Stored: func(tb topology.Table, id int64) bool {
			asked = append(asked, id)
			return tb == topology.TableVehicles && id == 100
		}})
		var st Change
		require.NoError(t, stored.Decode(f.topic, f.key, value, &st))
		assert.False(t, st.Before.Valid, "stored: not decoded")
		assert.Equal(t, []int64{100}, asked)
		require.NoError(t, stored.Decode(f.topic, f.key, bytes.Replace(value, []byte(`"id":100`), []byte(`"id":101`), -1), &st))
		assert.True(t, st.Before.Valid, "not stored: decoded")
		assert.Equal(t, int64(101), st.Before.Vehicle.ID)

		// A before image that is not JSON is still an error.
		bad := bytes.Replace(f.value, []byte(`"before":{`), []byte(`"before":{]`), 1)
		require.NotEqual(t, f.value, bad)
		var ch Change
		assert.Error(t, lazy.Decode(f.topic, f.key, bad, &ch))
	}
}
