// Cashier POS. Plain JavaScript, no build step.
//
// Every sale gets an idempotency key when the cashier presses Pay and is
// written to this till's durable queue (localStorage) BEFORE it is sent. It
// leaves the queue only when the purchases service has answered for it: a
// receipt, or a final rejection. Network errors and 502/503/504 keep it queued
// and it is resent with the SAME key, so the service records it at most once.
"use strict";

// The catalog comes from the products service: on this origin behind the
// edge, or on the origin the server names when the page is served directly.
const CATALOG_ORIGIN = document.querySelector('meta[name="catalog-origin"]')?.content || "";
const API = {
  purchases: "/api/v1/purchases",
  products: `${CATALOG_ORIGIN}/api/v1/products`,
  branches: `${CATALOG_ORIGIN}/api/v1/branches`,
  whoami: "/auth/whoami",
};
const STORE = { queue: "pos.queue.v1", branch: "pos.branch", catalog: "pos.catalog.v1", branches: "pos.branches.v1" };
const RETRY_MS = 3000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];

const $ = (id) => document.getElementById(id);
const state = { catalog: [], selected: [], sending: false, online: true };

// ---- money: integer cents only, never float sums ---------------------------
function formatCents(cents) {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

function newIdempotencyKey() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // crypto.randomUUID needs a secure context (HTTPS or localhost); plain HTTP
  // behind nginx still has getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function readJson(key, fallback) {
  try { const v = JSON.parse(localStorage.getItem(key)); return v ?? fallback; } catch { return fallback; }
}

// ---- durable queue ---------------------------------------------------------
function loadQueue() { return readJson(STORE.queue, []); }
function saveQueue(queue) { localStorage.setItem(STORE.queue, JSON.stringify(queue)); renderQueue(); }
function updateQueued(key, change) {
  const queue = loadQueue();
  const item = queue.find((s) => s.key === key);
  if (item) { Object.assign(item, change); saveQueue(queue); }
}
function removeQueued(key) { saveQueue(loadQueue().filter((s) => s.key !== key)); }

function renderQueue() {
  const queue = loadQueue();
  $("queue-count").textContent = String(queue.length);
  $("queue-count").className = queue.length ? "pill warn" : "pill";
  const list = $("queue");
  list.replaceChildren();
  renderNet();
  if (!queue.length) { list.append(el("li", { class: "muted" }, "Nothing waiting.")); return; }
  for (const sale of queue) {
    const when = new Date(sale.created).toLocaleTimeString();
    list.append(el("li", {},
      el("span", {}, `${when} · ${sale.body.branch_id} · ${sale.body.items.join(", ")} · ${formatCents(sale.total_cents)}`),
      el("span", { class: "muted small" }, sale.last_error ? `${sale.last_error} (try ${sale.attempts})` : "waiting")));
  }
}

function renderNet() {
  const pill = $("net");
  const queued = loadQueue().length;
  if (state.online) { pill.textContent = queued ? `online · sending ${queued}` : "online"; pill.className = "pill ok"; }
  else { pill.textContent = `offline · ${queued} queued`; pill.className = "pill bad"; }
}

// ---- talking to the purchases service ---------------------------------------
async function problemText(response) {
  try {
    const problem = await response.json();
    const title = problem.title || response.statusText || `HTTP ${response.status}`;
    return problem.detail ? `${title}: ${problem.detail}` : title;
  } catch {
    return `HTTP ${response.status} ${response.statusText}`;
  }
}

// Sends one queued sale. Returns {outcome: "done"|"retry"|"rejected", ...}.
async function send(sale) {
  let response;
  try {
    response = await fetch(API.purchases, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Idempotency-Key": sale.key, Accept: "application/json" },
      body: JSON.stringify(sale.body),
    });
  } catch (error) {
    state.online = false;
    return { outcome: "retry", message: "purchases service unreachable" };
  }
  if (response.ok) {
    state.online = true;
    return { outcome: "done", receipt: await response.json() };
  }
  if ([502, 503, 504].includes(response.status)) {
    state.online = false;
    return { outcome: "retry", message: `service unavailable (${response.status})` };
  }
  state.online = true;
  if (response.status === 401 || response.status === 403) {
    return { outcome: "retry", message: "sign in again to send", auth: true };
  }
  if (response.status === 429 || response.status >= 500) {
    return { outcome: "retry", message: await problemText(response) };
  }
  return { outcome: "rejected", message: await problemText(response), status: response.status };
}

