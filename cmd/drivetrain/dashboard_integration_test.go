//go:build integration

package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/drivetrain-cdc/drivetrain/deploy"
	"github.com/drivetrain-cdc/drivetrain/tool/dashboard"
)

// TestIntegrationDashboard runs `drivetrain dashboard` against the local
// stack and reads its pages in headless Chromium: first with no tables
// and with ClickHouse unreachable (both shown as such), then over the
// facts a node writes from `drivetrain generate`. On every page it waits
// for the charts, compares every figure and chart point shown with the
// page's queries run directly with the same parameters, and saves a
// screenshot (in $DRIVETRAIN_DASHBOARD_SCREENSHOTS if set, else the
// test's temporary directory). Then it writes a new order to PostgreSQL,
// waits for it to reach ClickHouse, and waits for the open "sales now"
// page to show it without a reload.
func TestIntegrationDashboard(t *testing.T) {
	r := newPipelineRun(t, "dash")
	ctx := r.ctx
	shots := os.Getenv("DRIVETRAIN_DASHBOARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	browser := newBrowser(t, ctx)

	// No drivetrain tables yet: the page says so.
	empty := startDashboard(t, "--database", r.database)
	requirePageState(t, browser, empty+"/now", "missing", "No data yet")
	// ClickHouse unreachable: the page says so too.
	down := startDashboard(t, "--clickhouse", "http://"+freeAddr(t))
	requirePageState(t, browser, down+"/inventory", "unreachable", "ClickHouse is unreachable")
	screenshot(t, browser, filepath.Join(shots, "unreachable.png"))

	node := newTestNode(t, "dash-1", r.group, r.database, t.TempDir())
	node.start()
	stdout, stderr, code := runCLI(t, "generate", "--changes", "1500", "--rate", "300", "--seed", strconv.FormatInt(r.suffix%1000, 10), "--scale", "300")
	require.Zero(t, code, "generate:\n%s%s", stdout, stderr)
	waitConverged(ctx, t, r.pg, r.ch, node)

	base := startDashboard(t, "--database", r.database, "--node", node.url)
	qs, err := dashboard.ParseQueries(deploy.QueriesSQL)
	require.NoError(t, err)
	queries := map[string]dashboard.Query{}
	for _, q := range qs {
		queries[q.Name] = q
	}
	for _, p := range dashboard.Pages {
		t.Run(p.Name, func(t *testing.T) {
			target := base + "/" + p.Name
			if p.Name == "history" {
				target += "?bucket=week"
			}
			require.NoError(t, chromedp.Do(browser, chromedp.Navigate(target)))
			requireShowsQueries(t, browser, r, queries, p)
			screenshot(t, browser, filepath.Join(shots, p.Name+".png"))
		})
	}

	// The search: the orders of a customer, by email.
	rows, err := r.ch.Query(ctx, fmt.Sprintf("SELECT customer_email FROM %s.sales_facts_current WHERE customer_email != '' ORDER BY order_id DESC LIMIT 1", r.database), 1)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	tx, _ := dashboard.PageNamed("transactions")
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(base+"/transactions?q="+url.QueryEscape(rows[0][0]))))
	requireShowsQueries(t, browser, r, queries, tx)
	found, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll('td[data-q="tx-search"][data-col="email"]').length`))
	require.NoError(t, err)
	require.Positive(t, found, "the search for %s shows its orders", rows[0][0])
	screenshot(t, browser, filepath.Join(shots, "transactions-search.png"))

	// A new order appears on the open "sales now" page once it reaches
	// ClickHouse, without reloading the page.
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(base+"/now")))
	waitLoaded(t, browser, "ok")
	loadsBefore, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.body.dataset.loads`))
	require.NoError(t, err)
	orderID := insertOrder(t, ctx, r)
	var reached time.Time
	require.NoError(t, waitFor(ctx, 3*time.Minute, func(ctx context.Context) (bool, string) {
		rows, err := r.ch.Query(ctx, fmt.Sprintf("SELECT toString(count()) FROM %s.sales_facts_current WHERE order_id = %d", r.database, orderID), 1)
		if err != nil {
			return false, err.Error()
		}
		reached = time.Now()
		return rows[0][0] != "0", "order not in ClickHouse yet"
	}), "order %d never reached ClickHouse", orderID)
	sel := fmt.Sprintf(`td[data-q="now-latest"][data-col="order_no"][data-raw="%d"]`, orderID)
	require.NoError(t, waitFor(ctx, time.Minute, func(ctx context.Context) (bool, string) {
		n, err := chromedp.Run(browser, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('%s').length`, sel)))
		if err != nil {
			return false, err.Error()
		}
		return n == 1, "order not on the page yet"
	}), "order %d reached ClickHouse but the sales now page does not show it", orderID)
	t.Logf("order %d shown %s after ClickHouse had it", orderID, time.Since(reached).Round(100*time.Millisecond))
	loadsAfter, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.body.dataset.loads`))
	require.NoError(t, err)
	before, _ := strconv.Atoi(loadsBefore)
	after, _ := strconv.Atoi(loadsAfter)
	require.Greater(t, after, before, "the page refreshed in place (its load counter went on)")
	t.Logf("screenshots in %s", shots)
}

// newBrowser starts headless Chromium (Debian's chromium package, which
// deploy/local/stack.sh installs) for the test.
func newBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed: deploy/local/stack.sh up installs it (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-gpu", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(bctx), "starting chromium")
	return bctx
}

// startDashboard runs `drivetrain dashboard` with args and a one-second
// refresh on a free port, and returns its base URL once it answers.
func startDashboard(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "dashboard.log")
	logf, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(drivetrainBinary(t), append([]string{"dashboard", "--listen", addr, "--refresh", "1s"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("--- dashboard %s log ---\n%s", addr, data)
		}
	})
	base := "http://" + addr
	require.NoError(t, waitFor(context.Background(), time.Minute, func(ctx context.Context) (bool, string) {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	}), "dashboard on %s", addr)
	return base
}

