// drivetrain's sales dashboard: builds the page named by the path, reads
// /api/page/<page> every refresh interval and updates the figures in place.
//
// Every figure shown carries data-q (its query), data-col and data-row, and
// every chart data-q and, once drawn, data-rendered: the browser test reads
// them to compare what is shown with the same queries run directly.
"use strict";

// Colours of the values that mean the same on every page.
const meaning = {
  paid: "#16a34a", approved: "#16a34a", available: "#16a34a", new: "#2563eb",
  partial: "#f59e0b", pending: "#f59e0b", reserved: "#f59e0b", used: "#f59e0b",
  unpaid: "#dc2626", rejected: "#dc2626", refunded: "#a855f7", sold: "#64748b", certified: "#10b981",
};
const palette = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#f97316", "#84cc16", "#ec4899", "#64748b"];

// Columns holding identifiers, shown as they are (no digit grouping).
const idColumns = new Set(["order_no", "payment_id", "model_year"]);
// Columns shown as a coloured label.
const pillColumns = new Set(["status", "payment", "payment_status", "stock_status"]);

const state = {
  meta: null,
  page: null,
  charts: {},
  loads: 0,
  timer: null,
  inFlight: null,
  last: null,
};

// ---- formatting -----------------------------------------------------------

function isNumber(s) { return /^-?\d+(\.\d+)?$/.test(s); }

