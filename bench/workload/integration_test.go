//go:build integration

package workload_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/bench/workload"
)

func stackDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("DRIVETRAIN_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("DRIVETRAIN_POSTGRES_DSN is not set (source .stack/env after `make stack-up`)")
	}
	return dsn
}

// freshDatabase creates an empty database next to the stack's one and
// returns its DSN; it is dropped when the test ends. It skips the test when
// the user may not create databases.
func freshDatabase(t *testing.T, ctx context.Context, dsn string, withSchema bool) string {
	t.Helper()
	db, err := createDatabase(t, ctx, dsn, withSchema)
	if err != nil {
		t.Skipf("needs a scratch database: %v", err)
	}
	return db
}

func createDatabase(t *testing.T, ctx context.Context, dsn string, withSchema bool) (string, error) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("the DSN is not a URL")
	}
	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err, "connecting to the stack's PostgreSQL")
	defer admin.Close(ctx)
	name := fmt.Sprintf("drivetrain_workload_test_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating a database: %w", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	})
	u.Path = "/" + name
	if withSchema {
		schema, err := os.ReadFile("../../" + workload.SchemaFile)
		require.NoError(t, err)
		c, err := pgx.Connect(ctx, u.String())
		require.NoError(t, err)
		defer c.Close(ctx)
		_, err = c.Exec(ctx, string(schema))
		require.NoError(t, err, "applying the schema")
	}
	return u.String(), nil
}

// targetDSN is a scratch database with the schema when the user may create
// one (so concurrent writers to the stack's database cannot disturb the
// row counts), else the stack's database itself.
func targetDSN(t *testing.T, ctx context.Context) string {
	t.Helper()
	dsn := stackDSN(t)
	db, err := createDatabase(t, ctx, dsn, true)
	if err != nil {
		t.Logf("running in the stack's database (%v): concurrent writers would disturb the row counts", err)
		return dsn
	}
	return db
}

func countRows(t *testing.T, ctx context.Context, conn *pgx.Conn) map[string]int64 {
	t.Helper()
	n := make(map[string]int64)
	for _, tb := range workload.Tables {
		var c int64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+tb).Scan(&c))
		n[tb] = c
	}
	return n
}

func TestIntegrationGenerateCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := targetDSN(t, ctx)

	g, err := workload.Open(ctx, dsn, zerolog.Nop())
	require.NoError(t, err, "the stack's PostgreSQL is configured but unusable")
	defer g.Close()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)

	tests := []struct {
		name string
		opts workload.Options
	}{
		{name: "first run seeds", opts: workload.Options{Changes: 700, Seed: 42, Scale: 500, Workers: 4}},
		{name: "second run reuses the catalogue", opts: workload.Options{Changes: 500, Seed: 43, Scale: 500, Workers: 2, Rate: 2000}},
		{name: "one worker", opts: workload.Options{Changes: 300, Seed: 44, Scale: 500, Workers: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countRows(t, ctx, conn)
			var progressCalls int
			tt.opts.Progress = func(workload.Progress) { progressCalls++ }
			rep, err := g.Run(ctx, tt.opts)
			require.NoError(t, err)
			after := countRows(t, ctx, conn)

			assert.Equal(t, tt.opts.Changes, rep.Changes, "exactly the changes asked for")
			assert.Zero(t, rep.Mismatches)
			assert.False(t, rep.Interrupted)
			assert.Positive(t, rep.StartXID)
			assert.Positive(t, progressCalls)
			var total, seeded, txns int64
			for _, tb := range workload.Tables {
				c := rep.Counts[tb]
				assert.Equal(t, after[tb]-before[tb], c.Insert-c.Delete, "row delta of %s", tb)
				total += c.Total()
				seeded += rep.Seeded[tb]
			}
			assert.Equal(t, rep.Changes+seeded, total)
			for _, n := range rep.Operations {
				txns += n
			}
			assert.Equal(t, rep.Transactions, txns)
			assert.GreaterOrEqual(t, after["customers"], int64(tt.opts.Scale))
			if tt.name != "first run seeds" {
				assert.Zero(t, seeded, "the catalogue is big enough already")
			}
		})
	}

	var toasted int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM vehicles WHERE pg_column_size(features) > 2000").Scan(&toasted))
	assert.Positive(t, toasted, "vehicles with features stored out of line (TOAST)")
}

