#!/usr/bin/env bash
# capture.sh records real Debezium messages from the local stack
# (deploy/local, Debezium 3.6.1) into testdata/fixtures/, one record per file.
#
#   topology/debezium/testdata/capture.sh        (from anywhere; the stack must be up)
#
# It never touches the pipeline's own database objects, connector or topics:
#   - a scratch database drivetrain_fixture with the five tables of
#     deploy/postgres/schema.sql, seeded with edge-case rows, plus a scratch
#     table toast.vehicles with REPLICA IDENTITY DEFAULT and an out-of-line
#     (STORAGE EXTERNAL) features column, all in a publication fixture_pub;
#   - five connectors with their own slots and topic prefixes:
#       fixture          schemas on,  decimal precise, time adaptive, heartbeats
#       fixture_off      schemas off, decimal precise, time adaptive
#       fixture_str      schemas on,  decimal.handling.mode=string
#       fixture_dbl      schemas on,  decimal.handling.mode=double
#       fixture_connect  schemas on,  time.precision.mode=connect, transaction metadata
#   - then inserts, updates, deletes (with tombstones), a TOAST update, a
#     logical decoding message, and a sentinel insert that marks the end;
#   - testdata/capture (Go, franz-go) consumes the fixture topics and writes
#     the fixtures.
# On exit, successful or not, it deletes its connectors (and their offsets),
# drops their slots and the scratch database, and deletes the fixture topics.
# Afterwards rewrite the golden files:
#   go test ./topology/debezium -run TestGolden -update
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../../.." && pwd -P)
if [[ -f $ROOT/.stack/env ]]; then
	# shellcheck disable=SC1091
	source "$ROOT/.stack/env"
