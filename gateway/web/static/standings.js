// The standings a spectator reads at a glance (one table per role: rank, team, score,
// P&L, a sparkline of the P&L the page has seen, the requirement met or not), and the
// detail of one team: the role's KPIs with human labels and units.
import { sparkline } from "/dashboard/chart.js";

const ROLE_NAMES = { market_maker: "Market makers", hedge_fund: "Hedge funds", arbitrage: "Arbitrage", retail: "Retail" };
export const roleName = (role) => ROLE_NAMES[role] || role.replace("_", " ");

const usd = (v) => (v === null || v === undefined ? "–" : `${v < 0 ? "−" : ""}$${Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
const count = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US"));
const plain = (v) => (v === null || v === undefined ? "–" : typeof v === "number" ? String(+v.toFixed(4)) : String(v));
export { usd };

// field -> [label, formatter]; a field not listed is shown with its raw name
const LABELS = {
  score: ["Score", usd], pnl: ["P&L", usd], penalties: ["Penalties", usd], bonuses: ["Bonuses", usd],
  realised_pnl: ["Realised P&L (after fees)", usd], fees: ["Fees (+ rebates)", usd], cash: ["Cash", usd],
  volume: ["Volume", (v) => `${count(v)} contracts`], trades: ["Fills", count],
  position: ["Gross position", (v) => `${count(v)} contracts`], delta: ["Delta", plain],
  max_drawdown: ["Max drawdown", usd], sharpe: ["Sharpe (per tick)", plain], ticks: ["Ticks scored", count],
  uptime: ["Quoting uptime", pct], coverage: ["Coverage this window", pct], min_uptime: ["Uptime required", pct],
  instruments_to_cover: ["Instruments to quote", count], window_ticks: ["Scoring window", (v) => `${count(v)} ticks`],
  breaches: ["Quote breaches", count], breach_penalty: ["Breach penalty", usd],
  inventory_penalty: ["Inventory penalty", usd], fee_revenue: ["Fee revenue", usd],
  volume_share: ["Share of volume", pct], spread_captured: ["Spread captured", usd],
  delta_limit: ["Delta limit", plain], delta_penalty: ["Delta penalty", usd], hedge_pnl: ["Hedge P&L", usd],
  forecast_pnl: ["Forecast P&L", usd], pnl_since_news: ["P&L since last news", usd],
  balance_breaches: ["Balance breaches", count], balance_penalty: ["Balance penalty", usd],
  signal_pnl: ["Signal P&L", usd], signal_bonus: ["Signal bonus", usd], signals_traded: ["Signals traded", count],
};

export function labelled(key, value) {
  const [label, fmt] = LABELS[key] || [key, plain];
  return [label, fmt(value)];
}

function td(text, cls = "") {
  const c = document.createElement("td");
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}

function th(text, cls = "") {
  const c = document.createElement("th");
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}

// The requirement cell: a word and a mark, not a colour alone (readable for everyone)
function requirement(r) {
  const cell = document.createElement("td");
  const badge = document.createElement("span");
  if (r.unmet.length) {
    badge.className = "badge unmet";
    badge.textContent = `✗ ${r.unmet.join(", ")}`;
    badge.title = `requirement not met: ${r.unmet.join(", ")}`;
  } else {
    badge.className = "badge met";
    badge.textContent = "✓ met";
  }
  cell.append(badge);
  return cell;
}

// series: team_id -> [[tick, pnl, position, score]] as the page saw them
export function drawStandings(root, board, series, selected) {
  root.replaceChildren();
  if (!board) {
    root.textContent = "the leaderboard is not public in this session";
    return;
  }
  for (const [role, rows] of Object.entries(board.roles)) {
    if (!rows.length) continue;
    const table = document.createElement("table");
    table.className = "role";
    table.dataset.role = role;
    const caption = document.createElement("caption");
    caption.textContent = `${roleName(role)} · ${rows.length} team${rows.length > 1 ? "s" : ""}`;
    table.append(caption);
    const head = document.createElement("tr");
    head.append(th("#"), th("team", "name"), th("role", "name"), th("score"), th("P&L"), th("P&L trend", "spark-cell"), th("requirement", "name"));
    table.createTHead().append(head);
    const body = table.createTBody();
    for (const r of rows) {
      const tr = document.createElement("tr");
      tr.className = "team-row";
      if (r.team_id === selected) tr.classList.add("selected");
      if (r.rank === 1) tr.classList.add("leader");
      tr.dataset.team = r.team_id;
      tr.tabIndex = 0; // Tab to a row, Enter opens its detail
      const spark = document.createElement("td");
      spark.className = "spark-cell";
      spark.append(sparkline((series.get(r.team_id) || []).map((p) => p[1])));
      const role = td(roleName(r.role).replace(/s$/, ""), "name role-tag");
      tr.append(
        td(r.rank ?? "–", "rank"),
        td(r.team_name, "name team"),
        role,
        td(usd(r.score), "score"),
        td(usd(r.pnl), r.pnl < 0 ? "neg" : "pos"),
        spark,
        requirement(r),
      );
      body.append(tr);
    }
    root.append(table);
  }
}

// The detail of one team: headline figures, then the role's KPIs, labelled with units
export function drawDetail(table, r) {
  const body = table.tBodies[0];
  body.replaceChildren();
  if (!r) return;
  const add = (key, value, cls = "") => {
    const [label, text] = labelled(key, value);
    const tr = document.createElement("tr");
    tr.dataset.kpi = key;
    tr.append(td(label, "name"), td(text, cls));
    body.append(tr);
  };
  const section = (title) => {
    const tr = document.createElement("tr");
    const c = td(title, "name section");
    c.colSpan = 2;
    tr.append(c);
    body.append(tr);
  };
  section("score = P&L − penalties + bonuses");
  for (const k of ["score", "pnl", "penalties", "bonuses", "realised_pnl", "fees", "volume", "trades", "position", "delta", "max_drawdown", "sharpe"]) add(k, r[k]);
  section(`${roleName(r.role)}: role figures`);
  for (const [k, v] of Object.entries(r.kpis || {})) add(k, v);
  const held = Object.entries(r.positions || {}).filter(([, q]) => q).map(([i, q]) => `${i} ${q > 0 ? "+" : ""}${q}`);
  const tr = document.createElement("tr");
  tr.append(td("Positions", "name"), td(held.join(", ") || "flat"));
  body.append(tr);
}