// formatValue groups the digits of numbers and keeps their decimals, so the
// figure shown is the stored one.
function formatValue(col, raw, text) {
  if (raw === undefined || raw === null) return "";
  if (text || idColumns.has(col) || !isNumber(raw)) return raw;
  const dot = raw.indexOf(".");
  const decimals = dot < 0 ? 0 : raw.length - dot - 1;
  return Number(raw).toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

function formatAge(seconds) {
  const s = Number(seconds);
  if (s < 120) return s + " s";
  if (s < 7200) return Math.round(s / 60) + " min";
  if (s < 172800) return (s / 3600).toFixed(1) + " h";
  return (s / 86400).toFixed(1) + " days";
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// ---- widgets ----------------------------------------------------------------
// A widget is built once per page and updated with every load.

function card(width, title, ...body) {
  return el("section", { class: "card " + width }, el("h2", { text: title }), ...body);
}

// kpis shows one row of a query as labelled figures.
function kpis(q, items) {
  const box = el("div", { class: "kpis" });
  const values = items.map(([col, label, fmt, delta]) => {
    const v = el("span", { class: "value", "data-q": q, "data-col": col, "data-row": "0" });
    const extra = el("span", { class: "delta" });
    box.append(el("div", { class: "kpi" }, el("span", { class: "label", text: label }), v, extra));
    return { col, v, extra, fmt, delta };
  });
  return {
    node: box,
    update(res) {
      const row = (res[q] && res[q].rows[0]) || [];
      const cols = (res[q] && res[q].columns) || [];
      const numeric = (res[q] && res[q].numeric) || [];
      for (const it of values) {
        const i = cols.indexOf(it.col);
        const raw = row[i];
        it.v.dataset.raw = raw === undefined ? "" : raw;
        it.v.textContent = raw === undefined ? "–" : (it.fmt ? it.fmt(raw) : formatValue(it.col, raw, !numeric[i]));
        if (it.delta) it.delta(row, cols, it.extra);
      }
    },
    values,
  };
}

// table shows every row of a query.
function table(q, opts) {
  opts = opts || {};
  const wrap = el("div", { class: "tablewrap" });
  const t = el("table", { "data-q": q });
  wrap.append(t);
  return {
    node: wrap,
    update(res) {
      const r = res[q];
      t.replaceChildren();
      if (!r) return;
      const numeric = r.columns.map((c, i) => r.numeric[i] && r.rows.length > 0 && r.rows.every(row => isNumber(row[i])) && !idColumns.has(c));
      t.append(el("thead", {}, el("tr", {}, ...r.columns.map((c, i) => el("th", { class: numeric[i] ? "num" : "", text: c.replaceAll("_", " ") })))));
      const body = el("tbody");
      if (r.rows.length === 0) {
        body.append(el("tr", {}, el("td", { class: "none", colspan: String(r.columns.length), text: opts.empty || "no rows" })));
      }
      r.rows.forEach((row, i) => {
        body.append(el("tr", {}, ...row.map((v, j) => {
          const c = r.columns[j];
          const td = el("td", { class: numeric[j] ? "num" : "", "data-q": q, "data-col": c, "data-row": String(i), "data-raw": v });
          if (pillColumns.has(c) && v !== "") td.append(el("span", { class: "pill " + v, text: v }));
          else td.textContent = formatValue(c, v, !r.numeric[j]);
          return td;
        })));
      });
      t.append(body);
    },
  };
}

// chart draws a query with Chart.js: labels from the x column(s), one
// dataset per y column.
function chart(q, type, xs, ys, opts) {
  opts = opts || {};
  const canvas = el("canvas", { "data-q": q, "data-x": xs.join(","), "data-y": ys.map(y => y[0]).join(",") });
  const empty = el("div", { class: "empty", hidden: true, text: "no data for this period" });
  const box = el("div", { class: "chart" + (opts.small ? " small" : "") + (opts.tall ? " tall" : "") }, canvas, empty);
  let c = null;
  return {
    node: box,
    update(res, data) {
      const r = res[q];
      if (!r) return;
      const ix = xs.map(x => r.columns.indexOf(x));
      let labels = r.rows.map(row => ix.map(i => row[i]).join(" · "));
      let series = ys.map(([col]) => r.rows.map(row => Number(row[r.columns.indexOf(col)])));
      if (opts.fill) [labels, series] = opts.fill(labels, series, data.params);
      const round = type === "doughnut";
      const datasets = ys.map(([, label, style], k) => Object.assign({
        label,
        data: series[k],
        backgroundColor: round ? labels.map((l, i) => meaning[l] || palette[i % palette.length]) : (ys.length > 1 && meaning[label]) || palette[k % palette.length],
        borderColor: round ? "#fff" : (ys.length > 1 && meaning[label]) || palette[k % palette.length],
        borderWidth: type === "line" ? 2 : 1,
        pointRadius: 0,
        tension: 0.2,
      }, style || {}));
      if (!c) {
        c = new Chart(canvas, {
          type,
          data: { labels, datasets },
          options: {
            animation: false,
            maintainAspectRatio: false,
            indexAxis: opts.horizontal ? "y" : "x",
            interaction: { mode: "index", intersect: false },
            plugins: { legend: { display: round || ys.length > 1, position: round ? "right" : "top" } },
            scales: round ? {} : {
              x: { stacked: !!opts.stacked, ticks: { maxTicksLimit: 12, autoSkip: true } },
              y: { stacked: !!opts.stacked, beginAtZero: true },
            },
          },
        });
        state.charts[q + ":" + type] = c;
      } else {
        c.data.labels = labels;
        c.data.datasets = datasets;
        c.update("none");
      }
      empty.hidden = r.rows.length > 0;
      canvas.dataset.points = String(r.rows.length);
      canvas.dataset.rendered = String(state.loads + 1);
    },
  };
}

// perMinute fills the minutes of the last three hours that had no sales.
function perMinute(labels, series, params) {
  {
    const end = new Date(params.now);
    end.setUTCSeconds(0, 0);
    const byLabel = new Map(labels.map((l, i) => [l, i]));
    const outLabels = [];
    const outSeries = series.map(() => []);
    for (let t = end.getTime() - 180 * 60000; t <= end.getTime(); t += 60000) {
      const l = new Date(t).toISOString().slice(0, 19) + "Z";
      outLabels.push(l.slice(11, 16));
      const i = byLabel.get(l);
      series.forEach((s, k) => outSeries[k].push(i === undefined ? 0 : s[i]));
    }
    return [outLabels, outSeries];
  }
}

// periods fills the days, weeks (from Monday) or months of the period
// [from, to) that had no sales, so the bars keep their places.
function periods(labels, series, params) {
  const from = new Date(params.from), to = new Date(params.to);
  let t;
  if (params.bucket === "month") t = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1));
  else {
    t = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
    if (params.bucket === "week") t = new Date(t.getTime() - ((t.getUTCDay() + 6) % 7) * 86400000);
  }
  const byLabel = new Map(labels.map((l, i) => [l, i]));
  const outLabels = [];
  const outSeries = series.map(() => []);
  for (let n = 0; t < to && n < 1000; n++) {
    const l = t.toISOString().slice(0, 10);
    outLabels.push(l);
    const i = byLabel.get(l);
    series.forEach((s, k) => outSeries[k].push(i === undefined ? 0 : s[i]));
    if (params.bucket === "month") t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1));
    else t = new Date(t.getTime() + (params.bucket === "week" ? 7 : 1) * 86400000);
  }
  // Rows outside the computed buckets (none expected) keep their place.
  labels.forEach((l, i) => {
    if (!outLabels.includes(l)) {
      outLabels.push(l);
      series.forEach((s, k) => outSeries[k].push(s[i]));
    }
  });
  return [outLabels, outSeries];
}

