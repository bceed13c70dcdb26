// The operations dashboard: sign in, order list with jeopardy filters, an order's tree and timeline,
// and a live feed. Every request is an operation of the front-end contract.

import { Api, ApiError, loadOperations } from "./api.js";
import { connectLive, follow } from "./live.js";
import { LEVELS, el, feedEntry, jeopardyBadge, escalationBadge, forecastLine, orderRow, revisionChanges, timelineEntry, tree, day } from "./render.js";
import { drawGantt } from "./gantt.js";

const OPEN_STATES = ["ACKNOWLEDGED", "PENDING", "HELD", "IN_PROGRESS", "ASSESSING_CANCELLATION", "PENDING_CANCELLATION"];
const TOKEN_KEY = "ordertrack.token";
// The contract's subscriptions the dashboard follows (absent from a server without live updates).
const LIVE_ORDERS = "LiveOrderEvents";
const LIVE_ALERTS = "LiveJeopardyAlerts";

const LOST = "Connection to the server lost — reconnecting; missed events will be replayed.";
const $ = (id) => document.getElementById(id);
const state = { api: null, level: "ALL", openOnly: false, text: "", orders: [], selected: null, live: null, subscriptions: [], refresh: null, generation: 0, gantt: null };

function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text || "";
  box.className = kind;
  box.hidden = !text;
}

function setStatus(status, reconnected = false) {
  const labels = {
    off: "offline",
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    lost: "connection lost",
    refused: "token refused",
    unavailable: "no live updates",
  };
  const pill = $("live-status");
  pill.textContent = labels[status] || status;
  pill.dataset.state = status;
  pill.className = `status ${status}`;
  if (status === "lost" || status === "reconnecting") say(LOST, "warning");
  else if (status === "refused") say("The server refused the token for live updates. Sign in again.");
  else if (status === "live" && $("message").className === "warning") say("");
  // A stream that had seen no event yet has no cursor to resume from: read the current state again.
  if (status === "live" && reconnected && state.api) refreshSoon();
}

function filter() {
  const f = {};
  if (state.level !== "ALL") f.jeopardyLevels = [state.level];
  if (state.openOnly) f.states = OPEN_STATES;
  if (state.text) f.text = state.text;
  return f;
}

function loadCounts() {
  return state.api.run("JeopardyCounts", { states: state.openOnly ? OPEN_STATES : null });
}

function showCounts(counts) {
  const byLevel = { ALL: counts.all, NONE: counts.none, AT_RISK: counts.atRisk, JEOPARDY: counts.jeopardy, LATE: counts.late };
  $("levels").replaceChildren(
    ...LEVELS.map(([level, name]) =>
      el(
        "button",
        { type: "button", class: `level level-${level.toLowerCase()}${state.level === level ? " active" : ""}`, dataset: { level }, onclick: () => { state.level = level; refresh(); } },
        name,
        " ",
        el("span", { class: "count" }, byLevel[level].totalCount),
      ),
    ),
  );
}

function loadOrders() {
  return state.api.run("OrderList", { filter: filter(), first: 100 });
}

function showOrders(data) {
  state.orders = data.customerOrders.edges.map((e) => e.node);
  $("orders").tBodies[0].replaceChildren(...state.orders.map((o) => orderRow(o, o.id === state.selected, select)));
  for (const label of $("feed").querySelectorAll("[data-ref-for]")) label.textContent = refOf(label.dataset.refFor);
  const total = data.customerOrders.totalCount;
  $("orders-total").textContent = `${state.orders.length} of ${total} orders`;
}

async function refresh() {
  const generation = ++state.generation;
  try {
    const [counts, orders] = await Promise.all([loadCounts(), loadOrders()]);
    // Answers can arrive out of order: only the latest refresh's (the current filters') are shown.
    if (generation !== state.generation) return;
    showCounts(counts);
    showOrders(orders);
    if (state.selected) await loadDetail(state.selected);
  } catch (err) {
    fail(err);
  }
}

/** Many events in a burst cause one refresh. */
function refreshSoon() {
  clearTimeout(state.refresh);
  state.refresh = setTimeout(refresh, 150);
}

