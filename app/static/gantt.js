// The order's plan drawn with vis-timeline (vendor/vis-timeline-graph2d.min.js, the global `vis`):
// one row per activity and per party order, planned bars, actual progress, milestones, the critical
// chain, the committed date and, once the forecast exists, its P50–P90 band.

import { day } from "./render.js";

const HOUR = 3600 * 1000;

function text(...parts) {
  const span = document.createElement("span");
  span.textContent = parts.filter(Boolean).join(" ");
  return span;
}

// Tooltips are HTML to vis-timeline (it filters them for scripts): names from the API are escaped.
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ms = (iso) => (iso ? new Date(iso).getTime() : null);
const critical = (order) => new Set((order.forecast?.criticalPath || []).map((w) => `${w.kind}:${w.id}`));

/** The rows and bars of an order's plan, as vis-timeline groups and items (pure: tested through the page). */
export function planOf(order, now = Date.now()) {
  const chain = critical(order);
  const groups = [];
  const items = [];
  const onChain = (key) => (chain.has(key) ? " critical" : "");

  for (const a of order.activities) {
    const key = `activity:${a.id}`;
    const late = a.expectedEnd && ms(a.expectedEnd) > ms(a.plannedEnd) ? " slipping" : "";
    groups.push({ id: key, content: text(a.kind, a.workGroup ? `· ${a.workGroup}` : ""), className: `row-activity${onChain(key)}` });
    items.push({
      id: `${key}:plan`, group: key, start: ms(a.plannedStart), end: ms(a.plannedEnd), type: "range",
      className: `planned activity work-activity-${a.id}${onChain(key)}${late}`, content: text(), title: escape(`${a.kind}: planned ${day(a.plannedStart)} → ${day(a.plannedEnd)}`),
    });
    if (a.actualStart) {
      const end = Math.max(ms(a.actualEnd) || now, ms(a.actualStart) + HOUR); // at least an hour wide, to be seen
      items.push({
        id: `${key}:actual`, group: key, start: ms(a.actualStart), end, type: "range",
        className: `actual activity state-${a.state.toLowerCase()}`, content: text(`${a.percentComplete}%`),
        title: escape(`${a.kind}: ${a.state.toLowerCase().replaceAll("_", " ")} ${a.percentComplete}%, since ${day(a.actualStart)}`),
      });
    }
  }

  for (const po of order.partyOrders || []) {
    const key = `partyOrder:${po.id}`;
    const committed = ms(po.committedDeliveryDate) || ms(po.neededBy);
    const from = ms(po.acknowledgedAt) || ms(po.createdAt);
    groups.push({ id: key, content: text(po.party.name, "delivery"), className: `row-party-order${onChain(key)}` });
    if (committed && from) {
      items.push({
        id: `${key}:plan`, group: key, start: from, end: Math.max(committed, from + HOUR), type: "range",
        className: `planned party-order work-partyOrder-${po.id}${onChain(key)}`, content: text(po.committedDeliveryDate ? "committed" : "needed by"),
        title: escape(`${po.party.name}: ${po.committedDeliveryDate ? `committed ${day(po.committedDeliveryDate)}` : `needed by ${day(po.neededBy)}`}`),
      });
    }
    if (po.acknowledgedAt) {
      const end = Math.max(ms(po.deliveredAt) || now, ms(po.acknowledgedAt) + HOUR);
      items.push({
        id: `${key}:actual`, group: key, start: ms(po.acknowledgedAt), end, type: "range",
        className: `actual party-order state-${po.state.toLowerCase()}`, content: text(`${po.percentComplete}%`),
        title: escape(`${po.party.name}: ${po.state.toLowerCase().replaceAll("_", " ")} ${po.percentComplete}%`),
      });
    }
    for (const m of po.milestones || []) {
      items.push({
        id: `${key}:milestone:${m.id}`, group: key, start: ms(m.reachedAt || m.plannedDate), type: "point",
        className: `milestone${m.reachedAt ? " reached" : ""}`, content: text(m.name),
        title: escape(`milestone ${m.name}: planned ${day(m.plannedDate)}${m.reachedAt ? `, reached ${day(m.reachedAt)}` : ""}`),
      });
    }
    if (po.forecast) {
      items.push({
        id: `${key}:band`, group: key, start: ms(po.forecast.deliveryP50), end: Math.max(ms(po.forecast.deliveryP90), ms(po.forecast.deliveryP50) + HOUR),
        type: "background", className: "forecast-band party-order",
        title: escape(`${po.party.name}: delivery P50 ${day(po.forecast.deliveryP50)} – P90 ${day(po.forecast.deliveryP90)}, on time ${Math.round(po.forecast.onTimeProbability * 100)}%`),
      });
    }
  }

  const f = order.forecast;
  if (f && f.completionP50 && f.completionP90) {
    items.push({
      id: "order:band", start: ms(f.completionP50), end: Math.max(ms(f.completionP90), ms(f.completionP50) + HOUR), type: "background",
      className: "forecast-band order", content: text(`P50–P90 · on time ${Math.round(f.onTimeProbability * 100)}%`),
      title: escape(`completion P50 ${day(f.completionP50)} – P90 ${day(f.completionP90)}; ${f.basis}`),
    });
  }
  groups.forEach((g, order) => { g.order = order; });
  return { groups, items };
}

function windowOf(order, items) {
  const times = [ms(order.committedDate), ms(order.expectedCompletion)];
  for (const i of items) times.push(i.start, i.end);
  const known = times.filter((t) => t !== null && t !== undefined && !Number.isNaN(t));
  const start = Math.min(...known);
  const end = Math.max(...known);
  const margin = Math.max((end - start) * 0.05, 6 * HOUR);
  return { start: start - margin, end: end + 3 * margin }; // room on the right for the committed date's label
}

/** Draw (or redraw) the order's Gantt into ``container``; returns the vis.Timeline. */
export function drawGantt(container, order, previous) {
  const { groups, items } = planOf(order);
  if (!globalThis.vis || !groups.length) {
    if (previous) previous.destroy();
    container.replaceChildren(text(globalThis.vis ? "No activities or party orders planned yet." : "The plan cannot be drawn: vis-timeline did not load."));
    container.dataset.drawn = "none";
    return null;
  }
  const range = windowOf(order, items);
  if (previous && previous.orderId === order.id) {
    previous.setData({ groups: new vis.DataSet(groups), items: new vis.DataSet(items) });
    previous.setCustomTime(ms(order.committedDate), "committed");
    container.dataset.drawn = String(order.version);
    return previous;
  }
  if (previous) previous.destroy();
  container.replaceChildren();
  const timeline = new vis.Timeline(container, new vis.DataSet(items), new vis.DataSet(groups), {
    ...range, stack: true, zoomKey: "ctrlKey", orientation: "top", showCurrentTime: true,
    groupOrder: "order", tooltip: { followMouse: true }, margin: { item: 4 },
  });
  timeline.orderId = order.id;
  timeline.addCustomTime(ms(order.committedDate), "committed");
  timeline.setCustomTimeMarker("committed", "committed");
  timeline.setCustomTimeTitle(`committed ${day(order.committedDate)}`, "committed");
  container.dataset.drawn = String(order.version);
  return timeline;
}
