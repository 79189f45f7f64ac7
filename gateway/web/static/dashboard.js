// The dashboard: live from /ws/public, or under `tradepit replay serve` a viewer that
// seeks by seq through GET /replay/state (the state `replay inspect --at-seq` prints).
import { COLOURS, drawChart } from "/dashboard/chart.js";
import * as debug from "/dashboard/debugger.js";
import { drawDetail, drawStandings, usd } from "/dashboard/standings.js";
import { PublicStream } from "/dashboard/stream.js";
import * as team from "/dashboard/team.js";

const $ = (id) => document.getElementById(id);
const MAX_POINTS = 3000;
const MAX_TRADES = 200;
const RACE_TEAMS = 6;

const state = {
  instruments: [],
  books: new Map(),
  quotes: new Map(),
  prices: [],
  news: [],
  trades: [],
  leaderboard: null,
  series: new Map(), // team_id -> [[tick, pnl, position, score]]
  tickTimes: new Map(), // tick -> "HH:MM:SS" of its first message the page saw (the x axis)
  fair: new Map(), // instrument -> [[tick, fair]] from `prices` (the team view's line)
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
    drawRace();
    drawTeam();
    team.draw();
  });
}

function drawSession() {
  $("s-phase").textContent = state.phase;
  $("s-tick").textContent = state.tick;
  $("s-clock").textContent = state.clock;
  $("s-head").textContent = state.seq;
}

function drawLeaderboard() {
  // the table is redrawn at each burst: keep the keyboard's place in it
  const focused = document.activeElement?.closest?.("tr.team-row")?.dataset.team;
  drawStandings($("leaderboard"), state.leaderboard, state.series, state.selectedTeam);
  if (focused) document.querySelector(`tr.team-row[data-team="${CSS.escape(focused)}"]`)?.focus();
}

const tickLabel = (x) => {
  const t = state.tickTimes.get(x);
  return t ? `${t} · t${x}` : `tick ${x}`;
};

// The race: the P&L of the top teams by score, over the ticks the page has seen
function drawRace() {
  const rows = state.leaderboard ? Object.values(state.leaderboard.roles).flat() : [];
  const top = rows.slice().sort((a, b) => b.score - a.score).slice(0, RACE_TEAMS);
  drawChart($("race-chart"), {
    series: top.map((r, i) => ({
      label: r.team_name, colour: COLOURS[i % COLOURS.length], width: i === 0 ? 2.4 : 1.6,
      points: (state.series.get(r.team_id) || []).map((p) => [p[0], p[1]]),
    })),
    xFormat: tickLabel, yFormat: (v) => usd(v).replace(/\.\d\d$/, ""), zero: true,
    empty: state.replay ? "the race is drawn live; the debugger shows a team's P&L" : "waiting for the first standings",
  });
}

function drawLadder() {
  const select = $("instrument");
  if (select.options.length !== state.instruments.length) {
    select.replaceChildren(...state.instruments.map((i) => new Option(i.instrument_id, i.instrument_id)));
    // the debugger's instrument when a team is chosen, else the first option
    const first = state.instruments.find((i) => i.instrument_id === $("d-instrument").value)
      || state.instruments.find((i) => i.kind !== "underlying") || state.instruments[0];
    if (first) select.value = first.instrument_id;
  }
  const book = state.books.get(select.value) || { bids: [], asks: [] };
  const body = $("ladder").tBodies[0];
  body.replaceChildren();
  // each level's bar is its quantity against the largest level shown on either side
  const most = Math.max(1, ...book.bids.map((l) => l.quantity), ...book.asks.map((l) => l.quantity));
  const depth = (level, side) => {
    const td = cell(level?.quantity, `depth ${side}`);
    td.style.setProperty("--w", `${level ? Math.round((100 * level.quantity) / most) : 0}%`);
    if (level) td.title = `${level.quantity} in ${level.orders ?? "?"} order(s)`;
    return td;
  };
  for (let k = 0; k < Math.max(book.bids.length, book.asks.length); k++) {
    const b = book.bids[k], a = book.asks[k];
    body.append(row([depth(b, "bid"), cell(money(b?.price), "bid price"), cell(money(a?.price), "ask price"), depth(a, "ask")], { class: "level" }));
  }
  if (!body.children.length) body.append(row([cell("empty book", "name")]));
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
  drawChart($("prices"), {
    series: [
      { label: "SPX", points: state.prices.map((p) => [p[0], p[1]]), colour: COLOURS[0] },
      { label: "SPY (right axis)", points: state.prices.map((p) => [p[0], p[2]]), colour: COLOURS[1], right: true },
    ],
    markers: state.news.map((n) => ({ x: n.tick_number, label: n.headline })),
    xFormat: tickLabel, cursor: state.replay ? state.tick : null,
  });
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
  $("team-name").textContent = r ? `${r.team_name} (${r.role.replace("_", " ")})` : id;
  const points = state.series.get(id) || [];
  drawChart($("team-pnl"), {
    series: [
      { label: "P&L", points: points.map((p) => [p[0], p[1]]), colour: COLOURS[2] },
      { label: "score", points: points.map((p) => [p[0], p[3]]), colour: COLOURS[0] },
    ],
    xFormat: tickLabel, yFormat: (v) => usd(v), zero: true,
  });
  drawDetail($("team-kpis"), r);
}

