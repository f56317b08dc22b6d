// Package dashboard serves drivetrain's sales dashboard: web pages that
// read ClickHouse and refresh live (sales now, products, customers and
// regions, inventory, transactions, history, pipeline freshness).
//
// The figures come from the named queries of deploy/clickhouse/queries.sql
// (ParseQueries), whose {name:Type} parameters a page binds from typed
// values (Query.Bind), run through the sinks ClickHouse client. A Server
// serves the pages (embedded HTML, JavaScript and the vendored Chart.js)
// and, per page, /api/page/<page>: every query's rows, or the state that
// stands in for them (ClickHouse unreachable, no tables yet, a server
// error). The browser reads it again every Config.Refresh.
//
// The server connects to ClickHouse on the first request and again after
// losing it; it starts and serves its pages whether or not ClickHouse
// answers.
package dashboard
