// Small DOM helpers and the renderings of orders, trees, timelines and feed entries.

export const LEVELS = [
  ["ALL", "All"],
  ["NONE", "On track"],
  ["AT_RISK", "At risk"],
  ["JEOPARDY", "Jeopardy"],
  ["LATE", "Late"],
];
const LEVEL_NAMES = Object.fromEntries(LEVELS);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function day(iso) {
  if (!iso) return "—";
  return new Date(iso).toISOString().slice(0, 16).replace("T", " ");
}

export function date(iso) {
  return iso ? new Date(iso).toISOString().slice(0, 10) : "—";
}

const words = (enumValue) => (enumValue || "").toLowerCase().replaceAll("_", " ");

export function jeopardyBadge(level, reason) {
  return el("span", { class: `badge level-${(level || "NONE").toLowerCase()}`, title: reason || null, dataset: { level } }, LEVEL_NAMES[level] || level);
}

export function escalationBadge(level) {
  return level > 0 ? el("span", { class: "badge escalation", dataset: { escalation: level } }, `Escalated L${level}`) : null;
}

export function orderRow(order, selected, onSelect) {
  return el(
    "tr",
    { class: selected ? "selected" : null, dataset: { orderId: order.id, ref: order.salesRequestRef }, onclick: () => onSelect(order.id) },
    el("td", {}, order.salesRequestRef),
    el("td", {}, order.customerName),
    el("td", {}, words(order.priority)),
    el("td", {}, el("span", { class: "state" }, words(order.state))),
    el("td", {}, date(order.committedDate)),
    el("td", { class: order.expectedCompletion && order.expectedCompletion > order.committedDate ? "slips" : null }, date(order.expectedCompletion)),
    el("td", { class: "badges" }, jeopardyBadge(order.jeopardyLevel, order.jeopardyReason), escalationBadge(order.escalationLevel)),
  );
}

function sor(request) {
  if (!request) return null;
  return el("span", { class: "sor" }, `service order ${words(request.state)}${request.externalRef ? ` · ${request.externalRef}` : ""}`);
}

function itemNode(item, activitiesByItem) {
  const acts = activitiesByItem.get(item.id) || [];
  return el(
    "li",
    { class: "item" },
    el("span", { class: "product" }, item.productRef),
    ` ×${item.quantity} `,
    el("span", { class: "state" }, words(item.state)),
    item.fulfillment === "PARTY" ? el("span", { class: "party" }, ` party ${item.partyId ?? "?"}`) : null,
    " ",
    sor(item.serviceOrderRequest),
    acts.length ? el("ul", { class: "activities" }, acts.map(activityNode)) : null,
    item.children && item.children.length ? el("ul", {}, item.children.map((c) => itemNode(c, activitiesByItem))) : null,
  );
}

function activityNode(a) {
  return el(
    "li",
    { class: "activity" },
    `${a.kind}: `,
    el("span", { class: "state" }, words(a.state)),
    ` ${a.percentComplete}% · planned end ${day(a.plannedEnd)}`,
    a.workGroup ? ` · ${a.workGroup}` : "",
    " ",
    a.jeopardyLevel !== "NONE" ? jeopardyBadge(a.jeopardyLevel, a.jeopardyReason) : null,
  );
}

function partyOrderNode(po) {
  const open = (po.changeRequests || []).filter((c) => c.state === "OPEN");
  return el(
    "li",
    { class: "party-order", dataset: { partyOrderId: po.id } },
    el("span", { class: "product" }, `${po.party.name}`),
    po.partyReference ? ` ref ${po.partyReference}` : "",
    " ",
    el("span", { class: "state" }, words(po.state)),
    ` ${po.percentComplete}% · needed by ${date(po.neededBy)} · expected ${date(po.expectedDeliveryDate || po.committedDeliveryDate)} `,
    jeopardyBadge(po.jeopardyLevel, po.jeopardyReason),
    escalationBadge(po.escalationLevel),
    po.lines.length ? el("div", { class: "sor" }, `delivers ${po.lines.map((l) => l.productRef).join(", ")}${po.revision ? ` · revision ${po.revision}` : ""}`) : null,
    po.milestones.length
      ? el("ul", { class: "milestones" }, po.milestones.map((m) => el("li", {}, `milestone ${m.name}: planned ${date(m.plannedDate)}${m.reachedAt ? ` · reached ${date(m.reachedAt)}` : ""}`)))
      : null,
    open.length
      ? el("ul", { class: "change-requests" }, open.map((c) => el("li", { class: "change-request" }, `open change request (${words(c.nature)}, ${words(c.kind)}): ${c.reason}${c.proposedDeliveryDate ? ` → ${date(c.proposedDeliveryDate)}` : ""}`)))
      : null,
  );
}

