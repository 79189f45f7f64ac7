// The dashboard: live from /ws/public, or under `tradepit replay serve` a viewer that
// seeks by seq through GET /replay/state (the state `replay inspect --at-seq` prints).
import { drawLines } from "/dashboard/chart.js";
import { PublicStream } from "/dashboard/stream.js";

const $ = (id) => document.getElementById(id);
const MAX_POINTS = 3000;
const MAX_TRADES = 200;

const state = {
  instruments: [],
  books: new Map(),
  quotes: new Map(),
  prices: [],
  news: [],
  trades: [],
  leaderboard: null,
  series: new Map(), // team_id -> [[tick, pnl, position, score]]
  phase: "-",
  tick: 0,
  clock: "-",
  seq: 0,
  selectedTeam: null,
  replay: null,
};

const money = (v) => (v === null || v === undefined ? "" : Number(v).toFixed(2));
const text = (v) => (v === null || v === undefined ? "" : String(v));

function cell(value, cls = "") {
  const td = document.createElement("td");
  td.textContent = text(value);
  if (cls) td.className = cls;
  return td;
}

function row(cells, attrs = {}) {
  const tr = document.createElement("tr");
  for (const c of cells) tr.append(c);
  for (const [k, v] of Object.entries(attrs)) tr.setAttribute(k, v);
  return tr;
}

// ------------------------------------------------------------------ drawing

let pending = false;
function render() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    drawSession();
    drawLeaderboard();
    drawLadder();
    drawTape();
    drawChain();
    drawPrices();
    drawTeam();
  });
}

function drawSession() {
  $("s-phase").textContent = state.phase;
  $("s-tick").textContent = state.tick;
  $("s-clock").textContent = state.clock;
  $("s-head").textContent = state.seq;
}

function drawLeaderboard() {
  const root = $("leaderboard");
  root.replaceChildren();
  const board = state.leaderboard;
  if (!board) {
    root.textContent = "the leaderboard is not public in this session";
    return;
  }
  for (const [role, rows] of Object.entries(board.roles)) {
    const table = document.createElement("table");
    table.className = "role";
    table.dataset.role = role;
    const kpiNames = [...new Set(rows.flatMap((r) => Object.keys(r.kpis || {})))];
    const head = ["rank", "team", "score", "P&L", "position", ...kpiNames, "requirements"];
    const caption = document.createElement("caption");
    caption.textContent = role.replace("_", " ");
    table.append(caption);
    table.append(row(head.map((h) => { const th = document.createElement("th"); th.textContent = h; return th; })));
    for (const r of rows) {
      const kpis = kpiNames.map((k) => cell(typeof r.kpis[k] === "number" ? +r.kpis[k].toFixed(4) : r.kpis[k]));
      const req = r.unmet.length ? cell(`unmet: ${r.unmet.join(", ")}`, "unmet") : cell("met", "met");
      table.append(
        row(
          [cell(r.rank), cell(r.team_name, "name"), cell(money(r.score)), cell(money(r.pnl)), cell(r.position), ...kpis, req],
          { class: "team-row", "data-team": r.team_id },
        ),
      );
    }
    root.append(table);
  }
}

function drawLadder() {
  const select = $("instrument");
  if (select.options.length !== state.instruments.length) {
    select.replaceChildren(...state.instruments.map((i) => new Option(i.instrument_id, i.instrument_id)));
    const first = state.instruments.find((i) => i.kind !== "underlying") || state.instruments[0];
    if (first) select.value = first.instrument_id;
  }
  const book = state.books.get(select.value) || { bids: [], asks: [] };
  const body = $("ladder").tBodies[0];
  body.replaceChildren();
  for (let k = 0; k < Math.max(book.bids.length, book.asks.length); k++) {
    const b = book.bids[k], a = book.asks[k];
    body.append(row([cell(b?.quantity, "bid"), cell(money(b?.price), "bid"), cell(money(a?.price), "ask"), cell(a?.quantity, "ask")], { class: "level" }));
  }
  $("ladder-meta").textContent = `last ${money(book.last)}  mark ${money(book.mark)}  fair ${money(book.fair)}`;
}

function drawTape() {
  const body = $("tape").tBodies[0];
  body.replaceChildren(
    ...state.trades.slice().reverse().map((t) =>
      row([cell(t.tick_number), cell(t.instrument_id), cell(t.aggressor, t.aggressor), cell(t.quantity), cell(money(t.price))], { "data-trade": t.trade_id }),
    ),
  );
}

