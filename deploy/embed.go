// Package deploy holds everything needed to run drivetrain: the local stack
// (deploy/local), the PostgreSQL schema, the Debezium connector config and,
// later, docker-compose, Kubernetes and Grafana files.
//
// The Go part only embeds the files the binary needs at run time, so that
// `drivetrain connector register` works from any directory.
package deploy

import _ "embed"

// ConnectorJSON is deploy/debezium/connector.json: the Debezium PostgreSQL
// connector of docs/design.md (Topics, keys and partitioning), as `{"name": …, "config": {…}}`.
//
//go:embed debezium/connector.json
var ConnectorJSON []byte

// SchemaSQL is deploy/postgres/schema.sql: the source schema of docs/design.md (Source data model).
//
//go:embed postgres/schema.sql
var SchemaSQL string

// QueriesSQL is deploy/clickhouse/queries.sql: the canned reports and the
// dashboard's queries over the ClickHouse tables.
//
//go:embed clickhouse/queries.sql
var QueriesSQL string
