package bench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// writeReport writes report.md: the machine, the figures with each peer's
// ratio to drivetrain, the checks, the failures and the plots.
func writeReport(w io.Writer, res *Results, plots []string) {
	m := res.Machine
	fmt.Fprintf(w, "# drivetrain bench, %s\n\n", res.Started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Command: `%s`\n\n", res.Command)
	fmt.Fprintf(w, "Machine: %d cores (%s), %.1f GiB, %s; load average %.2f before, %.2f after; versions: %s.\n\n",
		m.Cores, m.CPUModel, float64(m.MemoryBytes)/(1<<30), m.Kernel, m.LoadBefore[0], m.LoadAfter[0], versions(m.Versions))
	fmt.Fprintf(w, "Each figure is the median of %d runs, with the minimum and maximum; CPU is the measured process's CPU seconds per million events.\n\n", res.Settings.Runs)
	Summary(w, res)
	fmt.Fprintf(w, "\n## All figures\n\n")
	Table(w, res)
	if len(res.Checks) > 0 {
		fmt.Fprintf(w, "\n## Same facts\n\n| peer | equal | facts | checksum | drivetrain facts | drivetrain checksum |\n|---|---|---|---|---|---|\n")
		for _, c := range res.Checks {
			fmt.Fprintf(w, "| %s | %v | %d | %s | %d | %s |\n", c.System, c.Equal, c.Facts, c.Checksum, c.WantFacts, c.WantChecksum)
		}
		fmt.Fprintf(w, "\nThe checksum covers %s.\n", strings.Join(res.Checks[0].Columns, ", "))
	}
	if len(res.Failures) > 0 {
		fmt.Fprintf(w, "\n## Not measured\n\n")
		for _, f := range res.Failures {
			fmt.Fprintf(w, "- %s: %s\n", strings.TrimSuffix(f.Suite+"/"+f.System, "/"), f.Error)
		}
	}
	if len(plots) > 0 {
		fmt.Fprintf(w, "\n## Plots\n\n")
		for _, p := range plots {
			fmt.Fprintf(w, "![%s](%s)\n\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
}

// Table writes the figures as a Markdown table, with each peer's ratio to
// drivetrain's figure of the same suite and name (above 1: drivetrain is
// better).
func Table(w io.Writer, res *Results) {
	fmt.Fprintf(w, "| suite | figure | system | median | min – max | CPU s / M events | drivetrain vs this |\n|---|---|---|---|---|---|---|\n")
	for _, f := range res.Figures {
		name := f.Name
		if f.Rate > 0 {
			name += fmt.Sprintf(" at %s/s", num(f.Rate))
		}
		if f.Customers > 0 {
			name += fmt.Sprintf(", %s customers", count(f.Customers))
		}
		cpu := "–"
		if f.CPUSecondsPerMillion > 0 {
			cpu = fmt.Sprintf("%.1f", f.CPUSecondsPerMillion)
		}
		ratio := "–"
		if isPeer(f.System) {
			d := f
			d.System = "drivetrain"
			if dt, ok := res.figure(d.Key()); ok && dt.Median > 0 && f.Median > 0 {
				x := dt.Median / f.Median
				if !f.HigherIsBetter {
					x = f.Median / dt.Median
				}
				ratio = fmt.Sprintf("%.2f×", x)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s %s | %s – %s | %s | %s |\n", f.Suite, name, f.System,
			num(f.Median), f.Unit, num(f.Min), num(f.Max), cpu, ratio)
	}
}

func versions(v map[string]string) string {
	var keys []string
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" "+v[k])
	}
	return strings.Join(parts, ", ")
}

// Compare writes the differences between two results files: every figure
// of either, its medians and the change, marked better or worse beyond
// the spread of the runs.
func Compare(w io.Writer, a, b *Results) {
	fmt.Fprintf(w, "A: %s, load %.2f–%.2f: %s\nB: %s, load %.2f–%.2f: %s\n\n",
		a.Started.Format("2006-01-02 15:04"), a.Machine.LoadBefore[0], a.Machine.LoadAfter[0], a.Command,
		b.Started.Format("2006-01-02 15:04"), b.Machine.LoadBefore[0], b.Machine.LoadAfter[0], b.Command)
	seen := map[string]bool{}
	var keys []string
	for _, r := range []*Results{a, b} {
		for _, f := range r.Figures {
			if !seen[f.Key()] {
				seen[f.Key()] = true
				keys = append(keys, f.Key())
			}
		}
	}
	fmt.Fprintf(w, "%-44s %14s %14s %9s  %s\n", "figure", "A", "B", "change", "")
	for _, k := range keys {
		fa, okA := a.figure(k)
		fb, okB := b.figure(k)
		switch {
		case !okA:
			fmt.Fprintf(w, "%-44s %14s %14s %9s  only in B\n", k, "–", num(fb.Median), "")
		case !okB:
			fmt.Fprintf(w, "%-44s %14s %14s %9s  only in A\n", k, num(fa.Median), "–", "")
		default:
			change := "–"
			if fa.Median != 0 {
				change = fmt.Sprintf("%+.1f%%", 100*(fb.Median-fa.Median)/fa.Median)
			}
			verdict := ""
			// Beyond the spread: B's whole range above or below A's.
			switch up := fb.Min > fa.Max; {
			case up || fb.Max < fa.Min:
				if up == fa.HigherIsBetter {
					verdict = "better"
				} else {
					verdict = "worse"
				}
			default:
				verdict = "within the spread"
			}
			fmt.Fprintf(w, "%-44s %14s %14s %9s  %s %s\n", k, num(fa.Median), num(fb.Median), change, verdict, fa.Unit)
			if fa.CPUSecondsPerMillion > 0 && fb.CPUSecondsPerMillion > 0 {
				fmt.Fprintf(w, "%-44s %14.1f %14.1f %+8.1f%%  CPU s / M events\n", "", fa.CPUSecondsPerMillion, fb.CPUSecondsPerMillion,
					100*(fb.CPUSecondsPerMillion-fa.CPUSecondsPerMillion)/fa.CPUSecondsPerMillion)
			}
		}
	}
}

// isPeer reports whether system is one of the peers (not drivetrain, nor
// a share of its path such as debezium).
func isPeer(system string) bool {
	for _, p := range peers {
		if p.name == system {
			return true
		}
	}
	return false
}

// Summary writes one row per figure (suite, name and rate) with each
// system's median side by side (CPU seconds per million events in
// parentheses) and drivetrain's ratio to each peer (above 1: drivetrain
// is better).
func Summary(w io.Writer, res *Results) {
	var systems, peersSeen []string
	type row struct {
		label string
		unit  string
		by    map[string]Figure
	}
	var rows []*row
	index := map[string]*row{}
	for _, f := range res.Figures {
		if !slices.Contains(systems, f.System) {
			systems = append(systems, f.System)
			if isPeer(f.System) {
				peersSeen = append(peersSeen, f.System)
			}
		}
		label := f.Name
		if !strings.HasPrefix(f.Name, f.Suite) {
			label = f.Suite + " " + f.Name
		}
		if f.System == "debezium" {
			label += " (Debezium's share)"
		}
		if f.Rate > 0 {
			label += fmt.Sprintf(" at %s/s", num(f.Rate))
		}
		if f.Customers > 0 {
			label += fmt.Sprintf(", %s customers", count(f.Customers))
		}
		rw := index[label]
		if rw == nil {
			rw = &row{label: label, unit: f.Unit, by: map[string]Figure{}}
			index[label] = rw
			rows = append(rows, rw)
		}
		rw.by[f.System] = f
	}
	cols := []string{"drivetrain"}
	cols = append(cols, peersSeen...)
	fmt.Fprintf(w, "| figure | unit | %s |", strings.Join(cols, " | "))
	for _, p := range peersSeen {
		fmt.Fprintf(w, " drivetrain ÷ %s |", p)
	}
	fmt.Fprintf(w, "\n|---|---|%s", strings.Repeat("---|", len(cols)+len(peersSeen)))
	fmt.Fprintln(w)
	for _, rw := range rows {
		fmt.Fprintf(w, "| %s | %s |", rw.label, rw.unit)
		for _, c := range cols {
			f, ok := rw.by[c]
			if c == "drivetrain" && !ok {
				f, ok = rw.by["debezium"]
			}
			switch {
			case !ok:
				fmt.Fprint(w, " – |")
			case f.CPUSecondsPerMillion > 0:
				fmt.Fprintf(w, " %s (%.1f) |", num(f.Median), f.CPUSecondsPerMillion)
			default:
				fmt.Fprintf(w, " %s |", num(f.Median))
			}
		}
		for _, p := range peersSeen {
			d, okD := rw.by["drivetrain"]
			f, okP := rw.by[p]
			if !okD || !okP || d.Median == 0 || f.Median == 0 {
				fmt.Fprint(w, " – |")
				continue
			}
			x := d.Median / f.Median
			if !d.HigherIsBetter {
				x = f.Median / d.Median
			}
			fmt.Fprintf(w, " %.2f× |", x)
		}
		fmt.Fprintln(w)
	}
}
