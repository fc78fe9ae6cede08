// Owner dashboard. Plain JavaScript + vendored Chart.js, no build step.
// Polls the analytics API every second while the tab is visible.
"use strict";

const API = {
  kpis: "/api/v1/analytics/kpis",
  topProducts: "/top-products",
  dailySales: "/api/v1/analytics/sales/daily",
  loyalCustomers: "/api/v1/analytics/loyal-customers",
  freshness: "/api/v1/analytics/freshness",
  whoami: "/auth/whoami",
};
const POLL_MS = 1000; // a new sale shows within ~1 s plus the pipeline (target: 2 s)
const PAGE_SIZE = 10;
const RANK_COLORS = ["#1f6feb", "#2da44e", "#bf8700", "#8250df", "#cf222e"];
const BRANCH_COLORS = ["#1f6feb", "#2da44e", "#bf8700", "#8250df", "#cf222e", "#0a7ea4"];

const $ = (id) => document.getElementById(id);
const state = { loyalPage: 0, charts: {}, errors: new Map() };

function formatCents(cents) {
  if (!Number.isFinite(cents)) return "—";
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(Math.trunc(cents));
  const units = Math.floor(abs / 100).toLocaleString("en-US");
  return `${sign}${units}.${String(abs % 100).padStart(2, "0")}`;
}
function ago(seconds) {
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}
const formatCount = (n) => (Number.isFinite(n) ? n.toLocaleString("en-US") : "—");

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; throw new Error("signed out"); }
  if (!response.ok) {
    let text = `HTTP ${response.status}`;
    try { const p = await response.json(); text = p.detail ? `${p.title}: ${p.detail}` : (p.title || text); } catch { /* not a problem document */ }
    throw new Error(text);
  }
  return response.json();
}

// Runs one refresher; a failing part shows "—" and a note, the others go on.
async function part(name, refresh) {
  try { await refresh(); state.errors.delete(name); } catch (error) { state.errors.set(name, `${name}: ${error.message}`); }
}

function renderErrors() {
  $("errors").textContent = [...state.errors.values()].join(" · ");
}

// ---- KPI cards ----------------------------------------------------------------
async function refreshKpis() {
  const k = await getJson(API.kpis);
  const today = k.today || {};
  $("kpi-unique").textContent = formatCount(k.unique_customers);
  $("kpi-loyal").textContent = formatCount(k.loyal_customers);
  if (k.min_purchases) $("kpi-loyal-sub").textContent = `${k.min_purchases}+ purchases`;
  $("kpi-purchases-today").textContent = formatCount(today.purchases);
  $("kpi-revenue-today").textContent = formatCents(today.revenue_cents);
  $("kpi-purchases-total").textContent = `overall ${formatCount(k.purchases)}`;
  $("kpi-revenue-total").textContent = `overall ${formatCents(k.revenue_cents)}`;
  $("kpi-purchases-total").textContent = `overall ${formatCount(k.purchases)}${today.date ? ` · ${today.date} ${k.time_zone}` : ""}`;
}