// TestIntegrationGenerateRewrites runs long enough for every rewrite (rows
// moved or re-created under their old ids, order dates changed, customers
// and vehicles deleted and inserted again) to commit several times, with
// concurrent workers, then again over the rows the first run left.
func TestIntegrationGenerateRewrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := targetDSN(t, ctx)
	g, err := workload.Open(ctx, dsn, zerolog.Nop())
	require.NoError(t, err)
	defer g.Close()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)

	rewrites := []string{"move_item", "move_payment", "recreate_order", "change_order_date", "reinsert_customer", "reinsert_vehicle"}
	for i, changes := range []int64{25_000, 10_000} {
		before := countRows(t, ctx, conn)
		rep, err := g.Run(ctx, workload.Options{Changes: changes, Seed: uint64(20 + i), Scale: 150, Workers: 8})
		require.NoError(t, err)
		after := countRows(t, ctx, conn)
		assert.Equal(t, changes, rep.Changes)
		assert.Zero(t, rep.Mismatches, "every transaction changed the rows planned")
		for _, tb := range workload.Tables {
			c := rep.Counts[tb]
			assert.Equal(t, after[tb]-before[tb], c.Insert-c.Delete, "row delta of %s", tb)
		}
		for _, k := range rewrites {
			assert.Positive(t, rep.Operations[k], "run %d committed no %s", i+1, k)
		}
		t.Logf("run %d: %v", i+1, rep.Operations)
	}
	var months int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(DISTINCT date_trunc('month', order_date AT TIME ZONE 'UTC')) FROM orders").Scan(&months))
	assert.Greater(t, months, 1, "orders dated in other months")
}

func TestIntegrationGenerateDeterministic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := stackDSN(t)
	var digests [2][32]byte
	for i := range digests {
		db := freshDatabase(t, ctx, dsn, true)
		g, err := workload.Open(ctx, db, zerolog.Nop())
		require.NoError(t, err)
		rep, err := g.Run(ctx, workload.Options{Changes: 2000, Seed: 9, Scale: 300, Workers: 6})
		require.NoError(t, err)
		require.NoError(t, g.Close())
		require.Equal(t, int64(2000), rep.Changes)
		digests[i] = contentDigest(t, ctx, db)
	}
	assert.Equal(t, digests[0], digests[1], "same seed, same starting database: same rows (timestamps aside)")
}

