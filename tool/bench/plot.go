package bench

import (
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
// their names: throughput.png (events/s per suite, a bar per system),
// freshness.png (freshness percentiles per source rate) and
// latency-cdf.png (the distribution of freshness per rate),
// soak-rate.png and soak-memory.png (the soak's readings over time). A plot with
// nothing to draw is not written.
func writePlots(res *Results, dir string) ([]string, error) {
	var out []string
	for _, p := range []struct {
		name string
		draw func(*Results) (*plot.Plot, error)
	}{
		{"throughput.png", throughputPlot},
		{"freshness.png", freshnessPlot},
		{"latency-cdf.png", cdfPlot},
		{"soak-rate.png", seriesPlot("Soak: the processing step's rate", "events/s")},
		{"soak-memory.png", seriesPlot("Soak: memory", "MB")},
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

func throughputPlot(res *Results) (*plot.Plot, error) {
	var suites, systems []string
	vals := map[string]map[string]float64{}
	for _, f := range res.Figures {
		if f.Name != "throughput" || f.Unit != "events/s" {
			continue
		}
		if !slices.Contains(suites, f.Suite) {
			suites = append(suites, f.Suite)
		}
		if !slices.Contains(systems, f.System) {
			systems = append(systems, f.System)
		}
		if vals[f.System] == nil {
			vals[f.System] = map[string]float64{}
		}
		vals[f.System][f.Suite] = f.Median
	}
	if len(suites) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Throughput (median of runs)"
	p.Y.Label.Text = "events/s"
	w := vg.Points(60 / float64(len(systems)))
	for i, sys := range systems {
		v := make(plotter.Values, len(suites))
		for j, s := range suites {
			v[j] = vals[sys][s]
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
	}
	p.Legend.Top = true
	p.NominalX(suites...)
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
			if s.Unit != unit {
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
