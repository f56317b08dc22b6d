//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/sinks"
	"github.com/drivetrain-cdc/drivetrain/topology"
)

// TestIntegrationReport writes a few facts and vehicles into a scratch
// database of the local ClickHouse and checks what `drivetrain report`
// computes from them, in each format.
func TestIntegrationReport(t *testing.T) {
	addr := os.Getenv("DRIVETRAIN_CLICKHOUSE_URL")
	if addr == "" {
		t.Skip("DRIVETRAIN_CLICKHOUSE_URL is not set; run `make stack-up && source .stack/env`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := fmt.Sprintf("report_test_%d", time.Now().UnixNano())
	c, err := sinks.Dial(ctx, sinks.Config{Addr: addr, Database: db}, zerolog.Nop())
	require.NoError(t, err)
	defer c.Close()
	t.Cleanup(func() { assert.NoError(t, c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)) })
	schema, err := c.EnsureSchema(ctx)
	require.NoError(t, err)

	day1 := topology.TimestampOf(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	day2 := topology.TimestampOf(time.Date(2026, 11, 21, 15, 30, 0, 0, time.UTC))
	eur := func(cents int64) topology.Decimal { return topology.NewDecimal(cents, 2) }
	fact := func(item, order int64, date topology.Timestamp, status, mk, model, city string, qty int32, price, total, paid int64, version uint64, deleted bool) topology.Fact {
		return topology.Fact{OrderItemID: item, OrderID: order, OrderDate: date, OrderStatus: status, Channel: "web", Currency: "EUR",
			CustomerID: order * 10, CustomerName: "Ana Pérez", CustomerCity: city, CustomerSegment: "retail",
			VehicleID: item * 100, Make: mk, Model: model, Quantity: qty, UnitPrice: eur(price), LineTotal: eur(int64(qty) * price),
			OrderTotal: eur(total), OrderPaid: eur(paid), PaymentStatus: topology.PaymentStatus(paid, total),
			UpdatedAt: date, Version: version, Deleted: deleted}
	}
	require.NoError(t, schema.FactWriter().Write(ctx, []topology.Fact{
		fact(1, 1, day1, "paid", "Toyota", "Corolla", "Madrid", 1, 2000000, 2000000, 2000000, 1, false),
		fact(2, 2, day2, "confirmed", "Toyota", "Corolla", "Sevilla", 2, 1500000, 4500000, 0, 1, false),
		fact(3, 2, day2, "confirmed", "BMW", "X3", "Sevilla", 1, 1500000, 4500000, 0, 1, false),
		fact(4, 3, day2, "cancelled", "BMW", "X3", "Madrid", 1, 9900000, 9900000, 0, 1, false),
		// An older version of item 1 and a deleted item: neither counts.
		fact(1, 1, day1, "pending", "Toyota", "Corolla", "Madrid", 5, 100, 500, 0, 0, false),
		fact(5, 1, day1, "paid", "Seat", "Ibiza", "Madrid", 1, 700000, 700000, 0, 2, true),
	}))
	vehicle := func(id int64, status string, price int64, version uint64, deleted bool) topology.Mirror {
		return topology.Mirror{Row: topology.VehicleRow(topology.Vehicle{ID: id, VIN: fmt.Sprintf("VIN%014d", id), Make: "Toyota", Model: "Corolla",
			ModelYear: 2024, BodyType: "sedan", FuelType: "hybrid", Transmission: "automatic", Condition: "new",
			ListPrice: eur(price), StockStatus: status}), Version: version, Deleted: deleted}
	}
	require.NoError(t, schema.MirrorWriter(topology.TableVehicles).Write(ctx, []topology.Mirror{
		vehicle(1, "available", 2000000, 1, false),
		vehicle(2, "available", 1500000, 1, false),
		vehicle(2, "sold", 1500000, 2, false),
		vehicle(3, "reserved", 990000, 1, false),
		vehicle(3, "reserved", 990000, 2, true),
	}))

	stdout, stderr, code := runCLI(t, "report", "--database", db, "--format", "json")
	require.Zero(t, code, stderr)
	var got map[string][]map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)

	assert.Equal(t, []map[string]any{
		{"day": "2026-11-21", "orders": 1.0, "vehicles": 3.0, "revenue": 45000.0},
		{"day": "2026-11-20", "orders": 1.0, "vehicles": 1.0, "revenue": 20000.0},
	}, got["sales-by-day"])
	assert.Equal(t, []map[string]any{
		{"make": "Toyota", "model": "Corolla", "orders": 2.0, "units": 3.0, "revenue": 50000.0},
		{"make": "BMW", "model": "X3", "orders": 1.0, "units": 1.0, "revenue": 15000.0},
	}, got["make-model"])
	assert.Equal(t, []map[string]any{
		{"city": "Sevilla", "segment": "retail", "customers": 1.0, "orders": 1.0, "revenue": 45000.0},
		{"city": "Madrid", "segment": "retail", "customers": 1.0, "orders": 1.0, "revenue": 20000.0},
	}, got["city-segment"])
	require.Len(t, got["payments"], 3)
	assert.Equal(t, map[string]any{"id": 3.0, "ordered_at": "2026-11-21 15:30:00", "customer": "Ana Pérez", "status": "cancelled",
		"total": 99000.0, "paid": 0.0, "payment": "unpaid"}, got["payments"][0])
	assert.Equal(t, "paid", got["payments"][2]["payment"])
	assert.Equal(t, []map[string]any{
		{"stock_status": "available", "vehicles": 1.0, "makes": 1.0, "list_value": 20000.0},
		{"stock_status": "sold", "vehicles": 1.0, "makes": 1.0, "list_value": 15000.0},
	}, got["inventory"])

	stdout, stderr, code = runCLI(t, "report", "--database", db, "make-model")
	require.Zero(t, code, stderr)
	assert.Contains(t, stdout, "Revenue by make and model")
	assert.Regexp(t, `Toyota\s+Corolla\s+2\s+3\s+50000(\.00)?\n`, stdout)

	stdout, _, code = runCLI(t, "report", "--database", db, "--format", "csv", "inventory")
	require.Zero(t, code)
	assert.True(t, strings.HasPrefix(stdout, "stock_status,vehicles,makes,list_value\navailable,1,1,20000"), stdout)
}
