package sinks

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a ClickHouse server version (18.16.1, 24.8.4).
type Version struct {
	Major, Minor, Patch int
}

// ParseVersion parses "18.16.1" or "24.8.4.13" (parts after the third
// are ignored).
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("parsing clickhouse version %q: want major.minor[.patch]", s)
	}
	var v Version
	for i, dst := range []*int{&v.Major, &v.Minor, &v.Patch} {
		if i >= len(parts) {
			break
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("parsing clickhouse version %q: part %d is not a number", s, i+1)
		}
		*dst = n
	}
	return v, nil
}

// AtLeast reports whether v is major.minor or later.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// layout is the choice of column types that depend on the server: the
// newer types hold PostgreSQL's values exactly, the older ones work on
// every server (see the package doc).
type layout struct {
	// micros stores TIMESTAMPTZ as DateTime64(6, 'UTC') (20.1+) rather
	// than DateTime('UTC') seconds.
	micros bool
	// date32 stores DATE as Date32 (21.9+) rather than as a String
	// 'YYYY-MM-DD' (Date's range starts in 1970, birth dates do not).
	date32 bool
}

// layoutFor returns the preferred layout on a server of version v.
func layoutFor(v Version) layout {
	return layout{micros: v.AtLeast(20, 1), date32: v.AtLeast(21, 9)}
}

// Modern and legacy layouts, for schema files and tests.
var (
	modernLayout = layout{micros: true, date32: true}
	legacyLayout = layout{}
)

// layoutsFor returns the layouts a server of version v can hold, the
// preferred one first: an existing table in any of them is accepted (a
// table created before a server upgrade keeps its older types).
func layoutsFor(v Version) []layout {
	pref := layoutFor(v)
	out := []layout{pref}
	for _, l := range []layout{modernLayout, {micros: true}, {date32: true}, legacyLayout} {
		if l == pref || l.micros && !pref.micros || l.date32 && !pref.date32 {
			continue
		}
		out = append(out, l)
	}
	return out
}
