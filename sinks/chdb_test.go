package sinks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// The Python virtual environment with chdb-core that `make chdb-venv`
// (a prerequisite of `make unit`) installs, and the file where it leaves
// pip's error when the package cannot be installed; relative to this
// package's folder.
const (
	chdbPython     = "../.stack/venv-chdb/bin/python"
	chdbInstallErr = "../.stack/chdb-install.err"
)

// chdbServerVersion is the version the fake server reports to the client
// that encodes the blocks; the test checks that the server chdb embeds
// gets the same column layout.
const chdbServerVersion = "26.9.2"

// chdbResult is what testdata/chdb_check.py prints.
type chdbResult struct {
	Version string                `json:"version"`
	Tables  [][]string            `json:"tables"`
	Columns [][]string            `json:"columns"`
	Files   [][][2]string         `json:"files"`
	Reports map[string][][]string `json:"reports"`
	Queries map[string][][]string `json:"queries"`
}

// skipWithoutChdb skips when chdb-core could not be installed on this
// machine (with pip's error), or when `make chdb-venv` has not run.
func skipWithoutChdb(t *testing.T) {
	t.Helper()
	if msg, err := os.ReadFile(chdbInstallErr); err == nil {
		t.Skipf("chdb-core could not be installed (make chdb-venv):\n%s", tail(string(msg), 2000))
	}
	if _, err := os.Stat(chdbPython); err != nil {
		t.Skipf("no chdb virtual environment (%v): run make chdb-venv (make test does)", err)
	}
}

