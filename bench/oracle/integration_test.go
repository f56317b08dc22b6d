//go:build integration

package oracle_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/bench/oracle"
	"github.com/drivetrain-cdc/drivetrain/deploy"
	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// scratchPostgres creates database name next to the stack's one, applies
// the source schema and returns a connection to it; the database is
// dropped when the test ends.
func scratchPostgres(t *testing.T, ctx context.Context, dsn, name string) *pgx.Conn {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err, "DRIVETRAIN_POSTGRES_DSN must be a URL")
	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err, "connecting to the stack's PostgreSQL")
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err, "creating a scratch database")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	})
	u.Path = "/" + name
	conn, err := pgx.Connect(ctx, u.String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, deploy.SchemaSQL)
	require.NoError(t, err, "applying the schema")
	return conn
}

// scratchClickHouse creates the output tables in a scratch database,
// dropped when the test ends.
func scratchClickHouse(t *testing.T, ctx context.Context, addr, name string) (*sinks.Client, *sinks.Schema) {
	t.Helper()
	ch, err := sinks.Dial(ctx, sinks.Config{Addr: addr, Database: name}, zerolog.Nop())
	require.NoError(t, err, "connecting to ClickHouse")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = ch.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
		_ = ch.Close()
	})
	schema, err := ch.EnsureSchema(ctx)
	require.NoError(t, err)
	return ch, schema
}

func at(s string) topology.Timestamp {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return topology.TimestampOf(ts)
}

func day(s string) topology.Date {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return topology.Date(d.Unix() / 86400)
}

func money(cents int64) topology.Decimal { return topology.NewDecimal(cents, 2) }

// data is the scenario: the same values go to PostgreSQL and, as
// Debezium would deliver them, to the ClickHouse mirrors (CHAR(n) values
// padded, JSONB as text).
type data struct {
	customers []topology.Customer
	vehicles  []topology.Vehicle
	orders    []topology.Order
	items     []topology.OrderItem
	payments  []topology.Payment
}

