package debezium

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

type benchMsg struct {
	name       string
	topic      string
	key, value []byte
}

// benchMessages returns captured inserts and updates (an update carries
// the full before and after images: REPLICA IDENTITY FULL) of order_items,
// orders and vehicles, schemas on (connector "fixture") and off
// ("fixture_off").
func benchMessages(tb testing.TB) []benchMsg {
	byName := map[string]fixture{}
	for _, f := range loadFixtures(tb) {
		byName[f.name] = f
	}
	var out []benchMsg
	for _, table := range []string{"order_items", "orders", "vehicles"} {
		for _, schemas := range []string{"on", "off"} {
			prefix := "fixture"
			if schemas == "off" {
				prefix = "fixture_off"
			}
			for _, op := range []string{"c", "u"} {
				f, ok := byName[prefix+"__"+table+"__"+op]
				if !ok {
					tb.Fatalf("fixture %s__%s__%s is missing (testdata/capture.sh)", prefix, table, op)
				}
				out = append(out, benchMsg{name: table + "/schemas=" + schemas + "/op=" + op, topic: f.topic, key: f.key, value: f.value})
			}
		}
	}
	return out
}

// BenchmarkDecode measures Decoder.Decode in steady state (schema cached).
// events/s = 1e9 / ns/op.
func BenchmarkDecode(b *testing.B) {
	for _, msg := range benchMessages(b) {
		b.Run(msg.name, func(b *testing.B) {
			d := NewDecoder(Options{})
			var ch Change
			if err := d.Decode(msg.topic, msg.key, msg.value, &ch); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(msg.key) + len(msg.value)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if err := d.Decode(msg.topic, msg.key, msg.value, &ch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodingJSON decodes the same records with encoding/json into
// mirror structs and converts them into the same topology rows: the
// baseline the hand-written decoder is compared with.
func BenchmarkEncodingJSON(b *testing.B) {
	for _, msg := range benchMessages(b) {
		b.Run(msg.name, func(b *testing.B) {
			var ch Change
			decode := stdDecoder(msg.topic)
			if err := decode(msg.key, msg.value, &ch); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(msg.key) + len(msg.value)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if err := decode(msg.key, msg.value, &ch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU adds the metric cpu-ns/op: the process's CPU time per
// iteration. On a shared machine wall time (ns/op) includes the time the
// benchmark waited for a CPU; CPU time does not. Use it as
// defer reportCPU(b)() just before the loop.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestEncodingJSONBaselineAgrees(t *testing.T) {
	for _, msg := range benchMessages(t) {
		var want, got Change
		if err := NewDecoder(Options{}).Decode(msg.topic, msg.key, msg.value, &want); err != nil {
			t.Fatal(err)
		}
		if err := stdDecoder(msg.topic)(msg.key, msg.value, &got); err != nil {
			t.Fatal(err)
		}
		if w, g := string(want.AppendJSON(nil)), string(got.AppendJSON(nil)); w != g {
			t.Errorf("%s:\nwant %s\ngot  %s", msg.name, w, g)
		}
	}
}

type stdSource struct {
	TsMs     int64   `json:"ts_ms"`
	Snapshot *string `json:"snapshot"`
	TxID     *int64  `json:"txId"`
	LSN      *int64  `json:"lsn"`
}

type stdEnvelope[R any] struct {
	Before *R        `json:"before"`
	After  *R        `json:"after"`
	Source stdSource `json:"source"`
	Op     string    `json:"op"`
}

// stdValue accepts both shapes: with schemas the members are schema and
// payload, without them the envelope members themselves.
type stdValue[R any] struct {
	Schema  json.RawMessage `json:"schema"`
	Payload *stdEnvelope[R] `json:"payload"`
	stdEnvelope[R]
}

type stdKey struct {
	ID      *int64 `json:"id"`
	Payload *struct {
		ID int64 `json:"id"`
	} `json:"payload"`
}

type stdOrderItem struct {
	ID        int64  `json:"id"`
	OrderID   int64  `json:"order_id"`
	VehicleID int64  `json:"vehicle_id"`
	Quantity  int32  `json:"quantity"`
	UnitPrice string `json:"unit_price"`
	Discount  string `json:"discount"`
}

type stdOrder struct {
	ID         int64  `json:"id"`
	CustomerID int64  `json:"customer_id"`
	Status     string `json:"status"`
	Channel    string `json:"channel"`
	Currency   string `json:"currency"`
	OrderDate  string `json:"order_date"`
	UpdatedAt  string `json:"updated_at"`
}

type stdVehicle struct {
	ID           int64   `json:"id"`
	VIN          string  `json:"vin"`
	Make         string  `json:"make"`
	Model        string  `json:"model"`
	ModelYear    int16   `json:"model_year"`
	BodyType     string  `json:"body_type"`
	FuelType     string  `json:"fuel_type"`
	Transmission string  `json:"transmission"`
	Color        *string `json:"color"`
	MileageKm    int32   `json:"mileage_km"`
	Condition    string  `json:"condition"`
	ListPrice    string  `json:"list_price"`
	CostPrice    *string `json:"cost_price"`
	StockStatus  string  `json:"stock_status"`
	Features     *string `json:"features"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
}

func stdDecimal(s string) (topology.Decimal, error) {
	u, err := decodeDecimalBytes([]byte(s))
	return topology.NewDecimal(u, 2), err
}

func stdTime(s string) (topology.Timestamp, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return topology.TimestampOf(t), err
}

func stdOpt[T any](p *T) topology.Opt[T] {
	if p == nil {
		return topology.Opt[T]{}
	}
	return topology.Some(*p)
}

func stdDecoder(topic string) func(key, value []byte, ch *Change) error {
	switch topology.TableNamed(topic[strings.LastIndexByte(topic, '.')+1:]) {
	case tItems:
		return stdDecode(topic, tItems, func(r *stdOrderItem, img *Image) error {
			up, err := stdDecimal(r.UnitPrice)
			if err != nil {
				return err
			}
			disc, err := stdDecimal(r.Discount)
			img.OrderItem = topology.OrderItem{ID: r.ID, OrderID: r.OrderID, VehicleID: r.VehicleID, Quantity: r.Quantity, UnitPrice: up, Discount: disc}
			return err
		})
	case tOrders:
		return stdDecode(topic, tOrders, func(r *stdOrder, img *Image) error {
			od, err := stdTime(r.OrderDate)
			if err != nil {
				return err
			}
			ua, err := stdTime(r.UpdatedAt)
			img.Order = topology.Order{ID: r.ID, CustomerID: r.CustomerID, Status: r.Status, Channel: r.Channel, Currency: r.Currency, OrderDate: od, UpdatedAt: ua}
			return err
		})
	default:
		return stdDecode(topic, tVehicles, func(r *stdVehicle, img *Image) error {
			lp, err := stdDecimal(r.ListPrice)
			if err != nil {
				return err
			}
			var cp topology.Opt[topology.Decimal]
			if r.CostPrice != nil {
				v, err := stdDecimal(*r.CostPrice)
				if err != nil {
					return err
				}
				cp = topology.Some(v)
			}
			ca, err := stdTime(r.CreatedAt)
			if err != nil {
				return err
			}
			ua, err := stdTime(r.UpdatedAt)
			if r.Features != nil && !json.Valid([]byte(*r.Features)) {
				return newError(TypeMismatch, "", "features")
			}
			img.Vehicle = topology.Vehicle{ID: r.ID, VIN: r.VIN, Make: r.Make, Model: r.Model, ModelYear: r.ModelYear, BodyType: r.BodyType,
				FuelType: r.FuelType, Transmission: r.Transmission, Color: stdOpt(r.Color), MileageKm: r.MileageKm, Condition: r.Condition,
				ListPrice: lp, CostPrice: cp, StockStatus: r.StockStatus, Features: stdOpt(r.Features), CreatedAt: ca, UpdatedAt: ua}
			return err
		})
	}
}

func stdDecode[R any](topic string, table topology.Table, conv func(*R, *Image) error) func(key, value []byte, ch *Change) error {
	return func(key, value []byte, ch *Change) error {
		ch.reset(topic)
		ch.Table = table
		var k stdKey
		if err := json.Unmarshal(key, &k); err != nil {
			return err
		}
		if k.Payload != nil {
			ch.Key = topology.Some(k.Payload.ID)
		} else {
			ch.Key = stdOpt(k.ID)
		}
		var v stdValue[R]
		if err := json.Unmarshal(value, &v); err != nil {
			return err
		}
		env := &v.stdEnvelope
		if v.Payload != nil {
			env = v.Payload
		}
		ch.Kind = KindChange
		ch.Op = Op(env.Op[0])
		ch.SourceTsMs = env.Source.TsMs
		ch.LSN, ch.TxID = stdOpt(env.Source.LSN), stdOpt(env.Source.TxID)
		if env.Source.Snapshot != nil {
			ch.Snapshot = parseSnapshot([]byte(*env.Source.Snapshot))
		}
		if env.Before != nil {
			ch.Before.Valid = true
			if err := conv(env.Before, &ch.Before); err != nil {
				return err
			}
		}
		if env.After != nil {
			ch.After.Valid = true
			if err := conv(env.After, &ch.After); err != nil {
				return err
			}
		}
		return nil
	}
}
