//go:build integration

package sinks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Integration tests run against DRIVETRAIN_CLICKHOUSE_URL (the local
// stack's http://127.0.0.1:18123, ClickHouse 18.16) and, when set,
// DRIVETRAIN_CLICKHOUSE_NATIVE_URL (clickhouse://host:9000 of a server
// recent enough for ch-go). Each test works in a database of its own,
// dropped at the end.

const (
	envURL       = "DRIVETRAIN_CLICKHOUSE_URL"
	envNativeURL = "DRIVETRAIN_CLICKHOUSE_NATIVE_URL"
)

func clickhouseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		t.Skip(envURL + " is not set (source .stack/env after make stack-up)")
	}
	return u
}

// transports returns the addresses to run a round trip against.
func transports(t *testing.T) map[string]string {
	out := map[string]string{"http": clickhouseURL(t)}
	if u := os.Getenv(envNativeURL); u != "" {
		out["native"] = u
	}
	return out
}

func scratchName() string { return fmt.Sprintf("drivetrain_test_%x", rand.Uint64()) }

// scratchClient dials addr with a fresh database, dropped when the test
// ends.
func scratchClient(t testing.TB, addr string, edit func(*Config)) *Client {
	t.Helper()
	cfg := Config{Addr: addr, Database: scratchName(), Retry: RetryConfig{MaxElapsed: 10 * time.Second}}
	if edit != nil {
		edit(&cfg)
	}
	ctx := context.Background()
	c, err := Dial(ctx, cfg, zerolog.Nop())
	if errors.Is(err, ErrUnsupportedServer) {
		t.Skipf("%s: %v", addr, err)
	}
	require.NoError(t, err, "ClickHouse at %s is set but unreachable", addr)
	t.Cleanup(func() {
		assert.NoError(t, c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+c.Database()))
		assert.NoError(t, c.Close())
	})
	return c
}

func queryRows(t *testing.T, c *Client, sql string, ncols int) [][]string {
	t.Helper()
	rows, err := c.query(context.Background(), sql, ncols)
	require.NoError(t, err, sql)
	return rows
}

// cents parses a decimal as servers print it ("-12.50", "-12.5", "3").
func cents(t *testing.T, s string) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + "00")[:2]
	neg := strings.HasPrefix(whole, "-")
	w, err := strconv.ParseInt(strings.TrimPrefix(whole, "-"), 10, 64)
	require.NoError(t, err, s)
	f, err := strconv.ParseInt(frac, 10, 64)
	require.NoError(t, err, s)
	v := w*100 + f
	if neg {
		v = -v
	}
	return v
}

func TestIntegrationEnsureSchemaIdempotent(t *testing.T) {
	c := scratchClient(t, clickhouseURL(t), nil)
	ctx := context.Background()

	_, err := c.CheckSchema(ctx)
	var sm *SchemaMismatchError
	require.ErrorAs(t, err, &sm, "nothing exists yet")
	assert.False(t, IsRetryable(err))

	s1, err := c.EnsureSchema(ctx)
	require.NoError(t, err)
	s2, err := c.EnsureSchema(ctx)
	require.NoError(t, err, "a second run changes nothing")
	assert.Equal(t, s1.tables, s2.tables)
	_, err = c.CheckSchema(ctx)
	require.NoError(t, err)

	rows := queryRows(t, c, "SELECT name, engine FROM system.tables WHERE database = "+quoteString(c.Database())+" ORDER BY name", 2)
	assert.Equal(t, [][]string{
		{"customers", "ReplacingMergeTree"}, {"order_items", "ReplacingMergeTree"}, {"orders", "ReplacingMergeTree"},
		{"payments", "ReplacingMergeTree"}, {"sales_facts", "ReplacingMergeTree"}, {"sales_facts_current", "View"},
		{"vehicles", "ReplacingMergeTree"},
	}, rows)
	// The layout follows the server's version.
	l := layoutFor(c.ServerVersion())
	assert.Equal(t, l, s1.Mirror(topology.TableCustomers).layout)
	assert.Equal(t, c.Database()+".sales_facts", s1.Facts().Name)
	t.Logf("ClickHouse %s: layout %+v", c.ServerVersion(), l)
}