fi
ADMIN_DSN=${DRIVETRAIN_POSTGRES_DSN:-postgres://drivetrain:drivetrain@127.0.0.1:15432/ecommerce?sslmode=disable}
BROKERS=${DRIVETRAIN_KAFKA_BROKERS:-127.0.0.1:19092}
CONNECT=${DRIVETRAIN_CONNECT_URL:-http://127.0.0.1:18083}
DB=drivetrain_fixture
FIXTURE_DSN=${ADMIN_DSN/\/ecommerce\?/\/$DB?}
OUT=$HERE/fixtures
RUN_ID=$(date +%s)
PREFIXES=(fixture fixture_off fixture_str fixture_dbl fixture_connect)

say() { echo "capture: $*"; }
psql_admin() { psql "$ADMIN_DSN" -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_fixture() { psql "$FIXTURE_DSN" -v ON_ERROR_STOP=1 -qAt "$@"; }
capture_go() { (cd "$ROOT" && go run ./topology/debezium/testdata/capture -brokers "$BROKERS" "$@"); }

# cleanup removes everything this script creates; it is safe to run twice.
cleanup() {
	set +e
	say "cleaning up"
	local c
	for c in $(curl -fsS "$CONNECT/connectors" | jq -r '.[]' | grep -E '^fixture-capture-'); do
		curl -fsS -X PUT "$CONNECT/connectors/$c/stop" >/dev/null
		for _ in $(seq 1 30); do
			[[ $(curl -fsS "$CONNECT/connectors/$c/status" | jq -r .connector.state) == STOPPED ]] && break
			sleep 1
		done
		curl -fsS -X DELETE "$CONNECT/connectors/$c/offsets" >/dev/null
		curl -fsS -X DELETE "$CONNECT/connectors/$c" >/dev/null
	done
	local slots
	slots=$(printf "'%s'," "${PREFIXES[@]}")
	slots=${slots%,}
	for _ in $(seq 1 60); do
		psql_admin -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ($slots) AND NOT active" >/dev/null
		[[ $(psql_admin -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ($slots)") == 0 ]] && break
		sleep 1
	done
	psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
	capture_go -delete
	set -e
}
trap cleanup EXIT
cleanup

say "creating database $DB"
psql_admin -c "CREATE DATABASE $DB"
psql_fixture -f "$ROOT/deploy/postgres/schema.sql"
psql_fixture <<'SQL'
CREATE SCHEMA toast;
CREATE TABLE toast.vehicles (LIKE public.vehicles INCLUDING ALL);
ALTER TABLE toast.vehicles REPLICA IDENTITY DEFAULT;
-- Out of line and uncompressed: any value over ~2 kB is TOASTed, and an
-- update that does not touch it leaves it out of the WAL.
ALTER TABLE toast.vehicles ALTER COLUMN features SET STORAGE EXTERNAL;
CREATE PUBLICATION fixture_pub FOR TABLE public.customers, public.vehicles, public.orders,
    public.order_items, public.payments, toast.vehicles;

INSERT INTO customers (id, email, first_name, last_name, phone, city, region, country, segment, birth_date, created_at, updated_at) VALUES
 (1, 'ana.garcia@example.com', 'Ana', 'García', '+34 600 123 456', 'Madrid', 'Comunidad de Madrid', 'ES', 'retail', '1985-06-15',
     '2024-01-10 09:30:00.123456+00', '2024-01-10 09:30:00.123456+00'),
 (2, 'zoe@example.de', 'Zoë "Z" François', 'Ñúñez-Øberg 😀', NULL, 'München', NULL, 'DE', 'fleet', '1950-02-28',
     '1969-07-20 20:17:40+00', '2040-02-29 23:59:59.999999+00');
INSERT INTO vehicles (id, vin, make, model, model_year, body_type, fuel_type, transmission, color, mileage_km, condition,
                      list_price, cost_price, stock_status, features, created_at, updated_at) VALUES
 (1, 'WVWZZZ1KZAW000001', 'Volkswagen', 'Golf', 2021, 'hatchback', 'petrol', 'manual', 'blue', 35120, 'used',
     23990.00, 21500.50, 'available', '{"abs": true, "seats": 5, "extras": ["navigation", "heated seats"]}',
     '2023-11-02 10:15:00.5+00', '2024-01-15 16:45:30.123456+00'),
 (2, 'ZFF00000000000002', 'Ferrari', 'F40', 1900, 'coupe', 'petrol', 'manual', NULL, 2147483647, 'certified',
     9999999999.99, -9999999999.99, 'reserved', NULL, '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00'),
 (3, 'VF1AAAAAA00000003', 'Renault', 'Zoe', 2024, 'hatchback', 'electric', 'automatic', 'white', 0, 'new',
     0.01, 0.00, 'sold', '{}', '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00'),
 (4, 'WBA00000000000004', 'BMW', 'i4', 2023, 'sedan', 'electric', 'automatic', 'black', 12000, 'used',
     52900.00, NULL, 'available',
     (SELECT jsonb_build_object('equipment', jsonb_agg(jsonb_build_object('code', 'EQ' || g, 'name', 'Option ' || g || ' — ñ', 'price', g * 10.5))) FROM generate_series(1, 60) g),
     '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00');
INSERT INTO orders (id, customer_id, status, channel, currency, order_date, updated_at) VALUES
 (1, 1, 'paid', 'web', 'EUR', '2024-02-23 08:52:14.431487+00', '2024-02-23 09:00:00+00'),
 (2, 2, 'delivered', 'dealer', 'EUR', '1965-03-01 12:00:00.123456+00', '2039-01-01 00:00:00+00');
INSERT INTO order_items (id, order_id, vehicle_id, quantity, unit_price, discount) VALUES
 (1, 1, 1, 1, 23990.00, 500.00),
 (2, 2, 2, 2, 9999999999.99, -1.00),
 (3, 2, 3, 1, 0.01, 0.00);
INSERT INTO payments (id, order_id, amount, method, status, paid_at, created_at) VALUES
 (1, 1, 23490.00, 'credit_card', 'approved', '2024-02-23 08:55:00+00', '2024-02-23 08:53:00+00'),
 (2, 2, -39.98, 'bank_transfer', 'pending', NULL, '2039-01-01 00:00:00+00');
SELECT setval(pg_get_serial_sequence(t, 'id'), 99) FROM unnest(ARRAY['customers', 'vehicles', 'orders', 'order_items', 'payments']) t;
SQL

register() { # name prefix extra-config-json
	local cfg
	cfg=$(jq -n --arg db "$DB" --arg prefix "$2" --argjson extra "$3" '{
		"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
		"tasks.max": "1",
		"database.hostname": "127.0.0.1", "database.port": "15432",
		"database.user": "drivetrain", "database.password": "drivetrain",
		"database.dbname": $db,
		"topic.prefix": $prefix,
		"plugin.name": "pgoutput",
		"publication.name": "fixture_pub", "publication.autocreate.mode": "disabled",
		"slot.name": $prefix,
		"table.include.list": "public.customers,public.vehicles,public.orders,public.order_items,public.payments,toast.vehicles",
		"snapshot.mode": "initial",
		"tombstones.on.delete": "true",
		"decimal.handling.mode": "precise",
		"time.precision.mode": "adaptive",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": "true",
		"key.converter.replace.null.with.default": "false",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"value.converter.schemas.enable": "true",
		"value.converter.replace.null.with.default": "false",
		"topic.creation.default.partitions": "1",
		"topic.creation.default.replication.factor": "1"
	} + $extra')
	curl -fsS -X PUT -H 'Content-Type: application/json' --data "$cfg" "$CONNECT/connectors/$1/config" >/dev/null
}

say "registering connectors"
register "fixture-capture-$RUN_ID" fixture '{"heartbeat.interval.ms": "1000"}'
register "fixture-capture-off-$RUN_ID" fixture_off '{"key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false"}'
register "fixture-capture-str-$RUN_ID" fixture_str '{"decimal.handling.mode": "string"}'
register "fixture-capture-dbl-$RUN_ID" fixture_dbl '{"decimal.handling.mode": "double"}'
register "fixture-capture-connect-$RUN_ID" fixture_connect '{"time.precision.mode": "connect", "provide.transaction.metadata": "true"}'

say "waiting for the replication slots"
for i in $(seq 1 120); do
	n=$(psql_admin -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ('fixture','fixture_off','fixture_str','fixture_dbl','fixture_connect') AND active")
	[[ $n == 5 ]] && break
	if ((i == 120)); then
		curl -fsS "$CONNECT/connectors?expand=status" | jq -c '.[] | {name: .status.name, state: .status.connector.state, tasks: [.status.tasks[].state]}' >&2
		echo "capture: the connectors did not start" >&2
		exit 1
	fi
	sleep 1
done

say "changing rows"
psql_fixture <<'SQL'
INSERT INTO customers (id, email, first_name, last_name, phone, city, region, country, segment, birth_date, created_at, updated_at)
 VALUES (100, 'new@example.com', 'Nuno', 'Silva', NULL, 'Porto', NULL, 'PT', 'business', NULL, '2024-03-01 10:00:00+00', '2024-03-01 10:00:00+00');
INSERT INTO vehicles (id, vin, make, model, model_year, body_type, fuel_type, transmission, color, mileage_km, condition,
                      list_price, cost_price, stock_status, features, created_at, updated_at)
 VALUES (100, 'TMBAAAAAA00000100', 'Skoda', 'Octavia', 2022, 'wagon', 'diesel', 'automatic', 'grey', 41000, 'used',
         18990.00, 16000.00, 'available', '{"tow_bar": true}', '2024-03-01 10:00:00+00', '2024-03-01 10:00:00+00');
INSERT INTO orders (id, customer_id, status, channel, currency, order_date, updated_at)
 VALUES (100, 100, 'pending', 'mobile', 'EUR', '2024-03-01 10:05:00.5+00', '2024-03-01 10:05:00.5+00');
INSERT INTO order_items (id, order_id, vehicle_id, quantity, unit_price, discount) VALUES (100, 100, 100, 1, 18990.00, 0);
INSERT INTO payments (id, order_id, amount, method, status, paid_at, created_at)
 VALUES (100, 100, 18990.00, 'financing', 'pending', NULL, '2024-03-01 10:06:00+00');

UPDATE customers SET phone = '+351 912 345 678', updated_at = '2024-03-02 10:00:00+00' WHERE id = 100;
UPDATE vehicles SET list_price = 18490.00, stock_status = 'reserved', updated_at = '2024-03-02 10:00:00+00' WHERE id = 100;
UPDATE orders SET status = 'paid', updated_at = '2024-03-02 10:00:00+00' WHERE id = 100;
UPDATE order_items SET discount = 500.00 WHERE id = 100;
UPDATE payments SET status = 'approved', paid_at = '2024-03-02 10:00:00+00' WHERE id = 100;

DELETE FROM payments WHERE id = 100;
DELETE FROM order_items WHERE id = 100;
DELETE FROM orders WHERE id = 100;
DELETE FROM vehicles WHERE id = 100;
DELETE FROM customers WHERE id = 100;

INSERT INTO toast.vehicles (id, vin, make, model, model_year, body_type, fuel_type, transmission, color, mileage_km, condition,
                            list_price, cost_price, stock_status, features, created_at, updated_at)
 VALUES (1, 'TOAST000000000001', 'Volvo', 'XC60', 2022, 'suv', 'hybrid', 'automatic', 'red', 20000, 'used', 41990.00, NULL, 'available',
         (SELECT jsonb_build_object('log', jsonb_agg(md5(g::text))) FROM generate_series(1, 80) g),
         '2024-03-01 10:00:00+00', '2024-03-01 10:00:00+00');
UPDATE toast.vehicles SET stock_status = 'reserved', updated_at = '2024-03-03 10:00:00+00' WHERE id = 1;
DELETE FROM toast.vehicles WHERE id = 1;

SELECT pg_logical_emit_message(true, 'fixture', 'hello from capture.sh');

INSERT INTO customers (id, email, first_name, last_name, phone, city, region, country, segment, birth_date, created_at, updated_at)
 VALUES (999, 'sentinel@fixture.test', 'S', 'S', NULL, 'X', NULL, 'XX', 'retail', NULL, now(), now());
SQL

say "consuming"
rm -rf "$OUT"
capture_go -out "$OUT"
say "done: $(find "$OUT" -name '*.json' | wc -l) fixtures in $OUT"
