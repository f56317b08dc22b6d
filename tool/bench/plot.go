package bench

import (
	"cmp"
	"fmt"
	"image/color"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writePlots draws the figures of res into dir as PNG files and returns
// their names: throughput.png (events/s of the suites measured for
// several systems, a bar per system), cpu.png (their CPU seconds per
// million events), drivetrain-suites.png (drivetrain's
// throughput in each suite),
// freshness.png (freshness percentiles per source rate) and
// latency-cdf.png (the distribution of freshness per rate),
// soak-rate.png and soak-memory.png (the soak's readings over time),
// scale-rate.png and scale-memory.png (the processing step's events/s and
// memory per size of the customers table). A plot with nothing to draw
// is not written.
func writePlots(res *Results, dir string) ([]string, error) {
	var out []string
	for _, p := range []struct {
		name string
		draw func(*Results) (*plot.Plot, error)
	}{
		{"throughput.png", throughputPlot},
		{"cpu.png", cpuPlot},
		{"drivetrain-suites.png", stagesPlot},
		{"freshness.png", freshnessPlot},
		{"latency-cdf.png", cdfPlot},
		{"soak-rate.png", seriesPlot("Soak: the processing step's rate", "events/s")},
		{"soak-memory.png", seriesPlot("Soak: memory", "MB")},
		{"scale-rate.png", scalePlot("The processing step's rate by state size", "events/s")},
		{"scale-memory.png", scalePlot("Memory by state size (after the runs)", "MB")},
	} {
		pl, err := p.draw(res)
		if err != nil {
			return out, fmt.Errorf("%s: %w", p.name, err)
		}
		if pl == nil {
			continue
		}
		if err := pl.Save(8*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, p.name)); err != nil {
			return out, fmt.Errorf("saving %s: %w", p.name, err)
		}
		out = append(out, p.name)
	}
	return out, nil
}

// systemColor gives each system the same colour in every plot.
func systemColor(system string) color.Color {
	for i, s := range []string{"drivetrain", "python", "kafka-streams", "flink"} {
		if s == system {
			return plotutil.Color(i)
		}
	}
	return plotutil.Color(5)
}

// throughputPlot draws the events/s of the suites measured for more than
// one system (catchup: drivetrain and its peers), a bar per system with
// its value; cpuPlot their CPU seconds per million events.
func throughputPlot(res *Results) (*plot.Plot, error) {
	return comparisonPlot(res, "The same topics to the same facts: events/s (median of runs)", "events/s",
		func(f Figure) float64 { return f.Median })
}

func cpuPlot(res *Results) (*plot.Plot, error) {
	return comparisonPlot(res, "The same topics to the same facts: CPU seconds per million events", "CPU s / M events",
		func(f Figure) float64 { return f.CPUSecondsPerMillion })
}

func comparisonPlot(res *Results, title, unit string, value func(Figure) float64) (*plot.Plot, error) {
	bySuite := map[string][]Figure{}
	var suites []string
	for _, f := range res.Figures {
		// A scale figure is one size of one system: its own plot.
		if f.Name != "throughput" || f.Unit != "events/s" || f.Customers > 0 {
			continue
		}
		if _, ok := bySuite[f.Suite]; !ok {
			suites = append(suites, f.Suite)
		}
		bySuite[f.Suite] = append(bySuite[f.Suite], f)
	}
	var shown []string
	var systems []string
	for _, s := range suites {
		if len(bySuite[s]) < 2 {
			continue
		}
		shown = append(shown, s)
		for _, f := range bySuite[s] {
			if !slices.Contains(systems, f.System) {
				systems = append(systems, f.System)
			}
		}
	}
	if len(shown) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit
	w := vg.Points(120 / float64(len(systems)))
	for i, sys := range systems {
		v := make(plotter.Values, len(shown))
		for j, s := range shown {
			for _, f := range bySuite[s] {
				if f.System == sys {
					v[j] = value(f)
				}
			}
		}
		b, err := plotter.NewBarChart(v, w)
		if err != nil {
			return nil, err
		}
		b.Color = systemColor(sys)
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(float64(i)-float64(len(systems)-1)/2)
		p.Add(b)
		p.Legend.Add(sys, b)
		if err := addBarLabels(p, v, b.Offset, w); err != nil {
			return nil, err
		}
	}
	p.Legend.Top = true
	p.NominalX(shown...)
	return p, nil
}

// addBarLabels writes each bar's value above it.
func addBarLabels(p *plot.Plot, v plotter.Values, offset, width vg.Length) error {
	xys := make(plotter.XYs, len(v))
	labels := make([]string, len(v))
	for j := range v {
		xys[j] = plotter.XY{X: float64(j), Y: v[j]}
		labels[j] = num(v[j])
		if v[j] < 100 {
			labels[j] = fmt.Sprintf("%.1f", v[j])
		}
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = -0.5
		l.TextStyle[i].YAlign = 0
	}
	l.Offset = vg.Point{X: offset, Y: 2}
	p.Add(l)
	return nil
}