// ---- top products ------------------------------------------------------------------
async function refreshTop() {
  const data = await getJson(API.topProducts);
  const products = data.products || [];
  const labels = products.map((p) => `#${p.rank} ${p.product}`);
  const values = products.map((p) => p.units_sold);
  // Ties share a rank, hence a colour.
  const colors = products.map((p) => RANK_COLORS[(p.rank - 1) % RANK_COLORS.length]);
  const chart = state.charts.top ??= new Chart($("top-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "Units sold", data: [], backgroundColor: [], borderRadius: 6 }] },
    options: { indexAxis: "y", maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  chart.data.labels = labels;
  chart.data.datasets[0].data = values;
  chart.data.datasets[0].backgroundColor = colors;
  chart.update();
  const ranks = products.map((p) => p.rank);
  const list = $("top-list");
  list.replaceChildren(...products.map((p) => {
    const tie = ranks.filter((r) => r === p.rank).length > 1;
    const li = document.createElement("li");
    li.className = "pill";
    li.textContent = `#${p.rank}${tie ? " (tie)" : ""} ${p.product}: ${formatCount(p.units_sold)}`;
    return li;
  }));
}

// ---- per branch per day ----------------------------------------------------------------
async function refreshBranches() {
  const params = new URLSearchParams();
  if ($("from").value) params.set("from", $("from").value);
  if ($("to").value) params.set("to", $("to").value);
  const rows = await getJson(`${API.dailySales}?${params}`); // [{day, branch_id, purchases, revenue_cents}], days with sales only
  const measure = $("measure").value;
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const branches = [...new Set(rows.map((r) => r.branch_id))].sort();
  const datasets = branches.map((branch, i) => {
    const byDay = new Map(rows.filter((r) => r.branch_id === branch).map((r) => [r.day, r]));
    return {
      label: branch,
      data: days.map((d) => {
        const r = byDay.get(d);
        if (!r) return 0;
        return measure === "revenue" ? (r.revenue_cents ?? 0) / 100 : (r.purchases ?? 0);
      }),
      backgroundColor: BRANCH_COLORS[i % BRANCH_COLORS.length],
      borderRadius: 4,
    };
  });
  const chart = state.charts.branches ??= new Chart($("branch-chart"), {
    type: "bar",
    data: { labels: [], datasets: [] },
    options: { maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: "bottom" } } },
  });
  chart.data.labels = days;
  chart.data.datasets = datasets;
  chart.update();
}

// ---- loyal customers (server-side paging and id-prefix search) -----------------------------
async function refreshLoyal() {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.loyalPage * PAGE_SIZE) });
  const prefix = $("loyal-search").value.trim();
  if (prefix) params.set("prefix", prefix);
  const page = await getJson(`${API.loyalCustomers}?${params}`);
  const total = page.total;
  $("loyal-count").textContent = `${formatCount(total)} ${prefix ? "matching" : "in all"} · ${page.min_purchases}+ purchases`;
  const pages = Math.max(1, Math.ceil((total || 0) / PAGE_SIZE));
  $("page").textContent = `page ${state.loyalPage + 1} of ${pages}`;
  $("prev").disabled = state.loyalPage === 0;
  $("next").disabled = state.loyalPage + 1 >= pages;
  const body = $("loyal-body");
  if (!page.customers.length) {
    if (state.loyalPage > 0 && state.loyalPage >= pages) { state.loyalPage = pages - 1; return refreshLoyal(); }
    body.innerHTML = '<tr><td colspan="4" class="muted">No customer matches.</td></tr>';
    return;
  }
  body.replaceChildren(...page.customers.map((c) => {
    const tr = document.createElement("tr");
    const cells = [
      ["mono", c.customer_id],
      ["num", formatCount(c.purchases)],
      ["num", formatCents(c.total_spent_cents)],
      ["", c.last_purchase_at ? new Date(c.last_purchase_at).toLocaleString() : "—"],
    ];
    for (const [cls, text] of cells) {
      const td = document.createElement("td");
      td.className = cls;
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }));
}

// ---- pipeline freshness ----------------------------------------------------------------------------
async function refreshFreshness() {
  const f = await getJson(API.freshness);
  const pill = $("freshness");
  // apply_delay: how long the newest sale took to reach the read models;
  // lag_seconds grows while no sale happens, so it is shown as "last sale".
  const delay = f.apply_delay_seconds;
  if (delay === null || delay === undefined) { pill.textContent = `pipeline: no live events yet`; pill.className = "pill"; }
  else {
    pill.textContent = `pipeline delay ${Number(delay).toFixed(2)} s · last event ${ago(f.lag_seconds)}`;
    pill.className = delay < 2 ? "pill ok" : delay < 30 ? "pill warn" : "pill bad";
  }
  if (f.dead_letters > 0) { pill.textContent += ` · ${f.dead_letters} dead letters`; pill.className = "pill bad"; }
}

// ---- polling --------------------------------------------------------------------------------------------
let timer = null;
async function refreshAll() {
  clearTimeout(timer);
  await Promise.all([
    part("KPIs", refreshKpis),
    part("top products", refreshTop),
    part("sales per branch", refreshBranches),
    part("loyal customers", refreshLoyal),
    part("freshness", refreshFreshness),
  ]);
  renderErrors();
  if (!document.hidden) timer = setTimeout(refreshAll, POLL_MS);
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshAll(); });
for (const id of ["from", "to", "measure"]) $(id).addEventListener("change", () => part("sales per branch", refreshBranches).then(renderErrors));
let searchTimer = null;
$("loyal-search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { state.loyalPage = 0; part("loyal customers", refreshLoyal).then(renderErrors); }, 250);
});
$("prev").addEventListener("click", () => { state.loyalPage = Math.max(0, state.loyalPage - 1); part("loyal customers", refreshLoyal); });
$("next").addEventListener("click", () => { state.loyalPage += 1; part("loyal customers", refreshLoyal); });

(async function start() {
  const today = new Date();
  const from = new Date(today.getTime() - 29 * 86400000);
  const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  $("from").value = day(from);
  $("to").value = day(today);
  try {
    const who = await (await fetch(API.whoami, { credentials: "same-origin" })).json();
    if (who.mode === "open") { $("who").textContent = "access control off"; $("logout-form").hidden = true; }
    else if (who.role) $("who").textContent = `signed in: ${who.role}`;
  } catch { /* header stays empty */ }
  refreshAll();
})();