func TestIntegrationTableSuffix(t *testing.T) {
	c := scratchClient(t, clickhouseURL(t), func(cfg *Config) { cfg.TableSuffix = "replay1" })
	s, err := c.EnsureSchema(context.Background())
	require.NoError(t, err)
	assert.Equal(t, c.Database()+".sales_facts_replay1", s.Facts().Name)
	assert.Equal(t, c.Database()+".payments_replay1", s.Mirror(topology.TablePayments).Name)
	assert.Equal(t, c.Database()+".sales_facts_current_replay1", s.View())
	require.NoError(t, s.FactWriter().Write(context.Background(), sampleFacts()))
	rows := queryRows(t, c, "SELECT toString(count()) FROM "+s.View(), 1)
	assert.Equal(t, [][]string{{"1"}}, rows, "one live fact (the other is deleted)")
}

func TestIntegrationFactsRoundTrip(t *testing.T) {
	for name, addr := range transports(t) {
		for _, comp := range []string{"none", "lz4"} {
			t.Run(name+"/"+comp, func(t *testing.T) {
				c := scratchClient(t, addr, func(cfg *Config) { cfg.Compression = comp })
				ctx := context.Background()
				s, err := c.EnsureSchema(ctx)
				require.NoError(t, err)
				w := s.FactWriter()
				facts := sampleFacts()
				require.NoError(t, w.Write(ctx, facts[:1]))
				require.NoError(t, w.Write(ctx, facts[1:])) // the block is reused
				require.NoError(t, w.Write(ctx, nil))

				var sel []string
				for _, col := range factColumns {
					switch {
					case strings.HasPrefix(col.Type, "DateTime"):
						sel = append(sel, "toString(toUnixTimestamp("+col.Name+"))")
					default:
						sel = append(sel, "toString("+col.Name+")")
					}
				}
				rows := queryRows(t, c, "SELECT "+strings.Join(sel, ", ")+" FROM "+s.Facts().Name+" ORDER BY order_item_id DESC", len(sel))
				require.Len(t, rows, 2)
				for i, f := range facts {
					got := map[string]string{}
					for j, col := range factColumns {
						got[col.Name] = rows[i][j]
					}
					assert.Equal(t, strconv.FormatInt(f.OrderItemID, 10), got["order_item_id"])
					assert.Equal(t, strconv.FormatInt(int64(seconds(f.OrderDate)), 10), got["order_date"])
					assert.Equal(t, strconv.FormatInt(int64(seconds(f.UpdatedAt)), 10), got["updated_at"])
					assert.Equal(t, f.CustomerName, got["customer_name"])
					assert.Equal(t, f.CustomerCity, got["customer_city"])
					assert.Equal(t, f.Make, got["make"])
					assert.Equal(t, f.VIN, got["vin"])
					assert.Equal(t, strconv.Itoa(int(f.ModelYear)), got["model_year"])
					assert.Equal(t, strconv.Itoa(int(f.Quantity)), got["quantity"])
					for col, d := range map[string]topology.Decimal{
						"list_price": f.ListPrice, "unit_price": f.UnitPrice, "discount": f.Discount,
						"line_total": f.LineTotal, "order_total": f.OrderTotal, "order_paid": f.OrderPaid,
					} {
						assert.Equal(t, topology.Cents(d), cents(t, got[col]), "%s of fact %d", col, f.OrderItemID)
					}
					assert.Equal(t, strconv.FormatUint(f.Version, 10), got["_version"])
					assert.Equal(t, strconv.Itoa(int(boolByte(f.Deleted))), got["_deleted"])
				}
			})
		}
	}
}