// stagesPlot draws drivetrain's throughput in each suite that measures
// one (decode, process, soak, sink, catchup, rebuild).
func stagesPlot(res *Results) (*plot.Plot, error) {
	var names []string
	var v plotter.Values
	for _, f := range res.Figures {
		if f.System == "drivetrain" && f.Name == "throughput" && f.Customers == 0 {
			names = append(names, f.Suite+" ("+f.Unit+")")
			v = append(v, f.Median)
		}
	}
	if len(v) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "drivetrain's throughput per suite (median of runs)"
	b, err := plotter.NewBarChart(v, vg.Points(40))
	if err != nil {
		return nil, err
	}
	b.Color = systemColor("drivetrain")
	b.LineStyle.Width = 0
	p.Add(b)
	if err := addBarLabels(p, v, 0, vg.Points(40)); err != nil {
		return nil, err
	}
	p.NominalX(names...)
	return p, nil
}

func freshnessPlot(res *Results) (*plot.Plot, error) {
	lines := map[string]plotter.XYs{}
	var names []string
	for _, f := range res.Figures {
		if f.Suite != "freshness" || f.Rate <= 0 || f.Unit != "ms" {
			continue
		}
		k := f.System + " " + f.Name
		if _, ok := lines[k]; !ok {
			names = append(names, k)
		}
		lines[k] = append(lines[k], plotter.XY{X: f.Rate, Y: f.Median})
	}
	if len(names) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Freshness: source commit to ClickHouse acknowledgement"
	p.X.Label.Text = "source changes/s"
	p.Y.Label.Text = "ms"
	for i, k := range names {
		slices.SortFunc(lines[k], func(a, b plotter.XY) int { return int(a.X - b.X) })
		l, pts, err := plotter.NewLinePoints(lines[k])
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(k, l, pts)
	}
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

func cdfPlot(res *Results) (*plot.Plot, error) {
	if len(res.Distributions) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Freshness distribution (CDF)"
	p.X.Label.Text = "ms (log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Label.Text = "fraction of changes"
	for i, d := range res.Distributions {
		var xy plotter.XYs
		for j := range d.Q {
			if d.Values[j] > 0 { // a log scale has no 0
				xy = append(xy, plotter.XY{X: d.Values[j], Y: d.Q[j]})
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		p.Add(l)
		name := d.System + " " + d.Name
		if d.Rate > 0 {
			name += fmt.Sprintf(" at %s/s", num(d.Rate))
		}
		p.Legend.Add(name, l)
	}
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

// seriesPlot draws the series of the given unit over time.
func seriesPlot(title, unit string) func(*Results) (*plot.Plot, error) {
	return func(res *Results) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "seconds"
		p.Y.Label.Text = unit
		n := 0
		for _, s := range res.Series {
			if s.Suite != "soak" || s.Unit != unit {
				continue
			}
			xy := make(plotter.XYs, len(s.T))
			for i := range s.T {
				xy[i] = plotter.XY{X: s.T[i], Y: s.Values[i]}
			}
			l, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, err
			}
			l.Color, pts.Color = plotutil.Color(n), plotutil.Color(n)
			pts.Shape = plotutil.Shape(n)
			p.Add(l, pts)
			p.Legend.Add(s.System+" "+s.Name, l, pts)
			n++
		}
		if n == 0 {
			return nil, nil
		}
		p.Y.Min = 0
		p.Legend.Top = false
		return p, nil
	}
}

// scalePlot draws the scale suite's figures of the given unit against
// the number of customers (log scale), a line per figure name.
func scalePlot(title, unit string) func(*Results) (*plot.Plot, error) {
	return func(res *Results) (*plot.Plot, error) {
		lines := map[string]plotter.XYs{}
		var names []string
		for _, f := range res.Figures {
			if f.Suite != "scale" || f.Unit != unit || f.Customers <= 0 {
				continue
			}
			if _, ok := lines[f.Name]; !ok {
				names = append(names, f.Name)
			}
			lines[f.Name] = append(lines[f.Name], plotter.XY{X: float64(f.Customers), Y: f.Median})
		}
		if len(names) == 0 {
			return nil, nil
		}
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "customers (log scale)"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text = unit
		p.Y.Min = 0
		for i, k := range names {
			slices.SortFunc(lines[k], func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
			l, pts, err := plotter.NewLinePoints(lines[k])
			if err != nil {
				return nil, err
			}
			l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
			pts.Shape = plotutil.Shape(i)
			p.Add(l, pts)
			p.Legend.Add("drivetrain "+k, l, pts)
		}
		p.Legend.Top = true
		return p, nil
	}
}