// runChdb runs testdata/chdb_check.py on manifest m.
func runChdb(t *testing.T, m map[string]any) chdbResult {
	t.Helper()
	manifest := filepath.Join(t.TempDir(), "manifest.json")
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(manifest, b, 0o644))
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(chdbPython, filepath.Join("testdata", "chdb_check.py"), manifest)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "chdb_check.py failed:\n%s", stderr.String())
	var res chdbResult
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res), "chdb_check.py printed:\n%s", stdout.String())
	return res
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestChdbCurrentServer runs deploy/clickhouse/schema.sql and queries.sql
// on a current ClickHouse (chDB, in process) and loads into it the Native
// blocks the sink posts for every output table: the blocks are captured
// from the HTTP transport's requests, written to files and inserted with
// the writer's own INSERT head. Facts replaced by a higher version, a
// stale version arriving after a newer one, and tombstones check that
// sales_facts_current and the reports see FINAL, live rows only.
func TestChdbCurrentServer(t *testing.T) {
	skipWithoutChdb(t)
	ctx := context.Background()
	f := newFakeHTTP(t, chdbServerVersion)
	c, err := Dial(ctx, Config{Addr: f.srv.URL, Database: DefaultDatabase}, zerolog.Nop())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	// The tables as EnsureSchema finds them on a new server of that
	// version: in its preferred layout.
	l := layoutFor(c.ServerVersion())
	s := &Schema{c: c, tables: map[output]*TableInfo{}}
	for _, o := range outputs {
		s.tables[o] = &TableInfo{Name: c.n.qualified(o.baseName()), Columns: o.columns(l), layout: l}
	}

	// Each Write is one request: one block, one part on the server.
	facts := s.FactWriter()
	for _, batch := range chdbFacts() {
		require.NoError(t, facts.Write(ctx, batch))
	}
	mirrors := map[topology.Table]*MirrorWriter{}
	for _, batch := range chdbMirrors() {
		tb := batch[0].Row.Table
		if mirrors[tb] == nil {
			mirrors[tb] = s.MirrorWriter(tb)
		}
		require.NoError(t, mirrors[tb].Write(ctx, batch))
	}

	dir := t.TempDir()
	var inserts []map[string]string
	var inserted []string // table of each insert
	for i, r := range f.received() {
		head, ok := strings.CutSuffix(r.query, " FORMAT Native")
		require.True(t, ok, "query %q", r.query)
		path := filepath.Join(dir, fmt.Sprintf("block%03d.native", i))
		require.NoError(t, os.WriteFile(path, r.body, 0o644))
		inserts = append(inserts, map[string]string{"query": head, "file": path})
		table := strings.TrimPrefix(strings.Fields(head)[2], DefaultDatabase+".")
		inserted = append(inserted, table)
	}
	for _, o := range outputs {
		assert.Contains(t, inserted, o.baseName(), "no block for %s", o.baseName())
	}

	root, err := filepath.Abs("..")
	require.NoError(t, err)
	res := runChdb(t, map[string]any{
		"schema":   filepath.Join(root, "deploy", "clickhouse", "schema.sql"),
		"reports":  filepath.Join(root, "deploy", "clickhouse", "queries.sql"),
		"database": DefaultDatabase,
		"inserts":  inserts,
		// The dashboard's queries in queries.sql take parameters.
		"params": map[string]string{
			"now": "2024-04-02 12:00:00", "from": "2024-03-01 00:00:00", "to": "2024-05-01 00:00:00",
			"bucket": "month", "email": "zoe@example.com", "order_id": "101",
		},
		"queries": map[string]string{
			"facts_current": "SELECT * FROM drivetrain.sales_facts_current ORDER BY order_id, order_item_id",
			"customers":     "SELECT * FROM drivetrain.customers FINAL ORDER BY id",
			"vehicles":      "SELECT * FROM drivetrain.vehicles FINAL ORDER BY id",
			"orders":        "SELECT * FROM drivetrain.orders FINAL ORDER BY id",
			"order_items":   "SELECT * FROM drivetrain.order_items FINAL ORDER BY id",
			"payments":      "SELECT * FROM drivetrain.payments FINAL ORDER BY id",
		},
	})
	t.Logf("chdb runs ClickHouse %s", res.Version)

	t.Run("schema", func(t *testing.T) {
		// The server chdb embeds gets the layout the blocks were encoded
		// in, and its tables pass the schema check EnsureSchema runs.
		v, err := ParseVersion(res.Version)
		require.NoError(t, err)
		assert.Equal(t, l, layoutFor(v), "chdb's ClickHouse %s takes another layout than %s", v, chdbServerVersion)
		assert.Equal(t, modernLayout, l)
		have := map[string]*existing{}
		for _, r := range res.Tables {
			have[r[0]] = &existing{engine: r[1], engineFull: r[2], sortingKey: r[3]}
		}
		for _, r := range res.Columns {
			if ex := have[r[0]]; ex != nil {
				ex.columns = append(ex.columns, existingColumn{name: r[1], typ: r[2], defaultKind: r[3]})
			}
		}
		for _, o := range outputs {
			ex := have[o.baseName()]
			require.NotNil(t, ex, "schema.sql created no %s", o.baseName())
			got, diffs := match(o.baseName(), o, ex, layoutsFor(v))
			assert.Empty(t, diffs, "%s", o.baseName())
			assert.Equal(t, l, got, "%s", o.baseName())
		}
		require.NotNil(t, have[FactsViewTable])
		assert.Equal(t, "View", have[FactsViewTable].engine)
	})

	t.Run("block columns", func(t *testing.T) {
		// The server reads every block's columns with the types of the
		// table they go into: nothing is converted on the way.
		want := map[string][][2]string{}
		for _, r := range res.Columns {
			want[r[0]] = append(want[r[0]], [2]string{r[1], r[2]})
		}
		require.Len(t, res.Files, len(inserted))
		for i, cols := range res.Files {
			assert.Equal(t, want[inserted[i]], cols, "block %d, into %s", i, inserted[i])
		}
	})

	t.Run("rows", func(t *testing.T) {
		for name, want := range chdbWantRows {
			assert.Equal(t, want, res.Queries[name], "%s", name)
		}
	})

	t.Run("reports", func(t *testing.T) {
		// Every query of queries.sql ran (the script stops at the first
		// that fails); the canned reports give the expected rows.
		for _, r := range Reports {
			assert.Contains(t, res.Reports, r.Name, "report %s is not in queries.sql", r.Name)
		}
		require.Len(t, chdbWantReports, len(Reports))
		for name, want := range chdbWantReports {
			assert.Equal(t, want, res.Reports[name], "report %s", name)
		}
	})
}

func dateOf(s string) topology.Date { return topology.Date(utc(s+"T00:00:00Z").Unix() / 86400) }