// bigFeatures is a JSONB value of about 30 kB (TOASTed in PostgreSQL),
// written with its keys unsorted and spaces that PostgreSQL's jsonb
// output drops.
func bigFeatures() string {
	var b strings.Builder
	b.WriteString(`{ "zeta": [1.50, 2e2, -0.0, "x\ty", null, true], "options": {`)
	for i := 400; i > 0; i-- {
		if i < 400 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"opt_%03d": {"on": %t, "price": %d.%02d, "label": "Ausstattung Nr. %d – élégant"}`, i, i%3 == 0, i*7, i%100, i)
	}
	b.WriteString(`}, "alpha": "first"}`)
	return b.String()
}

// scenario returns the edge cases (ids 1 to 3), then bulk rows with ids
// up to 250, whose order as text differs from their order as numbers and
// which span many pages.
func scenario() data {
	d := edgeCases()
	for i := int64(4); i <= 250; i++ {
		ts := at("2024-01-01T00:00:00Z") + topology.Timestamp(i*3_600_000_001)
		d.customers = append(d.customers, topology.Customer{ID: i, Email: fmt.Sprintf("c%d@example.com", i),
			FirstName: "Bulk", LastName: fmt.Sprint(i), City: "Valencia", Country: "ES", Segment: "retail",
			CreatedAt: ts, UpdatedAt: ts})
		d.orders = append(d.orders, topology.Order{ID: i, CustomerID: i, Status: "paid", Channel: "web",
			Currency: "EUR", OrderDate: ts, UpdatedAt: ts})
		d.items = append(d.items, topology.OrderItem{ID: i, OrderID: i, VehicleID: i%3 + 1, Quantity: int32(i % 4),
			UnitPrice: money(i * 101), Discount: money(i)})
		status := "approved"
		if i%2 == 1 {
			status = "pending"
		}
		d.payments = append(d.payments, topology.Payment{ID: i + 1, OrderID: i, Amount: money(i * 50), Method: "cash",
			Status: status, CreatedAt: ts})
	}
	return d
}

func edgeCases() data {
	return data{
		customers: []topology.Customer{
			{ID: 1, Email: "jose@example.com", FirstName: "José", LastName: "Müller-Lüdenscheidt", City: "Zürich\tOst",
				Country: "ES", Segment: "retail", BirthDate: topology.Some(day("1950-03-04")),
				CreatedAt: at("2024-01-02T03:04:05.678901Z"), UpdatedAt: at("2024-01-02T03:04:05.678901Z")},
			{ID: 2, Email: "ana@example.com", FirstName: "Ana", LastName: "García", Phone: topology.Some("+34 600 000 000"),
				City: "Madrid", Region: topology.Some("Comunidad de Madrid"), Country: "ES", Segment: "business",
				CreatedAt: at("1965-05-05T12:00:00.5Z"), UpdatedAt: at("2200-01-01T00:00:00Z")},
			{ID: 3, Email: "li@example.com", FirstName: "李", LastName: "小龍", Phone: topology.Some(""),
				City: "Line1\nLine2 \\ back 'quoted'", Region: topology.Some(""), Country: "CN", Segment: "fleet",
				BirthDate: topology.Some(day("1901-06-15")),
				CreatedAt: at("2024-06-30T23:59:59.999999Z"), UpdatedAt: at("2024-07-01T00:00:00Z")},
		},
		vehicles: []topology.Vehicle{
			{ID: 1, VIN: "SHORTVIN         ", Make: "Škoda", Model: "Octavia", ModelYear: 2021, BodyType: "wagon",
				FuelType: "diesel", Transmission: "manual", MileageKm: 45000, Condition: "used",
				ListPrice: money(2000000), StockStatus: "available", Features: topology.Some(bigFeatures()),
				CreatedAt: at("2023-01-01T00:00:00Z"), UpdatedAt: at("2024-02-02T02:02:02.020202Z")},
			{ID: 2, VIN: "WVWZZZ1JZXW000001", Make: "Tesla", Model: "Model 3", ModelYear: 2023, BodyType: "sedan",
				FuelType: "electric", Transmission: "automatic", Color: topology.Some("rojo"), MileageKm: 0,
				Condition: "new", ListPrice: money(1), CostPrice: topology.Some(money(-15025)), StockStatus: "reserved",
				Features:  topology.Some(`{"b": 1, "a": [1.50, "x"]}`),
				CreatedAt: at("2023-05-05T05:05:05Z"), UpdatedAt: at("2023-05-05T05:05:05Z")},
			{ID: 3, VIN: "JH4KA8260MC000003", Make: "Honda", Model: "Legend", ModelYear: 1991, BodyType: "sedan",
				FuelType: "petrol", Transmission: "automatic", MileageKm: 310000, Condition: "certified",
				ListPrice: money(350000), CostPrice: topology.Some(money(0)), StockStatus: "sold",
				CreatedAt: at("2020-01-01T00:00:00Z"), UpdatedAt: at("2020-01-01T00:00:00Z")},
		},
		orders: []topology.Order{
			{ID: 1, CustomerID: 1, Status: "paid", Channel: "web", Currency: "EU ",
				OrderDate: at("2024-03-01T10:00:00.999999Z"), UpdatedAt: at("2024-03-02T00:00:00Z")},
			{ID: 2, CustomerID: 2, Status: "confirmed", Channel: "dealer", Currency: "USD",
				OrderDate: at("1969-07-20T20:17:40Z"), UpdatedAt: at("2024-03-03T00:00:00Z")},
			{ID: 3, CustomerID: 3, Status: "pending", Channel: "mobile", Currency: "CNY",
				OrderDate: at("2024-05-05T05:05:05Z"), UpdatedAt: at("2024-05-05T05:05:05Z")},
		},
		items: []topology.OrderItem{
			{ID: 1, OrderID: 1, VehicleID: 1, Quantity: 2, UnitPrice: money(2000000), Discount: money(50050)},
			{ID: 2, OrderID: 1, VehicleID: 2, Quantity: 1, UnitPrice: money(1), Discount: money(0)},
			{ID: 3, OrderID: 2, VehicleID: 1, Quantity: 3, UnitPrice: money(-10000), Discount: money(0)},
		},
		payments: []topology.Payment{
			{ID: 1, OrderID: 1, Amount: money(1000000), Method: "credit_card", Status: "approved",
				PaidAt: topology.Some(at("2024-03-02T00:00:00.123Z")), CreatedAt: at("2024-03-01T10:00:01Z")},
			{ID: 2, OrderID: 1, Amount: money(500), Method: "cash", Status: "rejected", CreatedAt: at("2024-03-01T10:00:02Z")},
			{ID: 3, OrderID: 2, Amount: money(5000), Method: "bank_transfer", Status: "approved",
				PaidAt: topology.Some(at("2024-03-03T00:00:00Z")), CreatedAt: at("2024-03-03T00:00:00Z")},
			{ID: 4, OrderID: 3, Amount: money(100), Method: "financing", Status: "approved",
				PaidAt: topology.Some(at("2024-05-05T05:05:06Z")), CreatedAt: at("2024-05-05T05:05:06Z")},
		},
	}
}

func opt[T any](o topology.Opt[T], f func(T) any) any {
	if !o.Valid {
		return nil
	}
	return f(o.V)
}

func decText(d topology.Decimal) any              { return d.String() }
func tsTime(ts topology.Timestamp) any            { return ts.Time() }
func dateTime(d topology.Date) any                { return d.Time() }
func str(s string) any                            { return s }
func decOpt(o topology.Opt[topology.Decimal]) any { return opt(o, decText) }

func insertPostgres(t *testing.T, ctx context.Context, conn *pgx.Conn, d data) {
	t.Helper()
	b := &pgx.Batch{}
	exec := func(sql string, args ...any) { b.Queue(sql, args...) }
	for _, c := range d.customers {
		exec(`INSERT INTO customers VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::date, $11, $12)`,
			c.ID, c.Email, c.FirstName, c.LastName, opt(c.Phone, str), c.City, opt(c.Region, str), c.Country, c.Segment,
			opt(c.BirthDate, dateTime), tsTime(c.CreatedAt), tsTime(c.UpdatedAt))
	}
	for _, v := range d.vehicles {
		exec(`INSERT INTO vehicles VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
			$12::text::numeric, $13::text::numeric, $14, $15::text::jsonb, $16, $17)`,
			v.ID, v.VIN, v.Make, v.Model, v.ModelYear, v.BodyType, v.FuelType, v.Transmission, opt(v.Color, str),
			v.MileageKm, v.Condition, decText(v.ListPrice), decOpt(v.CostPrice), v.StockStatus, opt(v.Features, str),
			tsTime(v.CreatedAt), tsTime(v.UpdatedAt))
	}
	for _, o := range d.orders {
		exec(`INSERT INTO orders VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			o.ID, o.CustomerID, o.Status, o.Channel, o.Currency, tsTime(o.OrderDate), tsTime(o.UpdatedAt))
	}
	for _, it := range d.items {
		exec(`INSERT INTO order_items VALUES ($1, $2, $3, $4, $5::text::numeric, $6::text::numeric)`,
			it.ID, it.OrderID, it.VehicleID, it.Quantity, decText(it.UnitPrice), decText(it.Discount))
	}
	for _, p := range d.payments {
		exec(`INSERT INTO payments VALUES ($1, $2, $3::text::numeric, $4, $5, $6, $7)`,
			p.ID, p.OrderID, decText(p.Amount), p.Method, p.Status, opt(p.PaidAt, tsTime), tsTime(p.CreatedAt))
	}
	require.NoError(t, conn.SendBatch(ctx, b).Close(), "inserting the scenario")
}