// contentDigest hashes every column that does not hold a wall-clock time.
func contentDigest(t *testing.T, ctx context.Context, dsn string) [32]byte {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	h := sha256.New()
	for _, q := range []string{
		"SELECT id, email, first_name, last_name, phone, city, region, country, segment, birth_date FROM customers ORDER BY id",
		"SELECT id, vin, make, model, model_year, body_type, fuel_type, transmission, color, mileage_km, condition, list_price, cost_price, stock_status, features FROM vehicles ORDER BY id",
		"SELECT id, customer_id, status, channel, currency FROM orders ORDER BY id",
		"SELECT id, order_id, vehicle_id, quantity, unit_price, discount FROM order_items ORDER BY id",
		"SELECT id, order_id, amount, method, status, paid_at IS NULL FROM payments ORDER BY id",
	} {
		rows, err := conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
		require.NoError(t, err)
		for rows.Next() {
			vals, err := rows.Values()
			require.NoError(t, err)
			fmt.Fprintln(h, vals...)
		}
		require.NoError(t, rows.Err())
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

func TestIntegrationGenerateMissingSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := freshDatabase(t, ctx, stackDSN(t), false)
	_, err := workload.Open(ctx, db, zerolog.Nop())
	require.Error(t, err)
	assert.True(t, errors.Is(err, workload.ErrSchema))
	assert.Contains(t, err.Error(), `table "customers" does not exist`)
	assert.Contains(t, err.Error(), workload.SchemaFile)
}

// plantedVehicles are rows the generator did not write: one listed near
// the NUMERIC(12,2) bound (a one-off), whose price in dollars or times ten
// overflows the column, and nine whose features are not JSON objects (an
// array, a string or JSON null), on which jsonb_set fails.
const plantedVehicles = `
INSERT INTO vehicles (vin, make, model, model_year, body_type, fuel_type, transmission, color,
	mileage_km, condition, list_price, cost_price, stock_status, features, created_at, updated_at) VALUES
	('ZHWUT4ZF0PLA00001', 'Lamborghini', 'Veneno Roadster (one-off)', 2024, 'convertible', 'petrol', 'automatic', 'green',
	 10, 'new', 9999999000.00, NULL, 'available', '{"trim": "one-off"}', now(), now());
INSERT INTO vehicles (vin, make, model, model_year, body_type, fuel_type, transmission, color,
	mileage_km, condition, list_price, cost_price, stock_status, features, created_at, updated_at)
	SELECT 'WP0ZZZ99ZTS39' || lpad(i::text, 4, '0'), 'Porsche', '911', 2019, 'coupe', 'petrol', 'manual', 'silver',
	 42000, 'used', 89000.00, 70000.00, 'available',
	 (ARRAY['["sunroof", "tow bar"]', '"see the dealer"', 'null'])[i % 3 + 1]::jsonb, now(), now()
	FROM generate_series(1, 9) AS i;`

// guardedVehicle is another vehicle listed near the bound, under another
// application's audit trigger that computes the VAT-inclusive price of a
// vehicle being changed or deleted into a NUMERIC(12,2): it overflows
// (22003) for this one, so every transaction that updates or deletes it
// fails, which the generator cannot foresee.
const guardedVehicle = `
CREATE FUNCTION audit_gross_price() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gross NUMERIC(12,2);
BEGIN
    gross := OLD.list_price * 1.21;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_gross_price BEFORE UPDATE OR DELETE ON vehicles
    FOR EACH ROW EXECUTE FUNCTION audit_gross_price();
INSERT INTO vehicles (vin, make, model, model_year, body_type, fuel_type, transmission, color,
	mileage_km, condition, list_price, cost_price, stock_status, features, created_at, updated_at) VALUES
	('ZHWUT4ZF0PLA00002', 'Lamborghini', 'Veneno Coupé (one-off)', 2024, 'coupe', 'petrol', 'automatic', 'black',
	 5, 'new', 9999999500.00, NULL, 'available', '{"trim": "one-off"}', now(), now());`

// TestIntegrationGenerateSkipsDataErrors runs the mix over rows that other
// applications wrote. With plantedVehicles, the generator keeps its own
// lines and order totals within NUMERIC(12,2) and leaves features that are
// not objects alone: nothing fails. With guardedVehicle, what fails (the
// trigger's overflow) is skipped, counted and reported, and the run still
// makes exactly the changes asked for with no mismatch (the model stayed
// in line with the tables). With Strict, the first failure stops the run
// with its error.
func TestIntegrationGenerateSkipsDataErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := freshDatabase(t, ctx, stackDSN(t), true)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	g, err := workload.Open(ctx, dsn, zerolog.Nop())
	require.NoError(t, err)
	defer g.Close()

	run := func(t *testing.T, opts workload.Options) *workload.Report {
		t.Helper()
		before := countRows(t, ctx, conn)
		rep, err := g.Run(ctx, opts)
		require.NoError(t, err, "the run goes on past data errors")
		after := countRows(t, ctx, conn)
		assert.Equal(t, opts.Changes, rep.Changes, "exactly the changes asked for, skipped ones made up for")
		assert.False(t, rep.Interrupted)
		assert.Zero(t, rep.Mismatches, "every committed transaction changed the rows planned")
		for _, tb := range workload.Tables {
			c := rep.Counts[tb]
			assert.Equal(t, after[tb]-before[tb], c.Insert-c.Delete, "row delta of %s", tb)
		}
		var linesInRange, totalsInRange bool
		require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce(bool_and(quantity * unit_price <= 9999999999.99), true) FROM order_items`).Scan(&linesInRange))
		require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce(bool_and(total <= 9999999999.99), true)
			FROM (SELECT sum(quantity * unit_price - discount) AS total FROM order_items GROUP BY order_id) t`).Scan(&totalsInRange))
		assert.True(t, linesInRange, "quantity × unit_price within NUMERIC(12,2)")
		assert.True(t, totalsInRange, "order totals within NUMERIC(12,2)")
		t.Logf("skipped %v, %d dependents; operations %v", rep.Skipped, rep.SkippedDependents, rep.Operations)
		return rep
	}

	t.Run("planted rows cause no error", func(t *testing.T) {
		_, err := conn.Exec(ctx, plantedVehicles)
		require.NoError(t, err)
		rep := run(t, workload.Options{Changes: 3000, Seed: 5, Scale: 60, Workers: 4})
		assert.Zero(t, rep.SkippedTotal(), "no overflow of the generator's own values, no jsonb_set on a non-object: %v", rep.Skipped)
		var lines int64
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM order_items WHERE unit_price > 1000000000`).Scan(&lines))
		t.Logf("%d lines of a vehicle listed near the bound remain", lines)
	})

	t.Run("data errors are skipped", func(t *testing.T) {
		_, err := conn.Exec(ctx, guardedVehicle)
		require.NoError(t, err)
		rep := run(t, workload.Options{Changes: 4000, Seed: 6, Scale: 60, Workers: 4})
		assert.Equal(t, []string{"22003"}, slices.Sorted(maps.Keys(rep.Skipped)))
		assert.Positive(t, rep.Skipped["22003"])
		var text strings.Builder
		require.NoError(t, rep.WriteText(&text))
		assert.Regexp(t, `(?m)^skipped \d+ operations: \d+ numeric_value_out_of_range \(22003\)`, text.String())
		var price string
		require.NoError(t, conn.QueryRow(ctx, "SELECT list_price::text FROM vehicles WHERE vin = 'ZHWUT4ZF0PLA00002'").Scan(&price))
		assert.Equal(t, "9999999500.00", price, "the skipped transactions rolled back")
	})

	t.Run("strict stops at the first", func(t *testing.T) {
		// The rows the run starts from depend on when the previous run
		// reloaded its model, so which operation first updates the guarded
		// vehicle does too: 4000 changes missed it in a few runs out of a
		// hundred. The run stops at the first failure, so a budget it never
		// reaches costs nothing.
		const changes = 40_000
		rep, err := g.Run(ctx, workload.Options{Changes: changes, Seed: 7, Scale: 60, Workers: 4, Strict: true})
		require.Error(t, err)
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "%v", err)
		assert.Equal(t, "22003", pgErr.Code)
		require.NotNil(t, rep, "the report of what committed before")
		assert.Less(t, rep.Changes, int64(changes))
		assert.Zero(t, rep.SkippedTotal())
	})
}

// TestIntegrationGenerateRetriesSerializationFailures runs the mix in a
// database whose transactions are serializable by default: concurrent
// workers then fail with serialization failures (40001), which are
// retried until they commit, so the run makes exactly the changes asked
// for, skipping nothing.
func TestIntegrationGenerateRetriesSerializationFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := freshDatabase(t, ctx, stackDSN(t), true)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "ALTER DATABASE "+strings.TrimPrefix(u.Path, "/")+" SET default_transaction_isolation TO 'serializable'")
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	g, err := workload.Open(ctx, dsn, zerolog.Nop())
	require.NoError(t, err)
	defer g.Close()
	rep, err := g.Run(ctx, workload.Options{Changes: 8000, Seed: 3, Scale: 100, Workers: 16})
	require.NoError(t, err)
	assert.Equal(t, int64(8000), rep.Changes)
	assert.Zero(t, rep.Mismatches)
	assert.Zero(t, rep.SkippedTotal())
	assert.Positive(t, rep.Retried["40001"], "serialization failures retried: %v", rep.Retried)
}