// chdbFacts returns two batches of facts: the second replaces a fact of
// the first with a higher version, brings a stale version of another
// (lower than the one stored) and a tombstone of a third.
func chdbFacts() [][]topology.Fact {
	zoe := topology.Fact{
		CustomerID: 1, CustomerName: "Zoë Ångström", CustomerEmail: "zoe@example.com",
		CustomerCity: "Málaga", CustomerRegion: "Andalucía", CustomerCountry: "ES", CustomerSegment: "retail",
	}
	octavia := func(f topology.Fact) topology.Fact {
		f.VehicleID, f.VIN, f.Make, f.Model, f.ModelYear = 1, "TMBJJ7NE1L0000001", "Škoda", "Octavia", 2021
		f.BodyType, f.FuelType, f.Condition, f.ListPrice = "wagon", "diesel", "used", money(1999900)
		return f
	}
	tesla := func(f topology.Fact) topology.Fact {
		f.VehicleID, f.VIN, f.Make, f.Model, f.ModelYear = 2, "5YJ3E7EA1KF000002", "Tesla", "Model 3", 2024
		f.BodyType, f.FuelType, f.Condition, f.ListPrice = "sedan", "electric", "new", money(4200000)
		return f
	}
	// Order 100: one item, confirmed and unpaid, then paid.
	o100 := zoe
	o100.OrderID, o100.OrderDate, o100.Channel, o100.Currency = 100, tsOf("2024-03-05T10:11:12.999999Z"), "web", "EUR"
	a := octavia(o100)
	a.OrderItemID, a.Quantity, a.UnitPrice, a.Discount, a.LineTotal, a.OrderTotal = 1000, 1, money(1950000), money(50000), money(1900000), money(1900000)
	a.OrderStatus, a.OrderPaid, a.PaymentStatus, a.UpdatedAt, a.Version = "confirmed", money(0), "unpaid", tsOf("2024-03-05T10:11:13Z"), 100
	a2 := a
	a2.OrderStatus, a2.OrderPaid, a2.PaymentStatus, a2.UpdatedAt, a2.Version = "paid", money(1900000), "paid", tsOf("2024-03-06T08:00:00.5Z"), 200

	// Order 101: two items, one of them deleted later.
	o101 := topology.Fact{
		OrderID: 101, OrderDate: tsOf("2024-04-01T23:59:59.999999Z"), OrderStatus: "confirmed", Channel: "mobile", Currency: "NOK",
		CustomerID: 2, CustomerName: "Ola Nordmann", CustomerEmail: "ola@example.no",
		CustomerCity: "Bergen", CustomerCountry: "NO", CustomerSegment: "business",
		OrderPaid: money(1000000), PaymentStatus: "partial",
	}
	b := tesla(o101)
	b.OrderItemID, b.Quantity, b.UnitPrice, b.Discount, b.LineTotal, b.OrderTotal = 1001, 2, money(4100000), money(0), money(8200000), money(8200000)
	b.UpdatedAt, b.Version = tsOf("2024-04-02T09:00:00Z"), 300
	stale := b // an older version of b, arriving after it
	stale.Quantity, stale.LineTotal, stale.OrderTotal, stale.CustomerCity, stale.Version = 9, money(36900000), money(38900000), "Oslo", 250
	c := octavia(o101)
	c.OrderItemID, c.Quantity, c.UnitPrice, c.Discount, c.LineTotal, c.OrderTotal = 1002, 1, money(2000000), money(0), money(2000000), money(10200000)
	c.UpdatedAt, c.Version = tsOf("2024-04-01T23:59:59.999999Z"), 150
	tomb := c
	tomb.UpdatedAt, tomb.Version, tomb.Deleted = tsOf("2024-04-02T09:00:00Z"), 400, true

	// Order 102: cancelled, in another month.
	d := tesla(zoe)
	d.OrderItemID, d.OrderID, d.OrderDate, d.OrderStatus, d.Channel, d.Currency = 1003, 102, tsOf("2024-02-10T12:00:00Z"), "cancelled", "dealer", "EUR"
	d.Quantity, d.UnitPrice, d.Discount, d.LineTotal, d.OrderTotal = 1, money(4200000), money(100000), money(4100000), money(4100000)
	d.OrderPaid, d.PaymentStatus, d.UpdatedAt, d.Version = money(0), "unpaid", tsOf("2024-02-11T00:00:00Z"), 160

	return [][]topology.Fact{{a, b, c, d}, {a2, stale, tomb}}
}