// expectedFacts computes sales_facts from the scenario, independently of
// the oracle's SQL.
func expectedFacts(d data) []topology.Fact {
	total := map[int64]int64{}
	paid := map[int64]int64{}
	for i := range d.items {
		total[d.items[i].OrderID] += topology.LineTotal(&d.items[i])
	}
	for _, p := range d.payments {
		if p.Status == "approved" {
			paid[p.OrderID] += topology.Cents(p.Amount)
		}
	}
	var out []topology.Fact
	for i := range d.items {
		it := &d.items[i]
		var o topology.Order
		for _, x := range d.orders {
			if x.ID == it.OrderID {
				o = x
			}
		}
		f := topology.Fact{
			OrderItemID: it.ID, OrderID: o.ID, OrderDate: o.OrderDate, OrderStatus: o.Status, Channel: o.Channel,
			Currency: o.Currency, CustomerID: o.CustomerID, VehicleID: it.VehicleID, Quantity: it.Quantity,
			UnitPrice: it.UnitPrice, Discount: it.Discount, LineTotal: money(topology.LineTotal(it)),
			OrderTotal: money(total[o.ID]), OrderPaid: money(paid[o.ID]),
			PaymentStatus: topology.PaymentStatus(paid[o.ID], total[o.ID]),
			UpdatedAt:     o.UpdatedAt, Version: 1,
		}
		for _, c := range d.customers {
			if c.ID == o.CustomerID {
				f.CustomerName, f.CustomerEmail, f.CustomerCity = c.FirstName+" "+c.LastName, c.Email, c.City
				f.CustomerRegion, f.CustomerCountry, f.CustomerSegment = c.Region.V, c.Country, c.Segment
			}
		}
		for _, v := range d.vehicles {
			if v.ID == it.VehicleID {
				f.VIN, f.Make, f.Model, f.ModelYear = v.VIN, v.Make, v.Model, v.ModelYear
				f.BodyType, f.FuelType, f.Condition, f.ListPrice = v.BodyType, v.FuelType, v.Condition, v.ListPrice
			}
		}
		out = append(out, f)
	}
	return out
}