// ------------------------------------------------------------------ live data

function takeBoard(board) {
  state.leaderboard = board;
  if (!board || state.replay) return; // a seek's board is not a point in time order
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
  // the race so far (a sample of each team's ticks), then the board of the snapshot's seq
  state.series = new Map(Object.entries(data.history || {}).map(([id, points]) =>
    [id, points.filter((p) => p[0] < data.tick_number).map(([tick, pnl, score]) => [tick, pnl, null, score])]));
  takeBoard(data.leaderboard);
}

function apply(message) {
  const d = message.data;
  state.clock = message.timestamp.slice(11, 19);
  switch (message.type) {
    case "tick":
      state.tick = d.tick_number;
      state.phase = d.phase;
      if (!state.tickTimes.has(d.tick_number)) state.tickTimes.set(d.tick_number, state.clock);
      if (state.tickTimes.size > MAX_POINTS) state.tickTimes.delete(state.tickTimes.keys().next().value);
      break;
    case "phase": state.phase = d.phase; break;
    case "prices":
      // a snapshot already drew the tick a burst gathered before it
      if (state.prices.length && state.prices[state.prices.length - 1][0] >= d.tick_number) break;
      state.prices.push([d.tick_number, d.spx, d.spy]);
      if (state.prices.length > MAX_POINTS) state.prices.shift();
      for (const [id, fair] of Object.entries(d.fair || {})) {
        let s = state.fair.get(id);
        if (!s) state.fair.set(id, (s = []));
        s.push([d.tick_number, fair]);
        if (s.length > MAX_POINTS) s.shift();
      }
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
  $("debugger").hidden = false;
  $("my-team").hidden = true; // a replay takes no keys: the debugger is the team's view
  $("race").hidden = true; // the race is live; the debugger draws the chosen team's P&L
  document.body.classList.add("replay");
  $("s-stream").textContent = "replay";
  const ticks = (await (await fetch("/replay/ticks")).json()).data;
  state.prices = ticks.prices;
  state.news = ticks.news.map(([tick, headline]) => ({ tick_number: tick, headline }));
  state.replay = { playing: false, busy: false, want: null, cursor: 1, ticks: ticks.ticks, head: ticks.head_seq, tape: ticks.trades };
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
  const tickStep = (by) => {
    const t = ticks.ticks;
    let k = 0;
    while (k + 1 < t.length && t[k + 1][1] <= state.replay.cursor) k++;
    // back from inside a tick goes to its start first, as a video player's previous does
    if (by < 0 && t[k] && t[k][1] < state.replay.cursor) k += 1;
    const next = t[Math.max(0, Math.min(t.length - 1, k + by))];
    if (next) seek(next[1]);
  };
  $("r-tick-step").addEventListener("click", () => tickStep(1));
  $("r-tick-back").addEventListener("click", () => tickStep(-1));
  const go = (event) => { if (event) seek(event.seq); };
  const actions = {
    prev: () => go(debug.target(-1)), next: () => go(debug.target(1)),
    fill: () => go(debug.target(1, ["fill"])), refusal: () => go(debug.target(1, ["refusal"])),
  };
  $("d-prev").addEventListener("click", actions.prev);
  $("d-next").addEventListener("click", actions.next);
  $("d-next-fill").addEventListener("click", actions.fill);
  $("d-next-refusal").addEventListener("click", actions.refusal);
  $("d-team").addEventListener("change", async () => {
    await debug.choose($("d-team").value, ticks.teams);
    followBook();
    seek(state.replay.cursor);
  });
  const followBook = () => {
    const i = $("d-instrument").value;
    if ([...$("instrument").options].some((o) => o.value === i)) $("instrument").value = i;
  };
  $("d-instrument").addEventListener("change", () => {
    followBook();
    if (debug.dbg.view) { debug.show(debug.dbg.view); render(); }
  });
  const events = $("d-events");
  events.addEventListener("click", (e) => { const tr = e.target.closest("tr.ev"); if (tr) seek(+tr.dataset.seq); });
  events.addEventListener("keydown", (e) => { const tr = e.target.closest("tr.ev"); if (tr && e.key === "Enter") seek(+tr.dataset.seq); });
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type !== "range") return;
    if (e.target instanceof HTMLSelectElement) return;
    if (e.key === "ArrowRight") { e.preventDefault(); e.shiftKey ? tickStep(1) : step(1); }
    if (e.key === "ArrowLeft") { e.preventDefault(); e.shiftKey ? tickStep(-1) : step(-1); }
    if (e.key === "]") actions.next();
    if (e.key === "[") actions.prev();
    if (e.key === "f") actions.fill();
    if (e.key === "r") actions.refusal();
  });
  // a link pasted into this tab (or edited in its address bar) moves the viewer there
  window.addEventListener("hashchange", async () => {
    const to = debug.fromLink();
    if (to.team !== debug.dbg.team) await debug.choose(to.team, ticks.teams);
    if (to.seq !== state.seq) seek(to.seq);
  });
  watchIndex();
  const to = debug.fromLink();
  await debug.choose(to.team, ticks.teams);
  await seek(to.seq);
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
      const body = await (await fetch(`/replay/state?seq=${target}${debug.teamQuery()}`)).json();
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
  // the tape as it stood at this seq: the last trades at or before it
  const tape = state.replay.tape;
  let end = 0;
  while (end < tape.length && tape[end][0] <= d.seq) end++;
  state.trades = tape.slice(Math.max(0, end - MAX_TRADES), end).map(([seq, tick, instrument, price, quantity, aggressor]) => (
    { trade_id: `seq-${seq}`, tick_number: tick, instrument_id: instrument, price, quantity, aggressor }));
  debug.show(d);
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

