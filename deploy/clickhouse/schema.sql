-- drivetrain's ClickHouse output tables (docs/design.md, Outputs), for creating them by
-- hand. drivetrain creates what is missing and checks every table itself at
-- start (idempotent). Database drivetrain, no table suffix. Generated from
-- sinks.DDL: do not edit; run go test ./sinks -run TestSchemaFiles -update
--
-- Mirror tables hold the source columns plus _version (source.lsn) and
-- _deleted; the highest _version of each id wins when parts merge (query
-- with FINAL). sales_facts_current is the FINAL, non-deleted facts.
--
-- For ClickHouse 21.9 and later: TIMESTAMPTZ is DateTime64(6, 'UTC'), DATE
-- is Date32. For older servers use schema-legacy.sql.

CREATE DATABASE IF NOT EXISTS drivetrain;

CREATE TABLE IF NOT EXISTS drivetrain.customers
(
    id Int64,
    email String,
    first_name String,
    last_name String,
    phone Nullable(String),
    city String,
    region Nullable(String),
    country String,
    segment String,
    birth_date Nullable(Date32),
    created_at DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC'),
    _version UInt64,
    _deleted UInt8
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS drivetrain.vehicles
(
    id Int64,
    vin String,
    make String,
    model String,
    model_year Int16,
    body_type String,
    fuel_type String,
    transmission String,
    color Nullable(String),
    mileage_km Int32,
    condition String,
    list_price Decimal(12, 2),
    cost_price Nullable(Decimal(12, 2)),
    stock_status String,
    features Nullable(String),
    created_at DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC'),
    _version UInt64,
    _deleted UInt8
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS drivetrain.orders
(
    id Int64,
    customer_id Int64,
    status String,
    channel String,
    currency String,
    order_date DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC'),
    _version UInt64,
    _deleted UInt8
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS drivetrain.order_items
(
    id Int64,
    order_id Int64,
    vehicle_id Int64,
    quantity Int32,
    unit_price Decimal(12, 2),
    discount Decimal(12, 2),
    _version UInt64,
    _deleted UInt8
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS drivetrain.payments
(
    id Int64,
    order_id Int64,
    amount Decimal(12, 2),
    method String,
    status String,
    paid_at Nullable(DateTime64(6, 'UTC')),
    created_at DateTime64(6, 'UTC'),
    _version UInt64,
    _deleted UInt8
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS drivetrain.sales_facts
(
    order_item_id Int64,
    order_id Int64,
    order_date DateTime('UTC'),
    order_status String,
    channel String,
    currency String,
    customer_id Int64,
    customer_name String,
    customer_email String,
    customer_city String,
    customer_region String,
    customer_country String,
    customer_segment String,
    vehicle_id Int64,
    vin String,
    make String,
    model String,
    model_year Int16,
    body_type String,
    fuel_type String,
    condition String,
    list_price Decimal(12, 2),
    quantity Int32,
    unit_price Decimal(12, 2),
    discount Decimal(12, 2),
    line_total Decimal(12, 2),
    order_total Decimal(18, 2),
    order_paid Decimal(18, 2),
    payment_status String,
    updated_at DateTime('UTC'),
    _version UInt64,
    _deleted UInt8
)
ENGINE = ReplacingMergeTree(_version)
PARTITION BY toYYYYMM(order_date)
ORDER BY (order_id, order_item_id);

CREATE VIEW IF NOT EXISTS drivetrain.sales_facts_current AS
SELECT * FROM drivetrain.sales_facts FINAL WHERE _deleted = 0;