// ---- pages ------------------------------------------------------------------

function delta(cur, prev) {
  return (row, cols, node) => {
    const a = Number(row[cols.indexOf(cur)]), b = Number(row[cols.indexOf(prev)]);
    if (!isFinite(a) || !isFinite(b)) { node.textContent = ""; return; }
    const prevText = "previous period " + formatValue(prev, row[cols.indexOf(prev)]);
    if (b === 0) { node.textContent = prevText; node.className = "delta"; return; }
    const pct = (a - b) / b * 100;
    node.textContent = (pct >= 0 ? "▲ " : "▼ ") + Math.abs(pct).toFixed(1) + "% vs " + prevText;
    node.className = "delta " + (pct >= 0 ? "up" : "down");
  };
}

const layouts = {
  now() {
    return [
      ["w12", "Today and the last hour (UTC)", kpis("now-kpis", [
        ["revenue_today", "Revenue today"], ["orders_today", "Orders today"], ["units_today", "Vehicles today"],
        ["revenue_hour", "Revenue, last hour"], ["orders_hour", "Orders, last hour"], ["units_hour", "Vehicles, last hour"],
      ])],
      ["w12", "Revenue per minute, last 3 hours", chart("now-per-minute", "line", ["minute"], [["revenue", "revenue", { fill: true, backgroundColor: "rgba(37,99,235,.15)" }]], { fill: perMinute })],
      ["w12", "Latest orders", table("now-latest")],
    ];
  },
  products() {
    return [
      ["w8", "Revenue by make and model", chart("products-make-model", "bar", ["make", "model"], [["revenue", "revenue"]], { horizontal: true, tall: true })],
      ["w4", "Revenue by condition", chart("products-condition", "doughnut", ["condition"], [["revenue", "revenue"]])],
      ["w6", "Make and model", table("products-make-model")],
      ["w6", "Revenue by body and fuel type", chart("products-body-fuel", "bar", ["body_type", "fuel_type"], [["revenue", "revenue"]], { horizontal: true, tall: true })],
      ["w6", "Body and fuel type", table("products-body-fuel")],
      ["w6", "Condition", table("products-condition")],
    ];
  },
  customers() {
    return [
      ["w8", "Revenue by city (top 15)", chart("customers-city", "bar", ["city"], [["revenue", "revenue"]])],
      ["w4", "Revenue by segment", chart("customers-segment", "doughnut", ["segment"], [["revenue", "revenue"]])],
      ["w6", "Revenue by country", chart("customers-country", "bar", ["country"], [["revenue", "revenue"]], { small: true })],
      ["w6", "Countries", table("customers-country")],
      ["w6", "Cities", table("customers-city")],
      ["w6", "Regions", table("customers-region")],
      ["w6", "Segments", table("customers-segment")],
    ];
  },
  inventory() {
    return [
      ["w12", "Stock now", kpis("inventory-summary", [
        ["available", "Available"], ["reserved", "Reserved"], ["sold", "Sold"],
        ["available_value", "Value of available stock"],
        ["avg_days_in_stock", "Days in stock (available, average)"], ["avg_days_to_sell", "Days to sell (sold, average)"],
      ])],
      ["w4", "Vehicles by stock status", chart("inventory", "doughnut", ["stock_status"], [["vehicles", "vehicles"]], { small: true })],
      ["w8", "Vehicles by make and stock status", chart("inventory-make", "bar", ["make"], [["available", "available"], ["reserved", "reserved"], ["sold", "sold"]], { stacked: true, small: true })],
      ["w6", "Available vehicles by price band", chart("inventory-price-band", "bar", ["band"], [["vehicles", "vehicles"]], { small: true })],
      ["w6", "Available vehicles by days in stock", chart("inventory-age", "bar", ["age"], [["vehicles", "vehicles"]], { small: true })],
      ["w6", "Stock status", table("inventory")],
      ["w6", "Makes", table("inventory-make")],
      ["w6", "Price bands", table("inventory-price-band")],
      ["w6", "Days in stock", table("inventory-age")],
    ];
  },
  transactions(params) {
    const out = [];
    if (params.order_id !== "-1" || params.email) {
      out.push(["w12", "Search: " + (params.order_id !== "-1" ? "order " + params.order_id : params.email), table("tx-search", { empty: "no order with that id or customer email" })]);
    }
    out.push(
      ["w12", "Waiting for payment (all orders)", kpis("tx-waiting-summary", [
        ["orders", "Orders waiting for payment"], ["partly_paid", "of them partly paid"], ["due", "Amount due"],
      ])],
      ["w4", "Orders by payment status", chart("tx-payment-status", "doughnut", ["payment_status"], [["orders", "orders"]], { small: true })],
      ["w8", "Payment status of the period's orders", table("tx-payment-status")],
      ["w6", "Payments by status (refunds and rejections included)", table("tx-payments")],
      ["w6", "Latest refunded or rejected payments", table("tx-refunds")],
      ["w12", "Oldest orders waiting for payment", table("tx-waiting")],
    );
    return out;
  },
  history() {
    return [
      ["w12", "The period against the period before it", kpis("history-totals", [
        ["revenue", "Revenue", null, delta("revenue", "previous_revenue")],
        ["orders", "Orders", null, delta("orders", "previous_orders")],
        ["units", "Vehicles", null, delta("units", "previous_units")],
      ])],
      ["w12", "Revenue by period", chart("history-series", "bar", ["period"], [["revenue", "this period"], ["previous_revenue", "period before (shifted)", { backgroundColor: "#cbd5e1", borderColor: "#94a3b8" }]], { fill: periods })],
      ["w12", "By period", table("history-series")],
    ];
  },
  pipeline() {
    return [
      ["w12", "Freshness of the figures", kpis("pipeline-freshness", [
        ["age_seconds", "Newest change is", formatAge], ["newest_change", "Newest change (UTC)"],
        ["newest_order", "Newest order (UTC)"], ["facts", "Fact rows"],
      ])],
      ["w12", "drivetrain nodes", nodesWidget()],
    ];
  },
};

