package dashboard

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// grafanaSQL is q's SQL as a Grafana panel of the ClickHouse plugin writes
// it: the period is the dashboard's time range ($__fromTime, $__toTime,
// both toDateTime(<seconds>) like Bind's), now is the server's now(), and
// the other parameters are dashboard variables, quoted by Grafana.
func grafanaSQL(q Query) string {
	return paramRe.ReplaceAllStringFunc(q.SQL, func(m string) string {
		p := paramRe.FindStringSubmatch(m)
		switch name, typ := p[1], p[2]; {
		case name == "from":
			return "$__fromTime"
		case name == "to":
			return "$__toTime"
		case name == "now":
			return "now()"
		case typ == "Int64":
			return "toInt64OrZero(${" + name + ":sqlstring})"
		default:
			return "${" + name + ":sqlstring}"
		}
	})
}

type grafanaDashboard struct {
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			RawSQL string `json:"rawSql"`
		} `json:"targets"`
	} `json:"panels"`
}

// TestGrafanaSalesDashboard checks deploy/grafana/dashboards/sales.json:
// every panel reads the provisioned ClickHouse datasource with the SQL of
// a query of queries.sql, every query a page shows has a panel, and every
// variable a panel uses is defined.
func TestGrafanaSalesDashboard(t *testing.T) {
	data, err := os.ReadFile("../../deploy/grafana/dashboards/sales.json")
	require.NoError(t, err)
	var d grafanaDashboard
	require.NoError(t, json.Unmarshal(data, &d))
	assert.NotEmpty(t, d.UID)

	ds, err := os.ReadFile("../../deploy/grafana/provisioning/datasources/clickhouse.yml")
	require.NoError(t, err)
	var dsCfg struct {
		Datasources []struct {
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(ds, &dsCfg))
	require.Len(t, dsCfg.Datasources, 1)
	src := dsCfg.Datasources[0]
	assert.Equal(t, "grafana-clickhouse-datasource", src.Type)
	assert.Equal(t, "clickhouse", src.JSONData["host"], "the compose service")

	bySQL := map[string]string{}
	for _, q := range shippedQueries(t) {
		bySQL[grafanaSQL(q)] = q.Name
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	varRe := regexp.MustCompile(`\$\{([a-z_]+)(:[a-z]+)?\}`)
	shown := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d unique", p.ID)
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		assert.Equal(t, src.UID, p.Datasource.UID, "panel %q reads the provisioned datasource", p.Title)
		require.Len(t, p.Targets, 1, p.Title)
		sql := p.Targets[0].RawSQL
		name, ok := bySQL[sql]
		if assert.True(t, ok, "panel %q: its SQL is no query of queries.sql:\n%s", p.Title, sql) {
			shown[name] = true
		}
		for _, m := range varRe.FindAllStringSubmatch(sql, -1) {
			assert.True(t, vars[m[1]], "panel %q uses variable %s, which the dashboard defines", p.Title, m[1])
		}
	}
	for _, p := range Pages {
		for _, q := range p.Queries {
			assert.True(t, shown[q], "page %s shows %s; the Grafana dashboard has no panel for it", p.Name, q)
		}
	}
}
