package actors

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// positions are next offsets to read, by partition of one topic.
type positions map[int32]int64

func (p positions) clone() positions { return maps.Clone(p) }

// below reports whether p is below q in some partition (a partition
// missing from p counts as 0).
func (p positions) below(q positions) bool {
	for part, n := range q {
		if p[part] < n {
			return true
		}
	}
	return false
}

// minWith returns, per partition of p or q, the lower offset (a missing
// partition counts as 0).
func (p positions) minWith(q positions) positions {
	out := positions{}
	for part := range p {
		out[part] = min(p[part], q[part])
	}
	for part := range q {
		out[part] = min(p[part], q[part])
	}
	return out
}

// globalProgress says, for an order-stream partition, up to where the
// facts in the sinks reflect the global tables: for every record of
// customers and vehicles before these positions, the facts it affects
// were re-emitted from state that included it and acknowledged. It
// travels with the partition's committed offsets as their commit
// metadata, so that whichever node owns the partition next knows which
// dimension changes it must still apply to the partition's facts (see
// the package doc, "Dimension changes and ownership").
type globalProgress struct {
	customers positions
	vehicles  positions
	// version is the partition's fact-version reservation: no fact
	// version the partition's owner emitted, nor will emit before its
	// next commit, exceeds it (see reservation). The next owner starts
	// its clock above it.
	version uint64
	// mirrors says that, for partition 0, the positions also cover the
	// global tables' mirror rows (the mirror writer's; metadata before
	// metaVersion says nothing of them).
	mirrors bool
}

func (g *globalProgress) of(t topology.Table) *positions {
	if t == topology.TableCustomers {
		return &g.customers
	}
	return &g.vehicles
}

// metaVersion heads the metadata encodeProgress writes; metaVersion2,
// written before the owner of partition 0 wrote the global tables' mirror
// rows, and metaVersion1, without the version reservation either, are
// still read.
const (
	metaVersion  = "drivetrain/3"
	metaVersion2 = "drivetrain/2"
	metaVersion1 = "drivetrain/1"
)

// reservationLease is how far above the partition's clock (the higher of
// its highest emitted fact version and the wall clock) its owner reserves
// versions in the commit metadata. A partition emits only while the
// committed reservation exceeds its clock by half a lease (30 s of
// versions): so every version an owner may have written lies below the
// last reservation it committed, crash or not, and the next owner, which
// starts its clock there, supersedes them whatever the two nodes' clocks
// say. Commits come every CommitInterval (a second by default), so the
// wait is felt only when a partition starts (one commit before its first
// emission) or when commits fail for 30 s (emission then stops). Each
// takeover moves the partition's versions up to a minute ahead of the
// wall clock; they stay strictly increasing (NextVersion), only less
// informative.
const reservationLease = uint64(time.Minute)

// encodeProgress renders g as commit metadata:
//
//	drivetrain/3 version=1796661556148904294 customers=0:120,1:98 vehicles=0:4000
//
// (partition:next offset pairs, partitions ascending). A few dozen bytes
// per topic: well within the brokers' offset.metadata.max.bytes (4096 by
// default) for any sane partition count.
func encodeProgress(g globalProgress) string {
	var b strings.Builder
	b.WriteString(metaVersion)
	b.WriteString(" version=")
	b.WriteString(strconv.FormatUint(g.version, 10))
	for _, t := range []topology.Table{topology.TableCustomers, topology.TableVehicles} {
		p := *g.of(t)
		b.WriteByte(' ')
		b.WriteString(t.String())
		b.WriteByte('=')
		for i, part := range slices.Sorted(maps.Keys(p)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(int64(part), 10))
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(p[part], 10))
		}
	}
	return b.String()
}

// ReservedVersion returns the fact-version reservation of a partition's
// commit metadata, as a node writes it (see reservationLease): no fact
// version the partition's owner emitted exceeds it. ok is false for
// metadata without one (another tool's, or the first format's).
func ReservedVersion(meta string) (version uint64, ok bool) {
	g, ok := parseProgress(meta)
	return g.version, ok && g.version > 0
}

// parseProgress parses what encodeProgress writes; ok is false for
// anything else (no metadata, or metadata written by another tool or
// version), which callers must read as "nothing is known".
func parseProgress(s string) (g globalProgress, ok bool) {
	fields := strings.Fields(s)
	if len(fields) == 0 || fields[0] != metaVersion && fields[0] != metaVersion2 && fields[0] != metaVersion1 {
		return g, false
	}
	g.customers, g.vehicles = positions{}, positions{}
	g.mirrors = fields[0] == metaVersion
	for _, f := range fields[1:] {
		name, list, found := strings.Cut(f, "=")
		if name == "version" && fields[0] != metaVersion1 {
			v, err := strconv.ParseUint(list, 10, 64)
			if err != nil {
				return globalProgress{}, false
			}
			g.version = v
			continue
		}
		t := topology.TableNamed(name)
		if !found || !t.Global() {
			return globalProgress{}, false
		}
		p := *g.of(t)
		if list == "" {
			continue
		}
		for _, pair := range strings.Split(list, ",") {
			ps, os, found := strings.Cut(pair, ":")
			part, err1 := strconv.ParseInt(ps, 10, 32)
			off, err2 := strconv.ParseInt(os, 10, 64)
			if !found || err1 != nil || err2 != nil || part < 0 || off < 0 {
				return globalProgress{}, false
			}
			p[int32(part)] = off
		}
	}
	return g, true
}