// chdbMirrors returns batches of mirror rows, each of one table; later
// batches replace and delete rows of earlier ones.
func chdbMirrors() [][]topology.Mirror {
	created := tsOf("2023-01-02T03:04:05.123456Z")
	customer := func(c topology.Customer, version uint64, deleted bool) topology.Mirror {
		c.CreatedAt = created
		if c.UpdatedAt == 0 {
			c.UpdatedAt = created
		}
		return topology.Mirror{Row: topology.CustomerRow(c), Version: version, Deleted: deleted}
	}
	zoe := topology.Customer{
		ID: 1, Email: "zoe@example.com", FirstName: "Zoë", LastName: "Ångström", City: "Málaga",
		Region: topology.Some("Andalucía"), Country: "ES", Segment: "retail", BirthDate: topology.Some(dateOf("1961-07-04")),
	}
	ola := topology.Customer{
		ID: 2, Email: "ola@example.no", FirstName: "Ola", LastName: "Nordmann", Phone: topology.Some("+47 400 00 000"),
		City: "Oslo", Country: "NO", Segment: "business",
	}
	ola2 := ola
	ola2.City, ola2.UpdatedAt = "Bergen", tsOf("2024-01-01T00:00:00.000001Z")
	fleet := topology.Customer{ID: 3, Email: "fleet@example.com", FirstName: "Fleet", LastName: "Co", City: "Lyon", Country: "FR", Segment: "fleet"}

	vehicle := func(v topology.Vehicle, version uint64, deleted bool) topology.Mirror {
		v.CreatedAt, v.UpdatedAt = created, created
		return topology.Mirror{Row: topology.VehicleRow(v), Version: version, Deleted: deleted}
	}
	octavia := topology.Vehicle{
		ID: 1, VIN: "TMBJJ7NE1L0000001", Make: "Škoda", Model: "Octavia", ModelYear: 2021, BodyType: "wagon",
		FuelType: "diesel", Transmission: "manual", Color: topology.Some("grey"), MileageKm: 41000, Condition: "used",
		ListPrice: money(1999900), StockStatus: "available", Features: topology.Some(`{"seats": 5, "tow_bar": true}`),
	}
	sold := octavia
	sold.StockStatus = "sold"
	tesla := topology.Vehicle{
		ID: 2, VIN: "5YJ3E7EA1KF000002", Make: "Tesla", Model: "Model 3", ModelYear: 2024, BodyType: "sedan",
		FuelType: "electric", Transmission: "automatic", Condition: "new", ListPrice: money(4200000),
		CostPrice: topology.Some(money(3600050)), StockStatus: "available",
	}
	fiat := topology.Vehicle{
		ID: 3, VIN: "ZFA3120000J000003", Make: "Fiat", Model: "500", ModelYear: 2019, BodyType: "hatchback",
		FuelType: "petrol", Transmission: "manual", MileageKm: 60500, Condition: "certified",
		ListPrice: money(999000), StockStatus: "available",
	}

	order := func(o topology.Order, version uint64) topology.Mirror {
		return topology.Mirror{Row: topology.OrderRow(o), Version: version}
	}
	o100 := topology.Order{ID: 100, CustomerID: 1, Status: "confirmed", Channel: "web", Currency: "EUR",
		OrderDate: tsOf("2024-03-05T10:11:12.999999Z"), UpdatedAt: tsOf("2024-03-05T10:11:13Z")}
	o100paid := o100
	o100paid.Status, o100paid.UpdatedAt = "paid", tsOf("2024-03-06T08:00:00.5Z")
	o101 := topology.Order{ID: 101, CustomerID: 2, Status: "confirmed", Channel: "mobile", Currency: "NOK",
		OrderDate: tsOf("2024-04-01T23:59:59.999999Z"), UpdatedAt: tsOf("2024-04-01T23:59:59.999999Z")}
	o102 := topology.Order{ID: 102, CustomerID: 1, Status: "cancelled", Channel: "dealer", Currency: "EUR",
		OrderDate: tsOf("2024-02-10T12:00:00Z"), UpdatedAt: tsOf("2024-02-11T00:00:00Z")}

	item := func(i topology.OrderItem, version uint64, deleted bool) topology.Mirror {
		return topology.Mirror{Row: topology.ItemRow(i), Version: version, Deleted: deleted}
	}
	i1002 := topology.OrderItem{ID: 1002, OrderID: 101, VehicleID: 1, Quantity: 1, UnitPrice: money(2000000), Discount: money(0)}

	payment := func(p topology.Payment, version uint64) topology.Mirror {
		return topology.Mirror{Row: topology.PaymentRow(p), Version: version}
	}

	return [][]topology.Mirror{
		{customer(zoe, 10, false), customer(ola, 11, false), customer(fleet, 12, false)},
		{customer(ola2, 20, false), customer(fleet, 21, true)},
		{vehicle(octavia, 10, false), vehicle(tesla, 11, false), vehicle(fiat, 12, false)},
		{vehicle(sold, 20, false), vehicle(fiat, 30, true)},
		{order(o100, 10), order(o101, 11), order(o102, 12)},
		{order(o100paid, 20)},
		{
			item(topology.OrderItem{ID: 1000, OrderID: 100, VehicleID: 1, Quantity: 1, UnitPrice: money(1950000), Discount: money(50000)}, 10, false),
			item(topology.OrderItem{ID: 1001, OrderID: 101, VehicleID: 2, Quantity: 2, UnitPrice: money(4100000), Discount: money(0)}, 11, false),
			item(i1002, 12, false),
			item(topology.OrderItem{ID: 1003, OrderID: 102, VehicleID: 2, Quantity: 1, UnitPrice: money(4200000), Discount: money(100000)}, 13, false),
		},
		{item(i1002, 20, true)},
		{
			payment(topology.Payment{ID: 1, OrderID: 100, Amount: money(1900000), Method: "credit_card", Status: "approved",
				PaidAt: topology.Some(tsOf("2024-03-06T08:00:00.5Z")), CreatedAt: tsOf("2024-03-06T07:59:00Z")}, 10),
			payment(topology.Payment{ID: 2, OrderID: 101, Amount: money(1000000), Method: "financing", Status: "approved",
				PaidAt: topology.Some(tsOf("2024-04-02T09:00:00Z")), CreatedAt: tsOf("2024-04-02T08:00:00Z")}, 11),
			payment(topology.Payment{ID: 3, OrderID: 101, Amount: money(500000), Method: "bank_transfer", Status: "pending",
				CreatedAt: tsOf("2024-04-02T08:30:00.000001Z")}, 12),
		},
	}
}

