package dashboard

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Page is one page of the dashboard: the queries it shows and which of
// the viewer's inputs it reads.
type Page struct {
	Name    string // the page's path: /<name>
	Title   string
	Queries []string // names of queries in queries.sql
	// Period pages read a from/to period (default the last 30 days);
	// History also reads the bucket (day, week or month); Search reads
	// the search box (an order id or a customer email); Nodes shows the
	// status of the configured drivetrain nodes.
	Period, History, Search, Nodes bool
}

// Pages are the dashboard's pages, in menu order.
var Pages = []Page{
	{Name: "now", Title: "Sales now", Queries: []string{"now-kpis", "now-per-minute", "now-latest"}},
	{Name: "products", Title: "Products", Period: true,
		Queries: []string{"products-make-model", "products-body-fuel", "products-condition"}},
	{Name: "customers", Title: "Customers and regions", Period: true,
		Queries: []string{"customers-city", "customers-region", "customers-country", "customers-segment"}},
	{Name: "inventory", Title: "Inventory",
		Queries: []string{"inventory-summary", "inventory", "inventory-make", "inventory-price-band", "inventory-age"}},
	{Name: "transactions", Title: "Transactions", Period: true, Search: true,
		Queries: []string{"tx-waiting-summary", "tx-payment-status", "tx-payments", "tx-waiting", "tx-refunds", "tx-search"}},
	{Name: "history", Title: "History", Period: true, History: true,
		Queries: []string{"history-totals", "history-series"}},
	{Name: "pipeline", Title: "Pipeline", Nodes: true, Queries: []string{"pipeline-freshness"}},
}

// PageNamed returns the page with the given name.
func PageNamed(name string) (Page, bool) {
	for _, p := range Pages {
		if p.Name == name {
			return p, true
		}
	}
	return Page{}, false
}

// DefaultPeriod is the period of a page opened without one.
const DefaultPeriod = 30 * 24 * time.Hour

// inputError is a bad value in a request; its message names the field.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

// args reads a page request's inputs into the values its queries bind,
// with now as the current time. Times are RFC 3339 or YYYY-MM-DD (UTC
// midnight); a period's end is exclusive.
func (p Page) args(q url.Values, now time.Time) (Args, error) {
	now = now.UTC().Truncate(time.Second)
	a := Args{"now": now}
	if p.Period {
		to, err := timeValue(q, "to", now)
		if err != nil {
			return nil, err
		}
		from, err := timeValue(q, "from", to.Add(-DefaultPeriod))
		if err != nil {
			return nil, err
		}
		if !from.Before(to) {
			return nil, &inputError{fmt.Sprintf("from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))}
		}
		if to.Sub(from) > 20*366*24*time.Hour {
			return nil, &inputError{"the period from–to is longer than 20 years"}
		}
		a["from"], a["to"] = from, to
	}
	if p.History {
		b := q.Get("bucket")
		switch b {
		case "":
			b = "day"
		case "day", "week", "month":
		default:
			return nil, &inputError{fmt.Sprintf("bucket must be day, week or month, got %q", b)}
		}
		a["bucket"] = b
	}
	if p.Search {
		s := strings.TrimSpace(q.Get("q"))
		if len(s) > 320 {
			return nil, &inputError{"q is longer than 320 bytes"}
		}
		// A number is an order id; anything else an email. -1 matches no
		// order, "" no email.
		a["order_id"], a["email"] = int64(-1), ""
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			a["order_id"] = n
		} else if s != "" {
			a["email"] = s
		}
	}
	return a, nil
}

// timeValue reads the time of field name, def when it is absent.
func timeValue(q url.Values, name string, def time.Time) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Truncate(time.Second), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, &inputError{fmt.Sprintf("%s must be a time such as 2026-01-31 or 2026-01-31T08:00:00Z, got %q", name, s)}
}