async function loadDetail(id) {
  const [{ customerOrder: order }, { orderTimeline }] = await Promise.all([
    state.api.run("OrderTree", { id }),
    state.api.run("OrderTimeline", { orderId: id, first: 100 }),
  ]);
  if (!order) {
    $("detail").hidden = true;
    return;
  }
  $("detail-hint").hidden = true;
  $("detail").hidden = false;
  $("detail-title").replaceChildren(`${order.salesRequestRef} · ${order.customerName} `, jeopardyBadge(order.jeopardyLevel, order.jeopardyReason), " ", escalationBadge(order.escalationLevel) || "");
  $("detail-meta").textContent = `${order.state.toLowerCase()} · revision ${order.revision} · committed ${day(order.committedDate)} · expected ${day(order.expectedCompletion)}${order.jeopardyReason ? ` · ${order.jeopardyReason}` : ""}`;
  $("revision").replaceChildren(...revisionChanges(order.revision, orderTimeline.edges.map((e) => e.node)));
  $("forecast").replaceChildren(...forecastLine(order));
  state.gantt = drawGantt($("gantt"), order, state.gantt);
  $("tree").replaceChildren(...tree(order));
  $("timeline").replaceChildren(...orderTimeline.edges.map((e) => timelineEntry(e.node)));
}

async function select(id) {
  state.selected = id;
  for (const row of $("orders").tBodies[0].rows) row.classList.toggle("selected", row.dataset.orderId === id);
  try {
    await loadDetail(id);
  } catch (err) {
    fail(err);
  }
}

const refs = new Map(); // order id -> sales request ref, for every order seen so far

function refOf(orderId) {
  for (const o of state.orders) refs.set(o.id, o.salesRequestRef);
  return refs.get(String(orderId)) || `order ${orderId}`;
}

function startLive(token) {
  const ops = state.api.operations;
  if (!ops[LIVE_ORDERS] && !ops[LIVE_ALERTS]) {
    setStatus("unavailable");
    $("feed-hint").textContent = "This server's contract has no subscriptions yet: the list refreshes when you change a filter.";
    return;
  }
  state.live = connectLive(token, setStatus);
  const onError = (err) => say(`Live updates stopped: ${err.message || err}`);
  if (ops[LIVE_ORDERS]) state.subscriptions.push(follow(state.live, ops[LIVE_ORDERS], {}, () => refreshSoon(), onError));
  if (ops[LIVE_ALERTS]) {
    state.subscriptions.push(
      follow(state.live, ops[LIVE_ALERTS], {}, (event) => {
        $("feed").prepend(feedEntry(event, refOf));
        refreshSoon();
      }, onError),
    );
  }
}

function stopLive() {
  for (const s of state.subscriptions) s.dispose();
  state.subscriptions = [];
  if (state.live) state.live.dispose();
  state.live = null;
  setStatus("off");
}

function fail(err) {
  if (err instanceof ApiError && err.code === "UNAUTHENTICATED") {
    signOut();
    say(`Sign-in failed: ${err.message}`);
  } else if (err instanceof ApiError && err.code === "NETWORK") {
    say(state.live ? LOST : "The server cannot be reached.", state.live ? "warning" : "error");
  } else if (err instanceof ApiError && err.code === "FORBIDDEN") {
    say(`This token may not read the dashboard: ${err.message}`);
  } else {
    say(err.message || String(err));
  }
}

async function signIn(token) {
  say("");
  try {
    const api = new Api(token, await loadOperations());
    const { me } = await api.run("Me");
    if (me.role === "partner") {
      say(`This token may not read the dashboard: ${me.name} is a partner token, for its own party orders only.`);
      return;
    }
    state.api = api;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("signin").hidden = true;
    $("who").hidden = false;
    $("who-name").textContent = `${me.name} (${me.role})`;
    $("board").hidden = false;
    startLive(token); // subscribe first, so nothing that happens while the list loads is missed
    await refresh();
  } catch (err) {
    fail(err);
  }
}

function signOut() {
  stopLive();
  sessionStorage.removeItem(TOKEN_KEY);
  state.api = null;
  $("board").hidden = true;
  $("who").hidden = true;
  $("signin").hidden = false;
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("token").value.trim();
  if (token) signIn(token);
  else say("Paste an API token to sign in (`ordertrack create-token --role viewer`).");
});
$("signout").addEventListener("click", () => { signOut(); say(""); });
$("open-only").addEventListener("change", (e) => { state.openOnly = e.target.checked; refresh(); });
let typing;
$("search").addEventListener("input", (e) => {
  clearTimeout(typing);
  typing = setTimeout(() => { state.text = e.target.value.trim(); refresh(); }, 250);
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