func TestIntegrationMirrorRoundTrip(t *testing.T) {
	for name, addr := range transports(t) {
		t.Run(name, func(t *testing.T) {
			c := scratchClient(t, addr, nil)
			ctx := context.Background()
			s, err := c.EnsureSchema(ctx)
			require.NoError(t, err)

			customers := sampleMirrors()
			customers[2].Row.Customer.Region = topology.Some("Región\t\"x\"\n")
			vehicles := []topology.Mirror{
				{Row: topology.VehicleRow(topology.Vehicle{
					ID: 1, VIN: "VF1RFB00X12345678", Make: "Renault", Model: "Clio", ModelYear: 2019, MileageKm: 42000,
					ListPrice: money(1299900), CostPrice: topology.Some(money(-1)), Features: topology.Some(`{"seats": 5, "ñ": [1, 2]}`),
					CreatedAt: tsOf("2024-01-01T00:00:00.654321Z"), UpdatedAt: tsOf("2024-01-02T00:00:00Z"),
				}), Version: 10},
				{Row: topology.VehicleRow(topology.Vehicle{ID: 2, ListPrice: money(0)}), Version: 11, Deleted: true},
			}
			payments := []topology.Mirror{
				{Row: topology.PaymentRow(topology.Payment{ID: 1, OrderID: 1, Amount: money(-2500), Method: "cash", Status: "refunded",
					PaidAt: topology.Some(tsOf("2024-05-05T05:05:05.5Z")), CreatedAt: tsOf("2024-05-05T05:00:00Z")}), Version: 5},
				{Row: topology.PaymentRow(topology.Payment{ID: 2, OrderID: 1, Amount: money(1), CreatedAt: tsOf("2024-05-06T00:00:00Z")}), Version: 6},
			}
			require.NoError(t, s.MirrorWriter(topology.TableCustomers).Write(ctx, customers))
			require.NoError(t, s.MirrorWriter(topology.TableVehicles).Write(ctx, vehicles))
			require.NoError(t, s.MirrorWriter(topology.TablePayments).Write(ctx, payments))
			require.NoError(t, s.MirrorWriter(topology.TableOrders).Write(ctx, []topology.Mirror{
				{Row: topology.OrderRow(topology.Order{ID: 1, CustomerID: 1, Status: "paid", Channel: "web", Currency: "EUR",
					OrderDate: tsOf("2024-05-05T00:00:00Z"), UpdatedAt: tsOf("2024-05-05T00:00:01Z")}), Version: 7},
			}))
			require.NoError(t, s.MirrorWriter(topology.TableOrderItems).Write(ctx, []topology.Mirror{
				{Row: topology.ItemRow(topology.OrderItem{ID: 1, OrderID: 1, VehicleID: 1, Quantity: 1, UnitPrice: money(1299900), Discount: money(-50)}), Version: 8},
			}))
			err = s.MirrorWriter(topology.TableOrders).Write(ctx, payments)
			require.ErrorIs(t, err, ErrWrongTable)

			micros := s.Mirror(topology.TableCustomers).layout.micros
			ts := func(col string) string {
				if micros {
					return "ifNull(toString(toUnixTimestamp64Micro(" + col + ")), 'NULL')"
				}
				return "ifNull(toString(toUnixTimestamp(" + col + ")), 'NULL')"
			}
			want := func(v topology.Timestamp) string {
				if micros {
					return strconv.FormatInt(int64(v), 10)
				}
				return strconv.FormatInt(int64(seconds(v)), 10)
			}
			str := func(col string) string { return "ifNull(toString(" + col + "), 'NULL')" }

			rows := queryRows(t, c, "SELECT "+strings.Join([]string{str("id"), str("last_name"), str("phone"), str("region"),
				str("birth_date"), ts("created_at"), ts("updated_at"), str("_version"), str("_deleted")}, ", ")+
				" FROM "+s.Mirror(topology.TableCustomers).Name+" ORDER BY id", 9)
			assert.Equal(t, [][]string{
				{"1", "Núñez", "+34 600", "NULL", "1950-11-02", want(customers[0].Row.Customer.CreatedAt), want(customers[0].Row.Customer.UpdatedAt), "42", "0"},
				{"2", "", "NULL", "NULL", "2022-01-08", want(0), want(0), "43", "1"},
				{"3", "", "NULL", "Región\t\"x\"\n", "NULL", want(0), want(0), "44", "0"},
			}, rows)

			rows = queryRows(t, c, "SELECT "+strings.Join([]string{str("id"), str("vin"), str("model_year"), str("mileage_km"),
				str("list_price"), str("cost_price"), str("features"), ts("created_at")}, ", ")+
				" FROM "+s.Mirror(topology.TableVehicles).Name+" ORDER BY id", 8)
			require.Len(t, rows, 2)
			assert.Equal(t, []string{"1", "VF1RFB00X12345678", "2019", "42000"}, rows[0][:4])
			assert.Equal(t, int64(1299900), cents(t, rows[0][4]))
			assert.Equal(t, int64(-1), cents(t, rows[0][5]))
			assert.Equal(t, `{"seats": 5, "ñ": [1, 2]}`, rows[0][6])
			assert.Equal(t, want(vehicles[0].Row.Vehicle.CreatedAt), rows[0][7])
			assert.Equal(t, []string{"2", "", "0", "0"}, rows[1][:4])
			assert.Equal(t, []string{"NULL", "NULL"}, rows[1][5:7])

			rows = queryRows(t, c, "SELECT "+strings.Join([]string{str("id"), str("amount"), str("method"), ts("paid_at"), ts("created_at")}, ", ")+
				" FROM "+s.Mirror(topology.TablePayments).Name+" ORDER BY id", 5)
			require.Len(t, rows, 2)
			assert.Equal(t, int64(-2500), cents(t, rows[0][1]))
			assert.Equal(t, []string{"cash", want(payments[0].Row.Payment.PaidAt.V), want(payments[0].Row.Payment.CreatedAt)}, rows[0][2:])
			assert.Equal(t, "NULL", rows[1][3])

			rows = queryRows(t, c, "SELECT toString(id), currency, "+ts("order_date")+" FROM "+s.Mirror(topology.TableOrders).Name, 3)
			assert.Equal(t, [][]string{{"1", "EUR", want(tsOf("2024-05-05T00:00:00Z"))}}, rows)
			rows = queryRows(t, c, "SELECT toString(id), toString(discount) FROM "+s.Mirror(topology.TableOrderItems).Name, 2)
			require.Len(t, rows, 1)
			assert.Equal(t, int64(-50), cents(t, rows[0][1]))
		})
	}
}