func writeMirror(t *testing.T, ctx context.Context, s *sinks.Schema, tb topology.Table, rows ...topology.Mirror) {
	t.Helper()
	require.NoError(t, s.MirrorWriter(tb).Write(ctx, rows))
}

func mirrors(version uint64, rows ...topology.Row) []topology.Mirror {
	out := make([]topology.Mirror, len(rows))
	for i, r := range rows {
		out[i] = topology.Mirror{Row: r, Version: version}
	}
	return out
}

func writeClickHouse(t *testing.T, ctx context.Context, s *sinks.Schema, d data) {
	t.Helper()
	var rows []topology.Row
	for _, c := range d.customers {
		rows = append(rows, topology.CustomerRow(c))
	}
	writeMirror(t, ctx, s, topology.TableCustomers, mirrors(1, rows...)...)
	rows = nil
	for _, v := range d.vehicles {
		rows = append(rows, topology.VehicleRow(v))
	}
	writeMirror(t, ctx, s, topology.TableVehicles, mirrors(1, rows...)...)
	rows = nil
	for _, o := range d.orders {
		rows = append(rows, topology.OrderRow(o))
	}
	writeMirror(t, ctx, s, topology.TableOrders, mirrors(1, rows...)...)
	rows = nil
	for _, it := range d.items {
		rows = append(rows, topology.ItemRow(it))
	}
	writeMirror(t, ctx, s, topology.TableOrderItems, mirrors(1, rows...)...)
	rows = nil
	for _, p := range d.payments {
		rows = append(rows, topology.PaymentRow(p))
	}
	writeMirror(t, ctx, s, topology.TablePayments, mirrors(1, rows...)...)
	require.NoError(t, s.FactWriter().Write(ctx, expectedFacts(d)))
}

// differences is what a TableResult says beyond its counts of rows.
type differences struct {
	Missing, Extra, Differing int64
	MissingKeys, ExtraKeys    []string
	Diffs                     []oracle.RowDiff
}

func diffsOf(tr *oracle.TableResult) differences {
	return differences{tr.Missing, tr.Extra, tr.Differing, tr.MissingKeys, tr.ExtraKeys, tr.Diffs}
}