async function flushQueue() {
  if (state.sending) return;
  state.sending = true;
  try {
    for (const sale of loadQueue()) {
      const result = await send(sale);
      if (result.outcome === "done") {
        removeQueued(sale.key);
        if (sale.key !== state.currentKey) showMessage("ok", `Queued sale sent: purchase ${result.receipt.purchase_id}`);
        else showReceipt(result.receipt);
      } else if (result.outcome === "rejected") {
        removeQueued(sale.key);
        showMessage("bad", `Sale rejected — ${result.message}`);
      } else {
        updateQueued(sale.key, { attempts: (sale.attempts || 0) + 1, last_error: result.message });
        if (sale.key === state.currentKey) {
          if (result.auth) showLoginNeeded();
          else showMessage("warn", `Sale queued on this till (${result.message}); it will be sent automatically.`);
          state.currentKey = null;
        }
        break; // keep order; try again later
      }
    }
  } finally {
    state.sending = false;
    renderQueue();
  }
}

// ---- the sale being rung up -------------------------------------------------
function totalCents() {
  return state.selected.reduce((sum, name) => sum + (state.catalog.find((p) => p.name === name)?.price_cents ?? 0), 0);
}

function toggle(name) {
  const at = state.selected.indexOf(name);
  if (at >= 0) state.selected.splice(at, 1); else state.selected.push(name); // at most once: quantity is always 1
  renderSale();
}

function customerId() {
  const kind = document.querySelector('input[name="customer-kind"]:checked').value;
  if (kind === "new") return { ok: true, id: null };
  const value = $("customer-id").value.trim();
  if (!UUID_RE.test(value)) return { ok: false, message: "A customer id looks like 0f8fad5b-d9cb-469f-a165-70867728950e." };
  return { ok: true, id: value.toLowerCase() };
}

function renderSale() {
  for (const button of document.querySelectorAll(".product")) {
    button.setAttribute("aria-pressed", String(state.selected.includes(button.dataset.name)));
  }
  const basket = $("basket");
  basket.replaceChildren();
  if (!state.selected.length) basket.append(el("li", { class: "empty" }, "Tap products or press their keys."));
  for (const name of state.selected) {
    const product = state.catalog.find((p) => p.name === name);
    basket.append(el("li", {}, el("span", {}, name), el("span", { class: "mono" }, formatCents(product?.price_cents ?? 0))));
  }
  $("total").textContent = formatCents(totalCents());
  const customer = customerId();
  const input = $("customer-id");
  const showInvalid = !customer.ok && input.value.trim() !== "";
  input.classList.toggle("invalid", showInvalid);
  $("customer-msg").textContent = showInvalid ? customer.message : "";
  $("pay").disabled = !state.selected.length || !customer.ok || !$("branch").value;
}

function clearSale() {
  state.selected = [];
  renderSale();
}

function showMessage(kind, text) {
  $("result").replaceChildren(el("div", { class: `msg ${kind}`, role: kind === "bad" ? "alert" : "status" }, text));
}

function showLoginNeeded() {
  $("result").replaceChildren(el("div", { class: "msg warn", role: "alert" },
    "Your session has ended; the sale is kept on this till. ",
    el("a", { href: "/login?next=/pos" }, "Sign in again"), " and it will be sent."));
}

function showReceipt(receipt) {
  const items = el("ul", { class: "basket" });
  for (const item of receipt.items || []) {
    items.append(el("li", {}, el("span", {}, item.name), el("span", { class: "mono" }, item.unit_price ?? formatCents(item.unit_price_cents))));
  }
  $("result").replaceChildren(el("div", { class: "receipt", "data-purchase-id": receipt.purchase_id },
    el("h3", {}, "Paid ✓"),
    el("dl", {},
      el("dt", {}, "Purchase"), el("dd", { class: "mono", id: "receipt-id" }, receipt.purchase_id),
      el("dt", {}, "Customer"), el("dd", { class: "mono" }, receipt.customer_id ?? "—"),
      el("dt", {}, "Branch"), el("dd", {}, receipt.branch_id),
      el("dt", {}, "Time"), el("dd", {}, receipt.purchased_at ? new Date(receipt.purchased_at).toLocaleString() : "")),
    items,
    el("div", { class: "total-row" }, el("span", {}, "Total"), el("span", { class: "mono" }, receipt.total ?? formatCents(receipt.total_cents)))));
}

