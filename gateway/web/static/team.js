// A team's own view: its key, entered on the page and kept in this tab's session storage
// (never in the page's URL), opens the team's own stream (/ws?api_key=, from seq 1, so
// the orders and fills before the page opened are there too), GET /refusals and
// GET /teams/{id}/score. Nothing here goes through the public stream, and nothing of
// another team can: every call answers for the key's own team only.
import { drawChart } from "/dashboard/chart.js";
import { labelled, usd } from "/dashboard/standings.js";

const $ = (id) => document.getElementById(id);
const KEY = "tradepit-team-key";
const MAX_POINTS = 3000;

export const mine = {
  key: null, ws: null, lastSeq: 0, teamId: null, role: null, name: null, tick: 0,
  orders: new Map(), fills: [], refusals: [], snapshot: null, score: null,
  pnl: [], prices: new Map(), accepted: [], status: "no key",
  fair: null, // instrument -> [[tick, fair]] from the public stream, set by the page
};

function reset() {
  Object.assign(mine, { ws: null, lastSeq: 0, teamId: null, role: null, name: null, tick: 0, orders: new Map(),
    fills: [], refusals: [], snapshot: null, score: null, pnl: [], prices: new Map(), accepted: [] });
}

async function call(path) {
  const r = await fetch(path, { headers: { "X-API-Key": mine.key } });
  const body = await r.json();
  if (!body.success) throw new Error(`${body.error.code}: ${body.error.message}`);
  return body.data;
}

function push(list, item) {
  list.push(item);
  if (list.length > MAX_POINTS) list.shift();
}

function take(m, redraw) {
  if (typeof m.seq !== "number" || m.seq <= mine.lastSeq) return; // not a stream message, or applied
  if (m.seq !== mine.lastSeq + 1 && mine.lastSeq !== 0) {
    mine.ws.close(); // a gap: resume from the last applied seq, as the public stream does
    return;
  }
  mine.lastSeq = m.seq;
  const d = m.data;
  switch (m.type) {
    case "position_snapshot":
      mine.snapshot = d;
      mine.tick = d.tick_number ?? mine.tick;
      for (const o of d.open_orders || []) mine.orders.set(o.order_id, o);
      break;
    case "tick_start": mine.tick = d.tick_number; break;
    case "market_data": {
      // the last trade, not the mid: a one-sided or wide book makes the mid jump around
      const price = d.last ?? d.fair;
      if (price === null || price === undefined) break;
      let s = mine.prices.get(d.instrument_id);
      if (!s) mine.prices.set(d.instrument_id, (s = []));
      if (s.length && s[s.length - 1][0] === mine.tick) s[s.length - 1][1] = price;
      else push(s, [mine.tick, price]);
      break;
    }
    case "new_order_ack":
      mine.orders.set(d.order_id, { ...d, remaining_quantity: d.quantity });
      push(mine.accepted, { ...d, tick_number: mine.tick });
      break;
    case "execution_report": {
      push(mine.fills, { ...d, tick_number: mine.tick, seq: m.seq });
      const o = mine.orders.get(d.order_id);
      if (o) { o.remaining_quantity = d.remaining_quantity; if (!d.remaining_quantity) mine.orders.delete(d.order_id); }
      break;
    }
    case "order_cancelled": mine.orders.delete(d.order_id); break;
    case "score_update":
      mine.score = { ...(mine.score || {}), ...d };
      if (!mine.pnl.length || mine.pnl[mine.pnl.length - 1][0] < d.tick_number) push(mine.pnl, [d.tick_number, d.pnl, d.score]);
      break;
  }
  redraw();
}