func TestIntegrationOracle(t *testing.T) {
	dsn, chAddr := os.Getenv("DRIVETRAIN_POSTGRES_DSN"), os.Getenv("DRIVETRAIN_CLICKHOUSE_URL")
	if dsn == "" || chAddr == "" {
		t.Skip("DRIVETRAIN_POSTGRES_DSN and DRIVETRAIN_CLICKHOUSE_URL must be set (source .stack/env after `make stack-up`)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name := fmt.Sprintf("oracle_test_%d", time.Now().UnixNano())
	pg := scratchPostgres(t, ctx, dsn, name)
	ch, schema := scratchClickHouse(t, ctx, chAddr, name)
	t.Logf("clickhouse %s, layout of customers: %v", ch.ServerVersion(), schema.Mirror(topology.TableCustomers).Columns)

	d := scenario()
	insertPostgres(t, ctx, pg, d)
	writeClickHouse(t, ctx, schema, d)

	counts, err := oracle.CountRows(ctx, pg, "")
	require.NoError(t, err)
	n := func(k int) int64 { return int64(k) }
	wantCounts := map[string]int64{"customers": n(len(d.customers)), "vehicles": n(len(d.vehicles)), "orders": n(len(d.orders)),
		"order_items": n(len(d.items)), "payments": n(len(d.payments)), "sales_facts_current": n(len(d.items))}
	assert.Equal(t, wantCounts, counts)

	// Equal, read in one page and in many (keyset pagination).
	for _, pageRows := range []int{0, 7} {
		res, err := oracle.Compare(ctx, pg, ch, oracle.Options{PageRows: pageRows})
		require.NoError(t, err)
		require.True(t, res.OK(), "page rows %d:\n%s", pageRows, res)
		require.Len(t, res.Tables, len(oracle.Tables))
		for i, tr := range res.Tables {
			assert.Equal(t, oracle.Tables[i], tr.Table)
			assert.Equal(t, counts[tr.Table], tr.PGRows, tr.Table)
			assert.Equal(t, counts[tr.Table], tr.CHRows, tr.Table)
		}
		if pageRows == 0 {
			t.Logf("page rows %d:\n%s", pageRows, res)
		}
	}

	// Corrupt ClickHouse with newer versions and extra rows, and change
	// PostgreSQL behind its back.
	c2 := d.customers[1]
	c2.City = "Sevilla"
	c1 := d.customers[0]
	c1.BirthDate = topology.Some(day("1950-03-05"))
	c1.CreatedAt += 1e6 // a second later
	writeMirror(t, ctx, schema, topology.TableCustomers, mirrors(2, topology.CustomerRow(c1), topology.CustomerRow(c2))...)
	v2 := d.vehicles[1]
	v2.Features = topology.Some(`{"a": [1.5, "x"], "b": 2}`)
	writeMirror(t, ctx, schema, topology.TableVehicles, mirrors(2, topology.VehicleRow(v2))...)
	writeMirror(t, ctx, schema, topology.TablePayments,
		topology.Mirror{Row: topology.PaymentRow(d.payments[1]), Version: 2, Deleted: true})
	extraVehicle := d.vehicles[2]
	extraVehicle.ID = 99
	extraVehicle.VIN = "EXTRAVIN000000099"
	writeMirror(t, ctx, schema, topology.TableVehicles, mirrors(1, topology.VehicleRow(extraVehicle))...)
	o1 := d.orders[0]
	o1.Currency = "EU" // unpadded: not what Debezium sends for CHAR(3)
	writeMirror(t, ctx, schema, topology.TableOrders, mirrors(2, topology.OrderRow(o1))...)
	facts := expectedFacts(d)
	f1 := facts[0]
	f1.OrderTotal, f1.Version = money(topology.Cents(f1.OrderTotal)+1), 2
	f3 := facts[2]
	f3.Deleted, f3.Version = true, 2
	extraFact := facts[1]
	extraFact.OrderID, extraFact.OrderItemID = 3, 9998
	require.NoError(t, schema.FactWriter().Write(ctx, []topology.Fact{f1, f3, extraFact}))
	_, err = pg.Exec(ctx, "UPDATE customers SET phone = NULL WHERE id = 3")
	require.NoError(t, err)

	res, err := oracle.Compare(ctx, pg, ch, oracle.Options{PageRows: 60})
	require.NoError(t, err)
	t.Logf("after corrupting:\n%s", res)
	assert.False(t, res.OK())
	want := map[string]differences{
		"customers": {Differing: 3, Diffs: []oracle.RowDiff{
			{Key: "id=1", Columns: []oracle.ColumnDiff{
				{Column: "birth_date", PG: "1950-03-04", CH: "1950-03-05"},
				{Column: "created_at", PG: createdAt(ch, "2024-01-02 03:04:05"), CH: createdAt(ch, "2024-01-02 03:04:06")},
			}},
			{Key: "id=2", Columns: []oracle.ColumnDiff{{Column: "city", PG: `"Madrid"`, CH: `"Sevilla"`}}},
			{Key: "id=3", Columns: []oracle.ColumnDiff{{Column: "phone", PG: "NULL", CH: `""`}}},
		}},
		"vehicles": {Extra: 1, ExtraKeys: []string{"id=99"}, Differing: 1, Diffs: []oracle.RowDiff{
			{Key: "id=2", Columns: []oracle.ColumnDiff{{Column: "features", PG: `"{\"a\":[1.5,\"x\"],\"b\":1}"`, CH: `"{\"a\":[1.5,\"x\"],\"b\":2}"`}}},
		}},
		"orders": {Differing: 1, Diffs: []oracle.RowDiff{
			{Key: "id=1", Columns: []oracle.ColumnDiff{{Column: "currency", PG: `"EU "`, CH: `"EU"`}}},
		}},
		"order_items": {},
		"payments":    {Missing: 1, MissingKeys: []string{"id=2"}},
		"sales_facts_current": {Missing: 1, Extra: 1, Differing: 1,
			MissingKeys: []string{"order_id=2 order_item_id=3"},
			ExtraKeys:   []string{"order_id=3 order_item_id=9998"},
			Diffs: []oracle.RowDiff{{Key: "order_id=1 order_item_id=1", Columns: []oracle.ColumnDiff{
				{Column: "order_total", PG: "39499.51", CH: "39499.52"},
			}}},
		},
	}
	for _, name := range oracle.Tables {
		tr := res.Table(name)
		require.NotNil(t, tr, name)
		assert.Equal(t, want[name], diffsOf(tr), name)
	}
	assert.Equal(t, int64(1), res.Table("payments").CHDeleted)
	assert.Equal(t, wantCounts["payments"]-1, res.Table("payments").CHRows)
	out := res.String()
	assert.Contains(t, out, "oracle: MISMATCH in 5 of 6 tables (customers, vehicles, orders, payments, sales_facts_current)\n")
	assert.Contains(t, out, "  differing id=2: city pg=\"Madrid\" ch=\"Sevilla\";\n")
	assert.Contains(t, out, "  missing order_id=2 order_item_id=3 (in postgresql, not in clickhouse)\n")
	assert.Contains(t, out, "  extra id=99 (in clickhouse, not in postgresql)\n")

	// CompareURLs dials both sides itself; MaxDiffs bounds what is kept.
	res, err = oracle.CompareURLs(ctx, pgDSN(t, dsn, name), sinks.Config{Addr: chAddr, Database: name}, oracle.Options{MaxDiffs: 1})
	require.NoError(t, err)
	assert.Len(t, res.Table("customers").Diffs, 1, "MaxDiffs bounds the rows kept")
	assert.Equal(t, int64(3), res.Table("customers").Differing)
	assert.Contains(t, res.String(), "  … and 2 more differing rows\n")
}

// createdAt is how a timestamp compared at whole seconds prints for
// customers.created_at: with microseconds on servers with DateTime64.
func createdAt(ch *sinks.Client, seconds string) string {
	if ch.ServerVersion().AtLeast(20, 1) {
		return seconds + ".678901"
	}
	return seconds
}

func pgDSN(t *testing.T, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}