function drawChain() {
  const body = $("chain").tBodies[0];
  body.replaceChildren();
  for (const i of state.instruments) {
    if (i.kind === "underlying") continue;
    const book = state.books.get(i.instrument_id) || { bids: [], asks: [] };
    const quote = state.quotes.get(i.instrument_id) || {};
    const fair = quote.fair ?? book.fair;
    const bid = book.bids[0]?.price ?? quote.bid;
    const ask = book.asks[0]?.price ?? quote.ask;
    const last = book.last ?? quote.last;
    body.append(row([cell(i.instrument_id, "name"), cell(money(fair)), cell(money(bid), "bid"), cell(money(ask), "ask"), cell(money(last))], { "data-instrument": i.instrument_id }));
  }
}

function drawPrices() {
  drawLines(
    $("prices"),
    [
      { label: "SPX", points: state.prices.map((p) => [p[0], p[1]]) },
      { label: "SPY", points: state.prices.map((p) => [p[0], p[2]]) },
    ],
    state.news.map((n) => ({ x: n.tick_number, label: n.headline })),
  );
  $("news").replaceChildren(
    ...state.news.slice(-20).reverse().map((n) => {
      const li = document.createElement("li");
      li.textContent = `tick ${n.tick_number}: ${n.headline}`;
      return li;
    }),
  );
}

function drawTeam() {
  const id = state.selectedTeam;
  $("team").hidden = id === null;
  if (id === null) return;
  const rows = state.leaderboard ? Object.values(state.leaderboard.roles).flat() : [];
  const r = rows.find((x) => x.team_id === id);
  $("team-name").textContent = r ? `${r.team_name} (${r.role})` : id;
  const points = state.series.get(id) || [];
  drawLines($("team-pnl"), [
    { label: "P&L", points: points.map((p) => [p[0], p[1]]) },
    { label: "score", points: points.map((p) => [p[0], p[3]]) },
  ]);
  drawLines($("team-position"), [{ label: "position", points: points.map((p) => [p[0], p[2]]) }]);
  const body = $("team-kpis").tBodies[0];
  body.replaceChildren();
  if (r) {
    const figures = { score: r.score, pnl: r.pnl, fees: r.fees, volume: r.volume, trades: r.trades,
      position: r.position, delta: r.delta, max_drawdown: r.max_drawdown, sharpe: r.sharpe, ...r.kpis };
    for (const [k, v] of Object.entries(figures)) body.append(row([cell(k, "name"), cell(v)]));
    body.append(row([cell("positions", "name"), cell(Object.entries(r.positions).filter(([, q]) => q).map(([i, q]) => `${i} ${q}`).join(", "))]));
  }
}

// ------------------------------------------------------------------ live data

function takeBoard(board) {
  state.leaderboard = board;
  if (!board) return;
  for (const r of Object.values(board.roles).flat()) {
    let points = state.series.get(r.team_id);
    if (!points) state.series.set(r.team_id, (points = []));
    points.push([board.tick_number, r.pnl, r.position, r.score]);
    if (points.length > MAX_POINTS) points.shift();
  }
}

function reset(data) {
  state.instruments = data.instruments;
  state.books = new Map(data.books.map((b) => [b.instrument_id, b]));
  state.quotes = new Map(data.quotes.map((q) => [q.instrument_id, q]));
  state.trades = data.trades.slice();
  state.news = data.news.slice();
  state.phase = data.phase;
  state.tick = data.tick_number;
  if (data.spx !== null) state.prices.push([data.tick_number, data.spx, data.spy]);
  takeBoard(data.leaderboard);
}

function apply(message) {
  const d = message.data;
  state.clock = message.timestamp.slice(11, 19);
  switch (message.type) {
    case "tick": state.tick = d.tick_number; state.phase = d.phase; break;
    case "phase": state.phase = d.phase; break;
    case "prices":
      // a snapshot already drew the tick a burst gathered before it
      if (state.prices.length && state.prices[state.prices.length - 1][0] >= d.tick_number) break;
      state.prices.push([d.tick_number, d.spx, d.spy]);
      if (state.prices.length > MAX_POINTS) state.prices.shift();
      break;
    case "quotes": for (const q of d.quotes) state.quotes.set(q.instrument_id, q); break;
    case "books": for (const b of d.books) state.books.set(b.instrument_id, b); break;
    case "trades":
      state.trades.push(...d.trades);
      if (state.trades.length > MAX_TRADES) state.trades.splice(0, state.trades.length - MAX_TRADES);
      break;
    case "news": state.news.push(d); break;
    case "leaderboard": takeBoard(d); break;
  }
}