function connect(redraw) {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?api_key=${encodeURIComponent(mine.key)}&last_seq=${mine.lastSeq}`;
  const ws = new WebSocket(url); // the key in the socket's URL is the protocol's, not the page's
  mine.ws = ws;
  ws.onopen = () => { mine.status = "live"; redraw(); };
  ws.onmessage = (e) => { if (ws === mine.ws) take(JSON.parse(e.data), redraw); };
  ws.onclose = (e) => {
    if (ws !== mine.ws) return;
    mine.status = e.code === 1008 ? "key refused" : `reconnecting (${e.code})`;
    redraw();
    if (e.code !== 1008 && mine.key) setTimeout(() => ws === mine.ws && connect(redraw), 1000);
  };
}

async function poll(redraw) {
  if (!mine.key || !mine.teamId) return;
  try {
    mine.refusals = await call("/refusals");
    redraw();
  } catch (e) { /* the socket's status says what is wrong */ }
}

export async function start(key, redraw) {
  stop();
  mine.key = key;
  sessionStorage.setItem(KEY, key);
  mine.status = "checking key";
  redraw();
  try {
    const pos = await call("/positions");
    mine.teamId = pos.team_id;
    const score = await call(`/teams/${encodeURIComponent(pos.team_id)}/score`);
    mine.score = score;
    mine.role = score.role;
    mine.name = score.team_name;
    const s = score.series;
    mine.pnl = s.tick.map((t, i) => [t, s.pnl[i], s.score[i]]).slice(-MAX_POINTS);
  } catch (e) {
    mine.status = `key refused (${e.message})`;
    mine.key = null;
    sessionStorage.removeItem(KEY);
    redraw();
    return;
  }
  connect(redraw);
  await poll(redraw);
}

export function stop() {
  const ws = mine.ws;
  mine.key = null;
  reset();
  mine.status = "no key";
  if (ws) ws.close();
}

export function stored() {
  return sessionStorage.getItem(KEY);
}

export function forget() {
  sessionStorage.removeItem(KEY);
  stop();
}

export function startPolling(redraw) {
  setInterval(() => poll(redraw), 2000);
}

// The markers of a team on an instrument's chart: orders as hollow circles at their
// price, fills as triangles (up: bought, down: sold), shared with the replay debugger.
export function markers(orders, fills) {
  return [
    ...orders.filter((o) => o.price !== null && o.price !== undefined).map((o) => ({
      x: o.tick_number, y: o.price, kind: "circle", colour: o.side === "buy" ? "#4cd38a" : "#f07167", r: 4,
      label: `order ${o.side} ${o.quantity} @ ${o.price}`,
    })),
    ...fills.map((f) => ({
      x: f.tick_number, y: f.price, kind: f.side === "buy" ? "up" : "down", colour: f.side === "buy" ? "#4cd38a" : "#f07167", r: 6,
      label: `fill ${f.side} ${f.quantity} @ ${f.price}`,
    })),
  ];
}

const price = (v) => (v === null || v === undefined ? "market" : Number(v).toFixed(2));

function cells(values) {
  const tr = document.createElement("tr");
  for (const v of values) {
    const td = document.createElement("td");
    td.textContent = v === null || v === undefined ? "" : String(v);
    tr.append(td);
  }
  return tr;
}

function instrumentChoice() {
  const select = $("my-instrument");
  const touched = [...new Set([...mine.fills, ...mine.accepted].map((x) => x.instrument_id))];
  const options = touched.length ? touched : [...mine.prices.keys()].slice(0, 1);
  if ([...select.options].map((o) => o.value).join() !== options.join()) {
    const keep = select.value;
    select.replaceChildren(...options.map((i) => new Option(i, i)));
    if (options.includes(keep)) select.value = keep;
  }
  return select.value;
}

export function draw() {
  $("my-status").textContent = mine.status;
  $("my-body").hidden = !mine.teamId;
  $("my-forget").hidden = !mine.key;
  if (!mine.teamId) return;
  const snap = mine.snapshot || {};
  const sc = mine.score || {};
  $("my-name").textContent = `${mine.name} (${mine.teamId}, ${mine.role})`;
  $("my-figures").replaceChildren(...[
    ["rank", sc.rank ?? "–"], ["score", usd(sc.score)], ["P&L", usd(sc.pnl)],
    ["position", Object.entries(snap.positions || sc.positions || {}).filter(([, q]) => q).map(([i, q]) => `${i} ${q > 0 ? "+" : ""}${q}`).join(", ") || "flat"],
    ["fills", mine.fills.length], ["open orders", mine.orders.size], ["refusals", mine.refusals.length],
  ].flatMap(([k, v]) => { const dt = document.createElement("dt"); dt.textContent = k; const dd = document.createElement("dd"); dd.textContent = v; return [dt, dd]; }));
  const instrument = instrumentChoice();
  const fills = mine.fills.filter((f) => f.instrument_id === instrument)
    .map((f) => ({ tick_number: f.tick_number, price: f.executed_price, side: f.side, quantity: f.executed_quantity }));
  const orders = mine.accepted.filter((o) => o.instrument_id === instrument);
  // the fair value from the public stream (since the page opened) and the last trade from
  // the team's own stream (since it registered): the model's price and the market's
  drawChart($("my-chart"), {
    series: [{ label: "last trade", points: mine.prices.get(instrument) || [], colour: "#9aa7b4", width: 1.2 },
      { label: `${instrument} fair`, points: mine.fair?.get(instrument) || [], colour: "#5fb4f0" }],
    dots: markers(orders, fills), xFormat: (x) => `tick ${x}`, empty: "no orders yet",
  });
  drawChart($("my-pnl"), {
    series: [{ label: "P&L", points: mine.pnl.map((p) => [p[0], p[1]]), colour: "#4cd38a" },
      { label: "score", points: mine.pnl.map((p) => [p[0], p[2]]), colour: "#f2c14e" }],
    xFormat: (x) => `tick ${x}`, zero: true, yFormat: (v) => usd(v),
  });
  $("my-orders").tBodies[0].replaceChildren(...[...mine.orders.values()].map((o) =>
    cells([o.order_id, o.instrument_id, o.side, price(o.price), o.remaining_quantity ?? o.quantity])));
  $("my-fills").tBodies[0].replaceChildren(...mine.fills.slice(-50).reverse().map((f) =>
    cells([f.tick_number, f.instrument_id, f.side, f.executed_quantity, price(f.executed_price), f.liquidity_type, f.order_id])));
  $("my-refusals").tBodies[0].replaceChildren(...mine.refusals.slice().reverse().map((r) => {
    const tr = cells([r.tick_number, r.code, r.command, r.instrument_id, r.message]);
    tr.children[1].className = "code";
    tr.children[4].className = "name message";
    return tr;
  }));
  const breakdown = $("my-breakdown").tBodies[0];
  breakdown.replaceChildren(...["score", "pnl", "penalties", "bonuses", "fees", ...Object.keys(sc.kpis || {})].map((k) => {
    const [label, text] = labelled(k, k in (sc.kpis || {}) ? sc.kpis[k] : sc[k]);
    const tr = cells([label, text]);
    tr.children[0].className = "name";
    return tr;
  }));
}