// nodesWidget shows the configured nodes' /status figures.
function nodesWidget() {
  const wrap = el("div", { class: "tablewrap" });
  return {
    node: wrap,
    update(res, data) {
      const nodes = data.nodes || [];
      if (nodes.length === 0) {
        wrap.replaceChildren(el("p", { class: "note", text: "No node configured: start the dashboard with --node http://<node http_addr> to show the nodes' lag and freshness (source commit → ClickHouse acknowledgement)." }));
        return;
      }
      const head = ["node", "ready", "idle", "lag", "sink backlog", "facts written", "freshness p50 ms", "p90", "p99", "max", "last commit"];
      const t = el("table", { "data-nodes": String(nodes.length) }, el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", { class: i >= 3 && i < 10 ? "num" : "", text: h })))));
      const body = el("tbody");
      for (const n of nodes) {
        if (n.error) {
          body.append(el("tr", {}, el("td", { text: n.url }), el("td", { colspan: String(head.length - 1) }, el("span", { class: "pill no", text: n.error }))));
          continue;
        }
        const f = n.freshness || {};
        const num = v => el("td", { class: "num", text: formatValue("", String(v)) });
        body.append(el("tr", {},
          el("td", { text: (n.node || "") + " " + n.url }),
          el("td", {}, el("span", { class: "pill " + (n.ready ? "yes" : "no"), text: n.ready ? "ready" : (n.reason || "not ready") })),
          el("td", {}, el("span", { class: "pill " + (n.idle ? "yes" : "pending"), text: n.idle ? "idle" : "busy" })),
          num(n.lag), num(n.sink_backlog), num(n.facts_written),
          num(Math.round(f.p50_ms || 0)), num(Math.round(f.p90_ms || 0)), num(Math.round(f.p99_ms || 0)), num(Math.round(f.max_ms || 0)),
          el("td", { text: n.last_commit ? n.last_commit.replace("T", " ").replace(/\.\d+/, "") : "–" })));
      }
      t.append(body);
      wrap.replaceChildren(t);
    },
  };
}

// ---- controls -----------------------------------------------------------------

const presets = [
  ["today", "Today"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"],
  ["90d", "Last 90 days"], ["month", "This month"], ["365d", "Last 12 months"], ["custom", "Custom…"],
];

function query() { return new URLSearchParams(location.search); }

function setQuery(changes) {
  const q = query();
  for (const [k, v] of Object.entries(changes)) {
    if (v === "" || v === null || v === undefined) q.delete(k); else q.set(k, v);
  }
  const s = q.toString();
  history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
}

// periodArgs turns the chosen preset into the from/to of a request; the
// server's defaults (the last 30 days up to now) apply when none is chosen.
function periodArgs() {
  const q = query();
  const range = q.get("range") || "30d";
  const now = new Date();
  const out = {};
  const day = d => d.toISOString().slice(0, 10);
  switch (range) {
    case "today": out.from = day(now); break;
    case "month": out.from = day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))); break;
    case "custom":
      if (q.get("from")) out.from = q.get("from");
      if (q.get("to")) {
        const to = new Date(q.get("to") + "T00:00:00Z");
        out.to = day(new Date(to.getTime() + 86400000)); // the picker's end day is included
      }
      break;
    default: {
      const m = /^(\d+)([hd])$/.exec(range);
      if (m) out.from = new Date(now.getTime() - Number(m[1]) * (m[2] === "h" ? 3600e3 : 86400e3)).toISOString().replace(/\.\d+Z$/, "Z");
    }
  }
  return out;
}

