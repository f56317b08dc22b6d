-- drivetrain source schema (docs/design.md, Source data model): the car e-commerce OLTP database.
-- Applied by deploy/local on first start of the private cluster; idempotent.
-- Every table has REPLICA IDENTITY FULL so updates and deletes carry the full
-- old row (deletes of items and payments are routed by order_id, which only a
-- full old image contains), and the publication `drivetrain` covers the five
-- tables for Debezium's pgoutput plugin.

CREATE TABLE IF NOT EXISTS customers (
    id          BIGSERIAL PRIMARY KEY,
    email       TEXT UNIQUE NOT NULL,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    phone       TEXT,
    city        TEXT NOT NULL,
    region      TEXT,
    country     CHAR(2) NOT NULL,
    segment     TEXT NOT NULL CHECK (segment IN ('retail', 'business', 'fleet')),
    birth_date  DATE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS vehicles (
    id            BIGSERIAL PRIMARY KEY,
    vin           CHAR(17) UNIQUE NOT NULL,
    make          TEXT NOT NULL,
    model         TEXT NOT NULL,
    model_year    SMALLINT NOT NULL,
    body_type     TEXT NOT NULL,
    fuel_type     TEXT NOT NULL,
    transmission  TEXT NOT NULL,
    color         TEXT,
    mileage_km    INTEGER NOT NULL,
    condition     TEXT NOT NULL CHECK (condition IN ('new', 'used', 'certified')),
    list_price    NUMERIC(12,2) NOT NULL,
    cost_price    NUMERIC(12,2),
    stock_status  TEXT NOT NULL CHECK (stock_status IN ('available', 'reserved', 'sold')),
    features      JSONB,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS orders (
    id           BIGSERIAL PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'paid', 'delivered', 'cancelled')),
    channel      TEXT NOT NULL CHECK (channel IN ('web', 'mobile', 'dealer')),
    currency     CHAR(3) NOT NULL,
    order_date   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS order_items (
    id          BIGSERIAL PRIMARY KEY,
    order_id    BIGINT NOT NULL REFERENCES orders ON DELETE CASCADE,
    vehicle_id  BIGINT NOT NULL REFERENCES vehicles,
    quantity    INTEGER NOT NULL,
    unit_price  NUMERIC(12,2) NOT NULL,
    discount    NUMERIC(12,2) NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS payments (
    id          BIGSERIAL PRIMARY KEY,
    order_id    BIGINT NOT NULL REFERENCES orders ON DELETE CASCADE,
    amount      NUMERIC(12,2) NOT NULL,
    method      TEXT NOT NULL CHECK (method IN ('credit_card', 'bank_transfer', 'financing', 'cash')),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'refunded')),
    paid_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
CREATE INDEX IF NOT EXISTS order_items_order_id_idx ON order_items (order_id);
CREATE INDEX IF NOT EXISTS order_items_vehicle_id_idx ON order_items (vehicle_id);
CREATE INDEX IF NOT EXISTS payments_order_id_idx ON payments (order_id);

ALTER TABLE customers   REPLICA IDENTITY FULL;
ALTER TABLE vehicles    REPLICA IDENTITY FULL;
ALTER TABLE orders      REPLICA IDENTITY FULL;
ALTER TABLE order_items REPLICA IDENTITY FULL;
ALTER TABLE payments    REPLICA IDENTITY FULL;

-- Items and payments are partitioned in Kafka by order_id: a row whose
-- order_id changed would leave a stale copy in its old partition, so the
-- column is immutable once written.
CREATE OR REPLACE FUNCTION drivetrain_order_id_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.order_id IS DISTINCT FROM OLD.order_id THEN
        RAISE EXCEPTION '%.order_id is immutable (row id %: % -> %)',
            TG_TABLE_NAME, OLD.id, OLD.order_id, NEW.order_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS order_items_order_id_immutable ON order_items;
CREATE TRIGGER order_items_order_id_immutable
    BEFORE UPDATE OF order_id ON order_items
    FOR EACH ROW EXECUTE FUNCTION drivetrain_order_id_immutable();

DROP TRIGGER IF EXISTS payments_order_id_immutable ON payments;
CREATE TRIGGER payments_order_id_immutable
    BEFORE UPDATE OF order_id ON payments
    FOR EACH ROW EXECUTE FUNCTION drivetrain_order_id_immutable();

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'drivetrain') THEN
        CREATE PUBLICATION drivetrain
            FOR TABLE customers, vehicles, orders, order_items, payments;
    END IF;
END;
$$;