// chNull is how JSONCompactStrings shows NULL.
const chNull = "ᴺᵁᴸᴸ"

// chdbWantRows are the rows chdb returns for the queries of the test: the
// live facts, and every row of each mirror table after FINAL (deleted
// ones too, with _deleted = 1). Fact 1000 is its version 200; 1001 keeps
// version 300 over the stale 250 inserted after it; 1002's tombstone
// (version 400) hides it. DateTime64 and Date32 columns keep microseconds
// and dates before 1970; Decimal shows no trailing zeros on current
// servers.
var chdbWantRows = map[string][][]string{
	"facts_current": {
		{
			"1000", "100", "2024-03-05 10:11:12", "paid", "web", "EUR",
			"1", "Zoë Ångström", "zoe@example.com", "Málaga", "Andalucía", "ES", "retail",
			"1", "TMBJJ7NE1L0000001", "Škoda", "Octavia", "2021", "wagon", "diesel", "used", "19999",
			"1", "19500", "500", "19000", "19000", "19000", "paid",
			"2024-03-06 08:00:00", "200", "0",
		},
		{
			"1001", "101", "2024-04-01 23:59:59", "confirmed", "mobile", "NOK",
			"2", "Ola Nordmann", "ola@example.no", "Bergen", "", "NO", "business",
			"2", "5YJ3E7EA1KF000002", "Tesla", "Model 3", "2024", "sedan", "electric", "new", "42000",
			"2", "41000", "0", "82000", "82000", "10000", "partial",
			"2024-04-02 09:00:00", "300", "0",
		},
		{
			"1003", "102", "2024-02-10 12:00:00", "cancelled", "dealer", "EUR",
			"1", "Zoë Ångström", "zoe@example.com", "Málaga", "Andalucía", "ES", "retail",
			"2", "5YJ3E7EA1KF000002", "Tesla", "Model 3", "2024", "sedan", "electric", "new", "42000",
			"1", "42000", "1000", "41000", "41000", "0", "unpaid",
			"2024-02-11 00:00:00", "160", "0",
		},
	},
	"customers": {
		{"1", "zoe@example.com", "Zoë", "Ångström", chNull, "Málaga", "Andalucía", "ES", "retail", "1961-07-04", "2023-01-02 03:04:05.123456", "2023-01-02 03:04:05.123456", "10", "0"},
		{"2", "ola@example.no", "Ola", "Nordmann", "+47 400 00 000", "Bergen", chNull, "NO", "business", chNull, "2023-01-02 03:04:05.123456", "2024-01-01 00:00:00.000001", "20", "0"},
		{"3", "fleet@example.com", "Fleet", "Co", chNull, "Lyon", chNull, "FR", "fleet", chNull, "2023-01-02 03:04:05.123456", "2023-01-02 03:04:05.123456", "21", "1"},
	},
	"vehicles": {
		{"1", "TMBJJ7NE1L0000001", "Škoda", "Octavia", "2021", "wagon", "diesel", "manual", "grey", "41000", "used", "19999", chNull, "sold", "{\"seats\": 5, \"tow_bar\": true}", "2023-01-02 03:04:05.123456", "2023-01-02 03:04:05.123456", "20", "0"},
		{"2", "5YJ3E7EA1KF000002", "Tesla", "Model 3", "2024", "sedan", "electric", "automatic", chNull, "0", "new", "42000", "36000.5", "available", chNull, "2023-01-02 03:04:05.123456", "2023-01-02 03:04:05.123456", "11", "0"},
		{"3", "ZFA3120000J000003", "Fiat", "500", "2019", "hatchback", "petrol", "manual", chNull, "60500", "certified", "9990", chNull, "available", chNull, "2023-01-02 03:04:05.123456", "2023-01-02 03:04:05.123456", "30", "1"},
	},
	"orders": {
		{"100", "1", "paid", "web", "EUR", "2024-03-05 10:11:12.999999", "2024-03-06 08:00:00.500000", "20", "0"},
		{"101", "2", "confirmed", "mobile", "NOK", "2024-04-01 23:59:59.999999", "2024-04-01 23:59:59.999999", "11", "0"},
		{"102", "1", "cancelled", "dealer", "EUR", "2024-02-10 12:00:00.000000", "2024-02-11 00:00:00.000000", "12", "0"},
	},
	"order_items": {
		{"1000", "100", "1", "1", "19500", "500", "10", "0"},
		{"1001", "101", "2", "2", "41000", "0", "11", "0"},
		{"1002", "101", "1", "1", "20000", "0", "20", "1"},
		{"1003", "102", "2", "1", "42000", "1000", "13", "0"},
	},
	"payments": {
		{"1", "100", "19000", "credit_card", "approved", "2024-03-06 08:00:00.500000", "2024-03-06 07:59:00.000000", "10", "0"},
		{"2", "101", "10000", "financing", "approved", "2024-04-02 09:00:00.000000", "2024-04-02 08:00:00.000000", "11", "0"},
		{"3", "101", "5000", "bank_transfer", "pending", chNull, "2024-04-02 08:30:00.000001", "12", "0"},
	},
}

// chdbWantReports are the results of drivetrain's canned reports
// (sinks.Reports): cancelled order 102 brings no revenue, deleted vehicle
// 3 is not in the inventory.
var chdbWantReports = map[string][][]string{
	"sales-by-day": {
		{"2024-04-01", "1", "2", "82000"},
		{"2024-03-05", "1", "1", "19000"},
	},
	"make-model": {
		{"Tesla", "Model 3", "1", "2", "82000"},
		{"Škoda", "Octavia", "1", "1", "19000"},
	},
	"city-segment": {
		{"Bergen", "business", "1", "1", "82000"},
		{"Málaga", "retail", "1", "1", "19000"},
	},
	"payments": {
		{"101", "2024-04-01 23:59:59", "Ola Nordmann", "confirmed", "82000", "10000", "partial"},
		{"100", "2024-03-05 10:11:12", "Zoë Ångström", "paid", "19000", "19000", "paid"},
		{"102", "2024-02-10 12:00:00", "Zoë Ångström", "cancelled", "41000", "0", "unpaid"},
	},
	"inventory": {
		{"available", "1", "1", "42000"},
		{"sold", "1", "1", "19999"},
	},
}