function buildControls(page) {
  const box = document.getElementById("controls");
  box.replaceChildren();
  const q = query();
  if (page.period) {
    const sel = el("select", { id: "range" }, ...presets.map(([v, l]) => el("option", { value: v, text: l })));
    sel.value = q.get("range") || "30d";
    const from = el("input", { type: "date", id: "from", value: q.get("from") || "" });
    const to = el("input", { type: "date", id: "to", value: q.get("to") || "" });
    const custom = el("span", { hidden: sel.value !== "custom" }, from, " to ", to);
    sel.addEventListener("change", () => { custom.hidden = sel.value !== "custom"; setQuery({ range: sel.value }); reload(); });
    for (const inp of [from, to]) inp.addEventListener("change", () => { setQuery({ from: from.value, to: to.value }); reload(); });
    box.append(el("label", {}, "Period", sel), custom);
  }
  if (page.history) {
    const b = el("select", { id: "bucket" }, ...[["day", "by day"], ["week", "by week"], ["month", "by month"]].map(([v, l]) => el("option", { value: v, text: l })));
    b.value = q.get("bucket") || "day";
    b.addEventListener("change", () => { setQuery({ bucket: b.value }); reload(); });
    box.append(el("label", {}, "Revenue", b));
  }
  if (page.search) {
    const inp = el("input", { type: "search", id: "search", placeholder: "order id or customer email", value: q.get("q") || "", size: "32" });
    const form = el("form", { id: "search-form" }, el("label", {}, "Find", inp), " ", el("button", { type: "submit", text: "Search" }));
    form.addEventListener("submit", ev => { ev.preventDefault(); setQuery({ q: inp.value.trim() }); rebuild(); });
    box.append(form);
  }
  if (page.period) box.append(el("span", { class: "note", text: "times in UTC; cancelled orders bring no revenue" }));
}

// ---- loading ------------------------------------------------------------------

let widgets = [];

function requestURL(page) {
  const p = new URLSearchParams();
  if (page.period) for (const [k, v] of Object.entries(periodArgs())) p.set(k, v);
  const q = query();
  if (page.history && q.get("bucket")) p.set("bucket", q.get("bucket"));
  if (page.search && q.get("q")) p.set("q", q.get("q"));
  return "/api/page/" + page.name + (p.toString() ? "?" + p : "");
}

