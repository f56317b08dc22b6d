// Package drivetrain is the root of the drivetrain module: a stream
// processor that turns the Debezium change stream of a car e-commerce
// PostgreSQL database into denormalized sales facts in ClickHouse.
//
// The code lives in the subpackages (see docs/design.md, Layout, and layout_test.go, which
// enforces the dependency rules between them); the binary is cmd/drivetrain.
package drivetrain
