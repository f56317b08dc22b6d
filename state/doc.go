// Package state is drivetrain's Pebble-backed storage: typed tables of the
// source rows, the secondary indexes the joins need, per-key fact versions
// and per-partition consumed offsets.
package state