async function pay() {
  const customer = customerId();
  if (!state.selected.length || !customer.ok || !$("branch").value) { renderSale(); return; }
  const body = { branch_id: $("branch").value, items: [...state.selected] };
  if (customer.id) body.customer_id = customer.id;
  const sale = { key: newIdempotencyKey(), body, total_cents: totalCents(), created: Date.now(), attempts: 0 };
  // Durable first: a crash or a closed tab after this line loses nothing.
  saveQueue([...loadQueue(), sale]);
  state.currentKey = sale.key;
  clearSale();
  showMessage("ok", "Sending…");
  await flushQueue();
  if (state.currentKey === sale.key && loadQueue().some((s) => s.key === sale.key)) {
    // An older queued sale is still blocking the line: this one waits behind it.
    showMessage("warn", "Sale queued on this till behind earlier ones; it will be sent automatically.");
    state.currentKey = null;
  }
}

// ---- catalog and branches ---------------------------------------------------
async function fetchList(url, cacheKey) {
  try {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(await problemText(response));
    const data = await response.json();
    const list = Array.isArray(data) ? data : (data.products || data.branches || data.items || []);
    localStorage.setItem(cacheKey, JSON.stringify(list));
    return { list, fresh: true };
  } catch (error) {
    return { list: readJson(cacheKey, []), fresh: false, error };
  }
}

function renderProducts() {
  const box = $("products");
  box.replaceChildren();
  state.catalog.forEach((product, index) => {
    const key = KEYS[index];
    box.append(el("button", {
      class: "product", type: "button", "data-name": product.name, "aria-pressed": "false",
      "aria-keyshortcuts": key || "", onclick: () => toggle(product.name),
    }, el("span", { class: "name" }, product.name), el("span", { class: "price" }, formatCents(product.price_cents)), ...(key ? [el("kbd", {}, key)] : [])));
  });
}

async function loadCatalog() {
  const [products, branches] = await Promise.all([fetchList(API.products, STORE.catalog), fetchList(API.branches, STORE.branches)]);
  state.catalog = products.list.filter((p) => p && typeof p.name === "string" && Number.isInteger(p.price_cents)).sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  $("catalog-msg").textContent = products.fresh ? "" : (state.catalog.length ? "Offline: showing this till's saved catalog." : "The catalog cannot be loaded yet; retrying…");
  renderProducts();
  const select = $("branch");
  const remembered = localStorage.getItem(STORE.branch);
  select.replaceChildren(el("option", { value: "" }, "— choose —"));
  for (const branch of branches.list) {
    const id = typeof branch === "string" ? branch : branch.id;
    const label = typeof branch === "string" ? branch : (branch.name ? `${branch.id} · ${branch.name}` : branch.id);
    select.append(el("option", { value: id }, label));
  }
  if (remembered && [...select.options].some((o) => o.value === remembered)) select.value = remembered;
  renderSale();
  if (!state.catalog.length) setTimeout(loadCatalog, RETRY_MS);
}

async function loadWho() {
  try {
    const response = await fetch(API.whoami, { credentials: "same-origin" });
    const who = await response.json();
    if (who.mode === "open") { $("who").textContent = "access control off"; $("logout-form").hidden = true; }
    else if (who.role) $("who").textContent = `signed in: ${who.role}`;
  } catch { /* offline: the header just stays empty */ }
}

// ---- keyboard first -----------------------------------------------------------
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target instanceof HTMLInputElement && event.target.type === "text" || event.target instanceof HTMLSelectElement;
  if (event.key === "Enter") { event.preventDefault(); pay(); return; }
  if (event.key === "Escape") { event.preventDefault(); clearSale(); return; }
  if (typing) return;
  const index = KEYS.indexOf(event.key);
  if (index >= 0 && state.catalog[index]) { event.preventDefault(); toggle(state.catalog[index].name); }
});

$("branch").addEventListener("change", () => { localStorage.setItem(STORE.branch, $("branch").value); renderSale(); });
$("customer-id").addEventListener("input", renderSale);
for (const radio of document.querySelectorAll('input[name="customer-kind"]')) {
  radio.addEventListener("change", () => {
    const existing = radio.value === "existing" && radio.checked;
    $("customer-id").disabled = !existing;
    if (existing) $("customer-id").focus(); else $("customer-id").value = "";
    renderSale();
  });
}
$("pay").addEventListener("click", pay);
$("clear").addEventListener("click", clearSale);
window.addEventListener("online", flushQueue);
// Another tab of this till changed the queue.
window.addEventListener("storage", (event) => { if (event.key === STORE.queue) renderQueue(); });
setInterval(() => { if (loadQueue().length) flushQueue(); }, RETRY_MS);

renderQueue();
loadWho();
loadCatalog().then(flushQueue);