func TestIntegrationSchemaMismatchReported(t *testing.T) {
	c := scratchClient(t, clickhouseURL(t), nil)
	ctx := context.Background()
	db := c.Database()
	require.NoError(t, c.Exec(ctx, "CREATE DATABASE "+db))
	// A sales_facts table someone made by hand, wrongly.
	var cols []string
	for _, col := range factColumns {
		switch col.Name {
		case "vin":
			continue
		case "order_total":
			col.Type = "Decimal(12, 2)"
		case "order_date":
			col.Type = "DateTime"
		case "quantity":
			col.Type = "Int64"
		}
		cols = append(cols, col.Name+" "+col.Type)
	}
	cols = append(cols, "note String", "ingested_at DateTime DEFAULT now()")
	require.NoError(t, c.Exec(ctx, "CREATE TABLE "+db+".sales_facts ("+strings.Join(cols, ", ")+
		") ENGINE = MergeTree() PARTITION BY toYYYYMM(order_date) ORDER BY (order_id, order_item_id)"))

	_, err := c.EnsureSchema(ctx)
	var sm *SchemaMismatchError
	require.ErrorAs(t, err, &sm)
	assert.False(t, IsRetryable(err))
	assert.Equal(t, db, sm.Database)
	assert.Equal(t, []SchemaDiff{
		{Table: "sales_facts", Want: "engine ReplacingMergeTree(_version)", Got: "engine MergeTree()"},
		{Table: "sales_facts", Column: "order_date", Want: "DateTime('UTC')", Got: "DateTime"},
		{Table: "sales_facts", Column: "vin", Want: "String"},
		{Table: "sales_facts", Column: "quantity", Want: "Int32", Got: "Int64"},
		{Table: "sales_facts", Column: "order_total", Want: "Decimal(18, 2)", Got: "Decimal(12, 2)"},
		{Table: "sales_facts", Column: "note", Got: "String"},
	}, sm.Diffs)
	t.Log(err)

	// The other tables were created and pass; fixing the table fixes the
	// check.
	require.NoError(t, c.Exec(ctx, "DROP TABLE "+db+".sales_facts"))
	require.NoError(t, c.Exec(ctx, "DROP TABLE "+db+".sales_facts_current"))
	_, err = c.EnsureSchema(ctx)
	require.NoError(t, err)
}

