// Owner dashboard. Plain JavaScript + vendored Chart.js, no build step.
// Polls the analytics API every 2 s while the tab is visible.
"use strict";

const API = {
  uniqueCustomers: "/unique-customers",
  loyalCustomers: "/loyal-customers",
  topProducts: "/top-products",
  kpis: "/api/v1/analytics/kpis",
  salesPerBranchPerDay: "/api/v1/analytics/sales-per-branch-per-day",
  freshness: "/api/v1/analytics/freshness",
  whoami: "/auth/whoami",
};
const POLL_MS = 2000;
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
async function refreshUnique() {
  const data = await getJson(API.uniqueCustomers);
  $("kpi-unique").textContent = formatCount(data.unique_customers);
}

async function refreshKpis() {
  const k = await getJson(API.kpis);
  const today = k.today || {};
  const overall = k.overall || k.all_time || {};
  $("kpi-purchases-today").textContent = formatCount(today.purchases);
  $("kpi-revenue-today").textContent = formatCents(today.revenue_cents);
  $("kpi-purchases-total").textContent = `overall ${formatCount(overall.purchases)}`;
  $("kpi-revenue-total").textContent = `overall ${formatCents(overall.revenue_cents)}`;
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
function salesRows(data) {
  // Accepts {rows:[{branch_id, day, purchases, revenue_cents}]}, {days:[...]} or a bare array.
  return Array.isArray(data) ? data : (data.rows || data.days || data.sales || []);
}

async function refreshBranches() {
  const params = new URLSearchParams();
  if ($("from").value) params.set("from", $("from").value);
  if ($("to").value) params.set("to", $("to").value);
  const rows = salesRows(await getJson(`${API.salesPerBranchPerDay}?${params}`));
  const measure = $("measure").value;
  const days = [...new Set(rows.map((r) => r.day || r.date))].sort();
  const branches = [...new Set(rows.map((r) => r.branch_id || r.branch))].sort();
  const datasets = branches.map((branch, i) => {
    const byDay = new Map(rows.filter((r) => (r.branch_id || r.branch) === branch).map((r) => [r.day || r.date, r]));
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
      scales: { y: { beginAtZero: true } }, plugins: { legend: { position: "bottom" } } },
  });
  chart.data.labels = days;
  chart.data.datasets = datasets;
  chart.update();
}

// ---- loyal customers ------------------------------------------------------------------------
async function refreshLoyal() {
  const search = $("loyal-search").value.trim().toLowerCase();
  let customers, total, minPurchases;
  if (search) {
    // Searching filters a large page here; the list is small (customers with 3+ purchases).
    const data = await getJson(`${API.loyalCustomers}?limit=1000&offset=0`);
    const all = (data.customers || []).filter((c) => c.customer_id.toLowerCase().includes(search));
    total = all.length;
    customers = all.slice(state.loyalPage * PAGE_SIZE, (state.loyalPage + 1) * PAGE_SIZE);
    minPurchases = data.min_purchases;
    $("kpi-loyal").textContent = formatCount(data.count);
  } else {
    const data = await getJson(`${API.loyalCustomers}?limit=${PAGE_SIZE}&offset=${state.loyalPage * PAGE_SIZE}`);
    customers = data.customers || [];
    total = data.count;
    minPurchases = data.min_purchases;
    $("kpi-loyal").textContent = formatCount(data.count);
  }
  if (minPurchases) $("kpi-loyal-sub").textContent = `${minPurchases}+ purchases`;
  $("loyal-count").textContent = Number.isFinite(total) ? `${formatCount(total)} ${search ? "matching" : "in all"}` : "";
  const pages = Math.max(1, Math.ceil((total || 0) / PAGE_SIZE));
  if (state.loyalPage >= pages) state.loyalPage = pages - 1;
  $("page").textContent = `page ${state.loyalPage + 1} of ${pages}`;
  $("prev").disabled = state.loyalPage === 0;
  $("next").disabled = state.loyalPage + 1 >= pages;
  const body = $("loyal-body");
  if (!customers.length) {
    body.innerHTML = '<tr><td colspan="2" class="muted">No customer matches.</td></tr>';
    return;
  }
  body.replaceChildren(...customers.map((c) => {
    const tr = document.createElement("tr");
    const id = document.createElement("td"); id.className = "mono"; id.textContent = c.customer_id;
    const n = document.createElement("td"); n.className = "num"; n.textContent = formatCount(c.purchases);
    tr.append(id, n);
    return tr;
  }));
}

// ---- pipeline freshness ----------------------------------------------------------------------------
async function refreshFreshness() {
  const f = await getJson(API.freshness);
  const lag = f.lag_seconds ?? f.freshness_seconds ?? null;
  const pill = $("freshness");
  if (lag === null || lag === undefined) { pill.textContent = "pipeline: no events yet"; pill.className = "pill"; return; }
  pill.textContent = `pipeline lag ${Number(lag).toFixed(1)} s`;
  pill.className = lag < 5 ? "pill ok" : lag < 60 ? "pill warn" : "pill bad";
}

// ---- polling --------------------------------------------------------------------------------------------
let timer = null;
async function refreshAll() {
  clearTimeout(timer);
  await Promise.all([
    part("unique customers", refreshUnique),
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
  // No default range: the API's default (every day it knows) shows the
  // historical import as well as today's sales.
  try {
    const who = await (await fetch(API.whoami, { credentials: "same-origin" })).json();
    if (who.mode === "open") { $("who").textContent = "access control off"; $("logout-form").hidden = true; }
    else if (who.role) $("who").textContent = `signed in: ${who.role}`;
  } catch { /* header stays empty */ }
  refreshAll();
})();