// the day in one line: what an organiser checks before and after each admin action
function dayLine(h) {
  if (h.ended === undefined) return "-";  // a gateway from before these keys
  if (h.ended) return `ENDED (closing bell at seq ${h.final_seq}; standings frozen)`;
  const parts = [
    `clock ${h.clock}`,
    h.trading === "halted" ? "TRADING HALTED" : "trading open",
    `registration ${h.registration} ${h.registered_teams}/${h.max_teams}`,
  ];
  if (h.next_phase) parts.push(`next ${h.next_phase.phase} at ${h.next_phase.at.slice(11, 19)} UTC`);
  return parts.join(" · ");
}

// what `tradepit serve` says of its children: a restart or a backoff is the
// organiser's business (docs/operations.md, "When a process dies")
function drawProcesses(sup) {
  const el = $("s-procs");
  if (!sup) { el.textContent = "unsupervised"; el.className = ""; return; }
  const down = Object.entries(sup.children)
    .filter(([, c]) => c.state !== "running" && c.state !== "ended")
    .map(([name, c]) => c.state === "backoff"
      ? `${name} in backoff (${c.backoff_seconds} s; ${c.last_exit})` : `${name} ${c.state}`);
  const restarts = sup.restarts ? `${sup.restarts} restart${sup.restarts > 1 ? "s" : ""}, last ${sup.last_exit}` : "";
  el.textContent = [down.length ? down.join(", ") : "all up", restarts].filter(Boolean).join(" · ");
  el.className = sup.backoff || down.length ? "unmet" : "";
}

async function pollHealth() {
  try {
    const r = await fetch("/health");
    const h = (await r.json()).data;
    state.seq = h.log_head_seq;
    $("s-teams").textContent = h.teams;
    $("s-lag").textContent = h.lag;
    drawProcesses(h.supervisor);
    if (!state.replay) { state.phase = h.phase; }
    $("s-day").textContent = dayLine(h);
    drawSession();
  } catch (e) {
    $("s-lag").textContent = "unreachable";
  }
}