// waitLoaded waits until the open page has finished a load in the given
// state and drawn every chart of it.
func waitLoaded(t *testing.T, browser context.Context, status string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.body.dataset.status === %q && Number(document.body.dataset.loads) > 0 &&
		[...document.querySelectorAll("canvas[data-q]")].every(c => c.dataset.rendered)`, status),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(time.Minute)))
	if err != nil {
		st, _ := chromedp.Run(browser, chromedp.Evaluate[string](`document.body.dataset.status + ": " + document.getElementById("banner").textContent`))
		t.Fatalf("page not loaded in state %s within a minute (%v; page says %q)", status, err, st)
	}
}

// requirePageState opens url and checks the page shows state with a
// visible message containing want.
func requirePageState(t *testing.T, browser context.Context, url, state, want string) {
	t.Helper()
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(url)))
	waitLoaded(t, browser, state)
	text, err := chromedp.Run(browser, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
	require.NoError(t, err)
	bannerShown, err := chromedp.Run(browser, chromedp.Evaluate[bool](`!document.getElementById("banner").hidden`))
	require.NoError(t, err)
	require.Contains(t, text, want)
	require.True(t, bannerShown, "the banner is shown for state %s", state)
}

func screenshot(t *testing.T, browser context.Context, path string) {
	t.Helper()
	buf, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, buf, 0o644))
}

// shownFigure is a figure the page shows: its query, column, row, the
// value it was made from and the text shown.
type shownFigure struct {
	Q, Col, Raw, Text string
	Row               int
}

type shownChart struct {
	Q      string
	X, Y   []string
	Labels []string
	Data   [][]float64
}

type shownPage struct {
	Params  map[string]string
	Figures []shownFigure
	Charts  []shownChart
	Rows    map[string]int // table rows per query
}

const readPageJS = `(() => {
  const figures = [...document.querySelectorAll("[data-q][data-col]")].map(e => ({
    q: e.dataset.q, col: e.dataset.col, row: Number(e.dataset.row), raw: e.dataset.raw, text: e.innerText.trim() }));
  const charts = [...document.querySelectorAll("canvas[data-q]")].map(c => {
    const ch = Chart.getChart(c);
    return { q: c.dataset.q, x: c.dataset.x.split(","), y: c.dataset.y.split(","), labels: ch.data.labels.map(String),
      data: ch.data.datasets.map(d => d.data.map(Number)) };
  });
  const rows = {};
  for (const tb of document.querySelectorAll("table[data-q]")) rows[tb.dataset.q] = tb.querySelectorAll("tbody td[data-q]").length ? tb.querySelectorAll("tbody tr").length : 0;
  return { params: JSON.parse(document.body.dataset.params), figures, charts, rows };
})()`

// compareShown reads the open page and runs its queries directly with the
// parameters it shows; it returns the first difference, "" when none.
func compareShown(ctx context.Context, t *testing.T, browser context.Context, r *pipelineRun, queries map[string]dashboard.Query, p dashboard.Page) string {
	shown, err := chromedp.Run(browser, chromedp.Evaluate[shownPage](readPageJS))
	if err != nil {
		return err.Error()
	}
	args := dashboard.Args{}
	for k, v := range shown.Params {
		switch k {
		case "now", "from", "to":
			tm, err := time.Parse(time.RFC3339, v)
			require.NoError(t, err)
			args[k] = tm
		case "order_id":
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			args[k] = n
		default:
			args[k] = v
		}
	}
	direct := map[string][][]string{}
	for _, name := range p.Queries {
		q := queries[name]
		sql, err := q.Bind(r.database, "", args)
		require.NoError(t, err)
		rows, err := r.ch.Query(ctx, sql, len(q.Columns))
		if err != nil {
			return err.Error()
		}
		direct[name] = rows
	}
	if len(shown.Figures) == 0 {
		return "no figures shown"
	}
	for _, f := range shown.Figures {
		q := queries[f.Q]
		col := indexOf(q.Columns, f.Col)
		rows := direct[f.Q]
		if col < 0 || f.Row >= len(rows) {
			return fmt.Sprintf("%s: %s row %d shown (%q), not in the direct result (%d rows)", f.Q, f.Col, f.Row, f.Raw, len(rows))
		}
		want := rows[f.Row][col]
		if f.Raw != want {
			return fmt.Sprintf("%s: %s row %d shows %q, the query gives %q", f.Q, f.Col, f.Row, f.Raw, want)
		}
		if why := textShows(f, want); why != "" {
			return why
		}
	}
	for name, n := range shown.Rows {
		if n != len(direct[name]) {
			return fmt.Sprintf("%s: the table shows %d rows, the query gives %d", name, n, len(direct[name]))
		}
	}
	for _, c := range shown.Charts {
		if why := chartShows(c, queries[c.Q], direct[c.Q]); why != "" {
			return why
		}
	}
	return ""
}

// textShows checks the text shown for a figure is its value: numbers with
// digit grouping, times and text as they are.
func textShows(f shownFigure, want string) string {
	text := f.Text
	if f.Col == "age_seconds" {
		return "" // shown as an age ("12 s", "3 min")
	}
	if _, err := strconv.ParseFloat(want, 64); err == nil {
		text = strings.ReplaceAll(text, ",", "")
	}
	if text != want {
		return fmt.Sprintf("%s: %s row %d reads %q on the page, the query gives %q", f.Q, f.Col, f.Row, f.Text, want)
	}
	return ""
}

// chartShows checks that every row of a chart's query is a point of the
// chart with its values; the per-minute and history charts also have zero
// points for the minutes and periods without sales.
func chartShows(c shownChart, q dashboard.Query, rows [][]string) string {
	points := map[string]int{}
	for i, l := range c.Labels {
		points[l] = i
	}
	for _, row := range rows {
		var parts []string
		for _, x := range c.X {
			parts = append(parts, row[indexOf(q.Columns, x)])
		}
		label := strings.Join(parts, " · ")
		if c.Q == "now-per-minute" {
			label = label[11:16] // HH:MM of "YYYY-MM-DD HH:MM:SS"
		}
		i, ok := points[label]
		if !ok {
			return fmt.Sprintf("chart %s has no point %q", c.Q, label)
		}
		for k, y := range c.Y {
			want, _ := strconv.ParseFloat(row[indexOf(q.Columns, y)], 64)
			if c.Data[k][i] != want {
				return fmt.Sprintf("chart %s: %s at %q is %v, the query gives %v", c.Q, y, label, c.Data[k][i], want)
			}
		}
	}
	filled := c.Q == "now-per-minute" || c.Q == "history-series"
	if !filled && len(c.Labels) != len(rows) {
		return fmt.Sprintf("chart %s has %d points, the query gives %d rows", c.Q, len(c.Labels), len(rows))
	}
	var sum, want float64
	for _, d := range c.Data {
		for _, v := range d {
			sum += v
		}
	}
	for _, row := range rows {
		for _, y := range c.Y {
			v, _ := strconv.ParseFloat(row[indexOf(q.Columns, y)], 64)
			want += v
		}
	}
	if math.Abs(sum-want) > 1e-6*math.Max(1, math.Abs(want)) {
		return fmt.Sprintf("chart %s: its points add up to %v, the query's rows to %v", c.Q, sum, want)
	}
	return ""
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// requireShowsQueries waits for the open page to load and checks that
// what it shows is what its queries give. The figures change when other
// tests write to the same source tables: it compares loads until one
// matches, and fails with the last difference after two minutes.
func requireShowsQueries(t *testing.T, browser context.Context, r *pipelineRun, queries map[string]dashboard.Query, p dashboard.Page) {
	t.Helper()
	waitLoaded(t, browser, "ok")
	var last string
	err := waitFor(r.ctx, 2*time.Minute, func(ctx context.Context) (bool, string) {
		why := compareShown(ctx, t, browser, r, queries, p)
		if ctx.Err() == nil || last == "" {
			last = why // not the query the deadline cut short
		}
		return why == "", last
	})
	require.NoError(t, err, "page %s shows figures other than its queries give", p.Name)
}

// insertOrder writes a new order of one vehicle, dated now, for an
// existing customer and vehicle, and returns its id.
func insertOrder(t *testing.T, ctx context.Context, r *pipelineRun) int64 {
	t.Helper()
	tx, err := r.pg.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	var orderID int64
	require.NoError(t, tx.QueryRow(ctx, `INSERT INTO orders (customer_id, status, channel, currency, order_date, updated_at)
		SELECT id, 'pending', 'web', 'EUR', now(), now() FROM customers ORDER BY id LIMIT 1
		RETURNING id`).Scan(&orderID))
	_, err = tx.Exec(ctx, `INSERT INTO order_items (order_id, vehicle_id, quantity, unit_price, discount)
		SELECT $1, id, 1, list_price, 0 FROM vehicles ORDER BY id LIMIT 1`, orderID)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	return orderID
}