func TestIntegrationCurrentView(t *testing.T) {
	c := scratchClient(t, clickhouseURL(t), nil)
	ctx := context.Background()
	s, err := c.EnsureSchema(ctx)
	require.NoError(t, err)
	w := s.FactWriter()
	fact := func(id int64, status string, version uint64, deleted bool) topology.Fact {
		return topology.Fact{OrderItemID: id, OrderID: 1, OrderDate: tsOf("2024-06-01T10:00:00Z"), OrderStatus: status,
			Version: version, Deleted: deleted, OrderTotal: money(100)}
	}
	// Each Write is its own part: FINAL must merge across them.
	require.NoError(t, w.Write(ctx, []topology.Fact{fact(1, "pending", 10, false), fact(2, "pending", 10, false), fact(3, "pending", 10, false)}))
	require.NoError(t, w.Write(ctx, []topology.Fact{fact(2, "paid", 20, false), fact(3, "cancelled", 20, true)}))
	require.NoError(t, w.Write(ctx, []topology.Fact{fact(1, "stale", 5, false)})) // an older version arriving late
	require.NoError(t, w.Write(ctx, []topology.Fact{fact(4, "pending", 1, true), fact(4, "pending", 2, false)}))

	rows := queryRows(t, c, "SELECT toString(order_item_id), order_status, toString(_version) FROM "+s.View()+" ORDER BY order_item_id", 3)
	assert.Equal(t, [][]string{{"1", "pending", "10"}, {"2", "paid", "20"}, {"4", "pending", "2"}}, rows)
}

func TestIntegrationBatcherToWriter(t *testing.T) {
	c := scratchClient(t, clickhouseURL(t), nil)
	ctx := context.Background()
	s, err := c.EnsureSchema(ctx)
	require.NoError(t, err)
	b := NewBatcher[FactKey](BatchConfig{MaxRows: 3}, FactSize, FactVersion)
	w := s.FactWriter()
	facts := benchFacts(10)
	var written []Token
	for i, f := range facts {
		f.OrderItemID = int64(i%4 + 1) // keys repeat: coalesced within a batch
		f.OrderID = f.OrderItemID
		f.OrderDate = facts[0].OrderDate // an order's date never changes: one partition
		if b.Add(FactKeyOf(&f), f, Token{Source: 0, Seq: int64(i)}) {
			batch := b.Take()
			require.NoError(t, w.Write(ctx, batch.Rows))
			written = append(written, batch.Tokens...)
			b.Recycle(batch)
		}
	}
	if batch := b.Take(); batch != nil {
		require.NoError(t, w.Write(ctx, batch.Rows))
		written = append(written, batch.Tokens...)
	}
	assert.Equal(t, Token{Source: 0, Seq: 9}, written[len(written)-1], "the last batch acknowledges the last input")
	rows := queryRows(t, c, "SELECT toString(count()) FROM "+s.View(), 1)
	assert.Equal(t, [][]string{{"4"}}, rows)
}

func TestIntegrationAuthFailure(t *testing.T) {
	addr := clickhouseURL(t)
	_, err := Dial(context.Background(), Config{Addr: addr, User: "drivetrain_no_such_user", Password: "hunter2"}, zerolog.Nop())
	require.Error(t, err)
	assert.True(t, IsAuthError(err), "%v", err)
	assert.False(t, IsRetryable(err))
	assert.NotContains(t, err.Error(), "hunter2")
	t.Log(err)
}

func TestIntegrationUnreachableIsRetryable(t *testing.T) {
	clickhouseURL(t)
	// A port nothing listens on (the discard port on loopback).
	_, err := Dial(context.Background(), Config{Addr: "http://127.0.0.1:9", DialTimeout: time.Second}, zerolog.Nop())
	require.Error(t, err)
	assert.True(t, IsRetryable(err), "%v", err)
}

// BenchmarkIntegrationInsertNull inserts facts over the transport into an
// ENGINE = Null copy of sales_facts: the server parses the block and
// discards it, so this measures the client, the transport and the
// server's parsing, not storage.
func BenchmarkIntegrationInsertNull(b *testing.B) {
	addr := clickhouseURL(b)
	for _, comp := range []string{"none", "lz4"} {
		for _, n := range []int{1_000, 50_000} {
			b.Run(fmt.Sprintf("%s/rows=%d", comp, n), func(b *testing.B) {
				c := scratchClient(b, addr, func(cfg *Config) { cfg.Compression = comp })
				ctx := context.Background()
				require.NoError(b, c.Exec(ctx, createDatabaseSQL(c.n)))
				l := layoutFor(c.ServerVersion())
				require.NoError(b, c.Exec(ctx, createTableSQL(c.n, outFacts, l, "Null")))
				s := &Schema{c: c, tables: map[output]*TableInfo{outFacts: {Name: c.n.qualified(FactsTable), Columns: factColumns, layout: l}}}
				w := s.FactWriter()
				facts := benchFacts(n)
				require.NoError(b, w.Write(ctx, facts))
				b.SetBytes(int64(len(w.w.s.buf.Buf)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := w.Write(ctx, facts); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