// ------------------------------------------------------------------ a team's own view

function myTeam() {
  const redraw = () => render();
  $("my-key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("my-key").value.trim();
    $("my-key").value = ""; // the key lives in session storage, not in the form
    if (key) team.start(key, redraw);
  });
  $("my-forget").addEventListener("click", () => { team.forget(); render(); });
  $("my-instrument").addEventListener("change", render);
  team.startPolling(redraw);
  window.__dash.team = team.mine;
  team.mine.fair = state.fair;
  const key = team.stored();
  if (key) team.start(key, redraw);
}

// ------------------------------------------------------------------ start

window.__dash = { state, stream: null };
$("instrument").addEventListener("change", render);
const pick = (tr) => { state.selectedTeam = tr.dataset.team; $("a-team").value = tr.dataset.team; render(); };
$("leaderboard").addEventListener("click", (e) => {
  const tr = e.target.closest("tr.team-row");
  if (tr) pick(tr);
});
$("leaderboard").addEventListener("keydown", (e) => {
  const tr = e.target.closest("tr.team-row");
  if (tr && e.key === "Enter") pick(tr);
});
$("team-close").addEventListener("click", () => { state.selectedTeam = null; render(); });
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && state.selectedTeam) { state.selectedTeam = null; render(); } });
admin();
const health = (await (await fetch("/health")).json()).data;
$("nav").hidden = !health.ladder; // one page needs no navigation: only a ladder adds one
if (health.replay) {
  await replay(health);
} else {
  live();
  pollHealth();
  setInterval(pollHealth, 1000);
  myTeam();
}
document.body.dataset.ready = "1";