function showState(data) {
  const banner = document.getElementById("banner");
  const live = document.getElementById("live");
  const main = document.getElementById("main");
  document.body.dataset.status = data.status;
  if (data.status === "ok") {
    banner.hidden = true;
    main.classList.remove("stale");
    live.className = "live ok";
    live.textContent = "live · updated " + new Date().toISOString().slice(11, 19) + " UTC · every " + state.meta.refresh_ms / 1000 + " s";
    return;
  }
  banner.hidden = false;
  banner.className = "banner " + data.status;
  banner.textContent = (data.status === "missing" ? "No data yet: " : "") + data.message + (data.status === "unreachable" ? " — retrying every " + state.meta.refresh_ms / 1000 + " s" : "");
  live.className = "live down";
  live.textContent = data.status === "unreachable" ? "ClickHouse unreachable" : data.status === "missing" ? "no tables yet" : "query failed";
  if (state.loads > 0 && state.last && state.last.status === "ok") main.classList.add("stale");
}

async function load() {
  const page = state.page;
  if (state.inFlight) state.inFlight.abort();
  const ctl = new AbortController();
  state.inFlight = ctl;
  let data;
  try {
    const resp = await fetch(requestURL(page), { signal: ctl.signal, cache: "no-store" });
    data = await resp.json();
    if (!resp.ok) data = { status: "error", message: data.error || resp.statusText, results: {}, params: {} };
  } catch (e) {
    if (e.name === "AbortError") return;
    data = { status: "unreachable", message: "the dashboard server is unreachable (" + e.message + ")", results: {}, params: {} };
  }
  state.inFlight = null;
  if (data.status === "ok" || page.name === "pipeline") {
    ensureLayout(data.params);
    for (const w of widgets) w.update(data.results || {}, data);
  } else if (!state.last || state.last.status !== "ok") {
    const main = document.getElementById("main");
    main.replaceChildren(el("div", { class: "state" },
      el("strong", { text: data.status === "missing" ? "No data yet" : data.status === "unreachable" ? "ClickHouse is unreachable" : "The query failed" }),
      data.status === "missing" ? "The figures appear once a node has written its first facts." :
        data.status === "unreachable" ? "Check that ClickHouse runs and that the dashboard's --clickhouse points at it; this page tries again by itself." :
          "See the message above; this page tries again by itself."));
    widgets = [];
  }
  showState(data);
  state.last = data;
  state.loads++;
  document.body.dataset.params = JSON.stringify(data.params || {});
  document.body.dataset.loads = String(state.loads);
  document.getElementById("footer").textContent = "ClickHouse " + (data.server || "–") + " · database " + (data.database || "–") + " · times in UTC";
}

// ensureLayout builds the page's widgets; transactions depends on the search.
function ensureLayout(params) {
  const key = state.page.name === "transactions" ? JSON.stringify({ o: params.order_id, e: params.email }) : "";
  if (widgets.length && state.layoutKey === key) return;
  for (const c of Object.values(state.charts)) c.destroy();
  state.charts = {};
  const main = document.getElementById("main");
  main.replaceChildren();
  widgets = [];
  for (const [w, title, widget] of layouts[state.page.name](params)) {
    main.append(card(w, title, widget.node));
    widgets.push(widget);
  }
  state.layoutKey = key;
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => { await load(); schedule(); }, state.meta.refresh_ms);
}

function reload() { load().then(schedule); }
function rebuild() { widgets = []; reload(); }

async function start() {
  state.meta = await (await fetch("/api/meta")).json();
  const name = location.pathname.replace(/^\/+|\/+$/g, "") || state.meta.pages[0].name;
  state.page = state.meta.pages.find(p => p.name === name) || state.meta.pages[0];
  document.title = state.page.title + " · drivetrain";
  document.body.dataset.page = state.page.name;
  // The other period pages open on the same period.
  const keep = new URLSearchParams();
  for (const k of ["range", "from", "to"]) if (query().get(k)) keep.set(k, query().get(k));
  const nav = document.getElementById("nav");
  for (const p of state.meta.pages) {
    nav.append(el("a", { href: "/" + p.name + (p.period && keep.toString() ? "?" + keep : ""), class: p.name === state.page.name ? "active" : "", text: p.title }));
  }
  buildControls(state.page);
  reload();
}

start();
