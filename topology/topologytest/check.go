package topologytest

import (
	"fmt"
	"strings"

	"github.com/drivetrain-cdc/drivetrain/topology"
)

// Diff compares what the sink holds with what the tables say it should:
// the live mirror rows (content and _version) and sales_facts_current
// (content; _version aside), as FINAL sees it within partitions and
// across them. It returns "" when they agree, else a report
// of the first differences.
func Diff(want *Tables, got *Sink) string {
	var b strings.Builder
	type mk struct {
		t  topology.Table
		id int64
	}
	diffRows(&b, "mirror", want.Mirrors(), got.LiveMirrors(),
		func(m topology.Mirror) mk { return mk{m.Row.Table, m.Row.ID()} },
		func(m topology.Mirror) string { return FormatMirror(&m) })
	factKey := func(f topology.Fact) topology.ItemRef {
		return topology.ItemRef{OrderID: f.OrderID, ItemID: f.OrderItemID}
	}
	formatFact := func(f topology.Fact) string { return strings.TrimSuffix(FormatFact(&f), "\n") }
	wantFacts := want.Facts()
	diffRows(&b, "fact", wantFacts, got.CurrentFacts(), factKey, formatFact)
	diffRows(&b, "fact (FINAL across partitions)", wantFacts, got.CurrentFactsAcross(), factKey, formatFact)
	return b.String()
}

// diffRows writes up to 5 differences between two lists keyed by key.
// Rows are compared with ==; only differing ones are formatted.
func diffRows[T, K comparable](b *strings.Builder, kind string, want, got []T, key func(T) K, format func(T) string) {
	const limit = 5
	n := 0
	wants := make(map[K]T, len(want))
	for _, w := range want {
		wants[key(w)] = w
	}
	seen := make(map[K]int, len(got))
	for _, g := range got {
		k := key(g)
		seen[k]++
		if n >= limit {
			continue
		}
		w, ok := wants[k]
		switch {
		case seen[k] > 1:
			fmt.Fprintf(b, "%s %v: more than one live row in the sink (a row left behind in another partition?):\n  %s\n", kind, k, format(g))
			n++
		case !ok:
			fmt.Fprintf(b, "%s %v: unexpected in the sink:\n  %s\n", kind, k, format(g))
			n++
		case w != g:
			fmt.Fprintf(b, "%s %v differs:\n  want %s\n  got  %s\n", kind, k, format(w), format(g))
			n++
		}
	}
	for _, w := range want {
		if n >= limit {
			break
		}
		if k := key(w); seen[k] == 0 {
			fmt.Fprintf(b, "%s %v: missing from the sink:\n  %s\n", kind, k, format(w))
			n++
		}
	}
}