function live() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/public`;
  const stream = new PublicStream(url, {
    onSnapshot: (m) => { reset(m.data); render(); },
    onMessage: (m) => { apply(m); render(); },
    onStatus: (s) => { $("s-stream").textContent = s; },
  });
  window.__dash.stream = stream;
  stream.open();
}

// ------------------------------------------------------------------ replay

async function replay(health) {
  $("replay").hidden = false;
  $("s-stream").textContent = "replay";
  const ticks = (await (await fetch("/replay/ticks")).json()).data;
  state.prices = ticks.prices;
  state.news = ticks.news.map(([tick, headline]) => ({ tick_number: tick, headline }));
  state.replay = { playing: false, busy: false, want: null, cursor: 1, ticks: ticks.ticks, head: ticks.head_seq };
  const step = (by) => seek(state.replay.cursor + by);
  const slider = $("r-seq");
  slider.max = ticks.head_seq;
  const tickSlider = $("r-tick");
  tickSlider.max = Math.max(0, ticks.ticks.length - 1);
  slider.addEventListener("input", () => seek(+slider.value));
  tickSlider.addEventListener("input", () => {
    const t = ticks.ticks[+tickSlider.value];
    if (t) seek(t[1]);
  });
  $("r-step").addEventListener("click", () => step(1));
  $("r-back").addEventListener("click", () => step(-1));
  $("r-play").addEventListener("click", () => {
    state.replay.playing = !state.replay.playing;
    $("r-play").textContent = state.replay.playing ? "pause" : "play";
    if (state.replay.playing) play();
  });
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type !== "range") return;
    if (e.key === "ArrowRight") { e.preventDefault(); step(1); }
    if (e.key === "ArrowLeft") { e.preventDefault(); step(-1); }
  });
  watchIndex();
  await seek(+new URLSearchParams(location.search).get("seq") || 1);
}

// The pass that writes the seek index (GET /replay/index), polled while it runs: seeks
// work meanwhile, but one past its position folds from the last snapshot it wrote.
async function watchIndex() {
  const out = $("r-index");
  for (;;) {
    try {
      const d = (await (await fetch("/replay/index")).json()).data;
      out.dataset.state = d.state;
      const percent = Math.floor(d.percent);
      if (d.state === "indexing") out.textContent = `indexing ${percent}%`;
      else if (d.state === "done") out.textContent = `indexed (${d.snapshots} snapshots)`;
      else if (d.state === "failed") out.textContent = d.error ? "not indexed (no cache)" : `indexing failed at ${percent}%`;
      else out.textContent = "not indexed";
      if (d.state !== "indexing") return;
    } catch (e) {
      out.textContent = "indexing: no answer";
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function play() {
  while (state.replay.playing && state.seq < state.replay.head) {
    await seek(state.replay.cursor + Number($("r-speed").value));
    await new Promise((r) => setTimeout(r, 100));
  }
  state.replay.playing = false;
  $("r-play").textContent = "play";
}

// One seek in flight; a newer request replaces a waiting one (a dragged slider).
async function seek(seq) {
  const r = state.replay;
  r.want = Math.max(1, Math.min(r.head, seq));
  r.cursor = r.want; // a step pressed while a seek is in flight counts from where it goes
  if (r.busy) return;
  r.busy = true;
  try {
    while (r.want !== null) {
      const target = r.want;
      r.want = null;
      const body = await (await fetch(`/replay/state?seq=${target}`)).json();
      if (body.success) showReplay(body.data);
    }
  } finally {
    r.busy = false;
  }
}

function showReplay(d) {
  state.seq = d.seq;
  state.tick = d.tick_number;
  state.phase = d.phase;
  state.clock = `seq ${d.seq} / ${d.head_seq}`;
  state.instruments = Object.keys(d.books).map((id) => ({ instrument_id: id, kind: id.includes("_") ? "option" : "underlying" }));
  state.books = new Map(Object.entries(d.books));
  state.leaderboard = d.leaderboard;
  $("r-seq").value = d.seq;
  $("r-at").textContent = `seq ${d.seq}`;
  const ticks = state.replay.ticks;
  let t = 0;
  while (t + 1 < ticks.length && ticks[t + 1][1] <= d.seq) t++;
  $("r-tick").value = t;
  $("r-tick-at").textContent = `tick ${d.tick_number}`;
  $("inspect").textContent = d.text;
  $("s-teams").textContent = Object.keys(d.teams).length;
  document.body.dataset.seq = d.seq;
  render();
}

// ------------------------------------------------------------------ organiser

function admin() {
  const token = $("a-token");
  token.value = sessionStorage.getItem("tradepit-admin") || "";
  const show = () => { $("a-controls").hidden = !token.value; sessionStorage.setItem("tradepit-admin", token.value); };
  token.addEventListener("input", show);
  show();
  for (const button of document.querySelectorAll("[data-admin]")) {
    button.addEventListener("click", async () => {
      let path = button.dataset.admin;
      if (path === "phase") path = `phase/${$("a-phase").value}`;
      if (path === "disable" || path === "enable") {
        path = `teams/${encodeURIComponent($("a-team").value.trim())}/${path}`;
      }
      if (!confirm(`Send POST /admin/${path}? It is recorded in the log.`)) return;
      const r = await fetch(`/admin/${path}`, { method: "POST", headers: { "X-Admin-Token": token.value } });
      const body = await r.json();
      $("a-result").textContent = body.success ? `done: ${path}` : `${body.error.code}: ${body.error.message}`;
    });
  }
}

// ------------------------------------------------------------------ start

window.__dash = { state, stream: null };
$("instrument").addEventListener("change", render);
$("leaderboard").addEventListener("click", (e) => {
  const tr = e.target.closest("tr.team-row");
  if (tr) { state.selectedTeam = tr.dataset.team; $("a-team").value = tr.dataset.team; render(); }
});
$("team-close").addEventListener("click", () => { state.selectedTeam = null; render(); });
admin();
const health = (await (await fetch("/health")).json()).data;
if (health.replay) {
  await replay(health);
} else {
  live();
  pollHealth();
  setInterval(pollHealth, 1000);
}
document.body.dataset.ready = "1";
