// The replay viewer as a debugger: choose a team, and the page draws its orders and
// fills up to the current seq on its instrument's price, its P&L to that point, and
// lists its events; steps go to its previous or next event, its next fill or refusal.
// The position is in the URL's hash (#seq=1234&team=TEAM_0003), so a link opens the
// viewer at that seq for that team. The team's events come from one GET /replay/team;
// each seek stays the one GET /replay/state the viewer already makes.
import { drawChart } from "/dashboard/chart.js";
import { usd } from "/dashboard/standings.js";
import { markers } from "/dashboard/team.js";

const $ = (id) => document.getElementById(id);

export const dbg = { team: null, timeline: null, seq: 0, view: null };

// #seq=N&team=T (or ?seq=N, the viewer's older link): the position to open at
export function fromLink() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  return { seq: +(hash.get("seq") || query.get("seq")) || 1, team: hash.get("team") || null };
}

function link() {
  const params = new URLSearchParams({ seq: dbg.seq });
  if (dbg.team) params.set("team", dbg.team);
  history.replaceState(null, "", `#${params}`);
  $("d-link").href = `#${params}`;
}

export function teamQuery() {
  return dbg.team ? `&team=${encodeURIComponent(dbg.team)}` : "";
}

export async function choose(team, teams) {
  const select = $("d-team");
  if (select.options.length !== teams.length + 1) {
    select.replaceChildren(new Option("— choose a team —", ""), ...teams.map(([id, name, role]) => new Option(`${name} (${id}, ${role})`, id)));
  }
  dbg.team = team || null;
  select.value = team || "";
  dbg.timeline = null;
  if (dbg.team) {
    const body = await (await fetch(`/replay/team?team=${encodeURIComponent(dbg.team)}`)).json();
    dbg.timeline = body.success ? body.data : null;
    if (!body.success) $("d-summary").textContent = `${body.error.code}: ${body.error.message}`;
  }
  const touched = dbg.timeline ? Object.keys(dbg.timeline.prices) : [];
  $("d-instrument").replaceChildren(...touched.map((i) => new Option(i, i)));
  const firstFill = dbg.timeline?.events.find((e) => e.kind === "fill");
  if (firstFill) $("d-instrument").value = firstFill.instrument_id;
  $("debugger").dataset.team = dbg.team || "";
}

// the event to go to from the current seq: the next (or previous) one of a kind
export function target(direction, kinds = null) {
  const events = (dbg.timeline?.events || []).filter((e) => !kinds || kinds.includes(e.kind));
  if (direction > 0) return events.find((e) => e.seq > dbg.seq) || null;
  for (let i = events.length - 1; i >= 0; i--) if (events[i].seq < dbg.seq) return events[i];
  return null;
}

function describe(e) {
  const price = e.price === null || e.price === undefined ? "" : ` @ ${e.price.toFixed(2)}`;
  if (e.kind === "refusal") return `${e.code} (${e.command}) ${e.message}`;
  if (e.kind === "cancel") return `cancel ${e.quantity} ${e.instrument_id} (${e.reason})`;
  return `${e.side} ${e.quantity} ${e.instrument_id}${price}${e.kind === "fill" ? ` ${e.liquidity}` : ""}`;
}

function drawEvents() {
  const body = $("d-events").tBodies[0];
  const events = dbg.timeline?.events || [];
  body.replaceChildren();
  // the events around the current seq: 8 before and 12 after, so the list stays short
  let at = events.findIndex((e) => e.seq > dbg.seq);
  if (at < 0) at = events.length;
  for (const e of events.slice(Math.max(0, at - 8), at + 12)) {
    const tr = document.createElement("tr");
    tr.className = `ev ${e.kind}${e.seq === dbg.seq ? " current" : ""}${e.seq > dbg.seq ? " future" : ""}`;
    tr.dataset.seq = e.seq;
    tr.dataset.kind = e.kind;
    tr.tabIndex = 0;
    for (const v of [e.seq, e.tick_number, e.kind, describe(e)]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    body.append(tr);
  }
  const count = (k) => events.filter((e) => e.kind === k && e.seq <= dbg.seq).length;
  $("d-counts").textContent = dbg.timeline
    ? `to seq ${dbg.seq}: ${count("order")} orders, ${count("fill")} fills, ${count("cancel")} cancels, ${count("refusal")} refusals (of ${events.length} events)`
    : "";
}

// After each seek: the view at this seq (GET /replay/state, with ``series`` for the team)
export function show(view) {
  dbg.seq = view.seq;
  dbg.view = view;
  link();
  $("d-body").hidden = !dbg.timeline;
  if (!dbg.timeline) return;
  const t = view.teams[dbg.timeline.team_id];
  const board = Object.values(view.leaderboard.roles).flat().find((r) => r.team_id === dbg.timeline.team_id);
  const held = t ? Object.entries(t.positions).filter(([, q]) => q).map(([i, q]) => `${i} ${q > 0 ? "+" : ""}${q}`).join(", ") || "flat" : "not registered yet";
  $("d-summary").textContent = t
    ? `${dbg.timeline.team_name} at seq ${view.seq}: P&L ${usd(t.pnl)} · score ${usd(board?.score)} · rank ${board?.rank ?? "–"} · position ${held} · ${t.open_orders.orders.length} open orders`
    : `${dbg.timeline.team_name}: not registered yet at seq ${view.seq}`;
  const instrument = $("d-instrument").value;
  const upTo = dbg.timeline.events.filter((e) => e.seq <= view.seq && e.instrument_id === instrument);
  drawChart($("d-chart"), {
    series: [{ label: `${instrument} price`, points: dbg.timeline.prices[instrument] || [], colour: "#9aa7b4" }],
    dots: markers(upTo.filter((e) => e.kind === "order"), upTo.filter((e) => e.kind === "fill")),
    cursor: view.tick_number, xFormat: (x) => `tick ${x}`, empty: "no orders on this instrument",
  });
  const s = view.series || { tick: [], pnl: [], score: [] };
  // the samples are taken at each tick's start; the last point is the figure at this seq
  const upToSeq = (values, now) => {
    const points = s.tick.map((x, i) => [x, values[i]]).filter((p) => p[0] < view.tick_number);
    return board ? [...points, [view.tick_number, now]] : points;
  };
  drawChart($("d-pnl"), {
    series: [{ label: "P&L", points: upToSeq(s.pnl, board?.pnl), colour: "#4cd38a", width: 2.4 },
      { label: "score", points: upToSeq(s.score, board?.score), colour: "#f2c14e" }],
    xFormat: (x) => `tick ${x}`, zero: true, yFormat: (v) => usd(v), empty: "no score yet at this seq",
  });
  drawEvents();
}