/** The order tree: items (with their activities and service order requests), then order-level activities. */
export function tree(order) {
  const byItem = new Map();
  const orderLevel = [];
  for (const a of order.activities) {
    if (a.itemId) byItem.set(a.itemId, [...(byItem.get(a.itemId) || []), a]);
    else orderLevel.push(a);
  }
  const parts = [el("ul", { class: "tree" }, order.items.map((i) => itemNode(i, byItem)))];
  if (orderLevel.length) parts.push(el("h4", {}, "Order activities"), el("ul", { class: "activities" }, orderLevel.map(activityNode)));
  if (order.partyOrders && order.partyOrders.length) parts.push(el("h4", {}, "Party orders"), el("ul", { class: "party-orders" }, order.partyOrders.map(partyOrderNode)));
  if (order.escalations && order.escalations.length) {
    parts.push(el("h4", {}, "Escalations"), el("ul", { class: "escalations" }, order.escalations.map((e) => el("li", {},
      `${day(e.at)} L${e.fromLevel} → L${e.toLevel} (${words(e.direction)}${e.manual ? ", by hand" : e.rule ? `, rule ${e.rule}` : ""}) ${e.reason || ""}${e.notify.length ? ` · notify ${e.notify.join(", ")}` : ""}`))));
  }
  if (order.notes.length) parts.push(el("h4", {}, "Notes"), el("ul", {}, order.notes.map((n) => el("li", {}, `${day(n.createdAt)} ${n.author}: ${n.text}`))));
  return parts;
}

function change(event) {
  const after = event.after || {};
  const keys = Object.keys(after).filter((k) => k !== "version" && k !== "updatedAt" && k !== "updated_at");
  const show = (v) => (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v) ? day(v) : JSON.stringify(v ?? null));
  return keys.slice(0, 4).map((k) => `${k}: ${show((event.before || {})[k])} → ${show(after[k])}`).join(", ");
}

/** What the order's latest amendment changed: the events of that revision (app/orders/amendment.py). */
export function revisionChanges(revision, events) {
  if (!revision) return [];
  const mine = events.filter((e) => e.type !== "orderAmended" && e.details && (e.details.revision === revision || e.details.order_revision === revision));
  const line = (e) => {
    const a = e.after || {};
    if (e.type === "itemAdded") return `added ${a.product_ref} ×${a.quantity}${a.parent_id ? ` under item ${a.parent_id}` : ""}`;
    if (e.type === "itemModified") return `item ${e.entityId}: ${change(e)}`;
    if (e.type === "itemRemoved") return `removed item ${e.entityId}${e.details.reason ? ` (${e.details.reason})` : ""}`;
    if (e.type === "serviceOrderSupplemented") return `service order request ${e.entityId}: supplement ${a.supplement}`;
    if (e.type === "partyOrderRevised") return `party order ${e.partyOrderId}: revision ${a.revision} sent (${(a.lines || []).map((l) => `${l.product_ref} ${l.change === "delete" ? "dropped" : `×${l.quantity}`}`).join(", ")})`;
    if (e.type === "activityRescheduled") return `activity ${e.entityId} re-planned: ${change(e)}`;
    return `${e.type} ${e.entity} ${e.entityId}`;
  };
  return [el("h3", {}, `Revision ${revision}: what changed`), el("ul", { class: "revision-changes" }, mine.map((e) => el("li", { dataset: { type: e.type } }, line(e))))];
}

export function timelineEntry(event) {
  return el(
    "li",
    { dataset: { sequence: event.sequence, type: event.type } },
    el("time", {}, day(event.at)),
    " ",
    el("span", { class: "summary" }, event.summary),
    el("span", { class: "by" }, ` · ${event.actor}`),
  );
}

/** One line on the order's forecast: when it completes (P50–P90), how likely on time, and on what basis. */
export function forecastLine(order) {
  const f = order.forecast;
  if (!f || !f.completionP50) return [el("span", { class: "hint" }, "No forecast yet: it is drawn once the order's work is planned.")];
  const chance = Math.round(f.onTimeProbability * 100);
  return [
    el("span", { class: `chance ${chance >= 80 ? "good" : chance >= 50 ? "fair" : "poor"}` }, `${chance}% on time`),
    ` · completes ${date(f.completionP50)} (P50) – ${date(f.completionP90)} (P90) · committed ${date(order.committedDate)}`,
    f.criticalPath.length ? ` · critical chain: ${f.criticalPath.map((w) => w.name).join(" → ")}` : "",
    el("div", { class: "basis" }, f.basis),
  ];
}

export function feedEntry(event, refOf) {
  const after = event.after || {};
  const level = after.jeopardyLevel || after.jeopardy_level;
  const escalation = after.escalationLevel ?? after.escalation_level;
  return el(
    "li",
    { class: "feed-entry", dataset: { type: event.type, orderId: event.orderId } },
    el("time", {}, day(event.at)),
    " ",
    el("strong", { dataset: { refFor: event.orderId } }, refOf(event.orderId)),
    " ",
    event.summary || event.type,
    " ",
    level ? jeopardyBadge(String(level).toUpperCase(), event.details?.reason) : null,
    escalation !== undefined ? escalationBadge(Number(escalation)) : null,
  );
}
