// Canvas line charts with axes: series over a shared x (the tick), a left axis and an
// optional right one (SPX and SPY differ tenfold), labelled vertical markers (news), and
// dots (a team's orders and fills). Hovering shows the values at the nearest x in a
// tooltip. About two hundred lines: a charting library would be ten times the page.

export const COLOURS = ["#f2c14e", "#5fb4f0", "#4cd38a", "#f07167", "#c59bf0", "#f5a65b", "#7ee0d6"];
const GRID = "#26313c", AXIS = "#9aa7b4", MARKER = "#8a7330";
// the legend has the top strip to itself, so it never hides a marker or a dot
const PAD = { left: 62, right: 62, top: 26, bottom: 24 };

// "nice" tick values between lo and hi, about n of them
export function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
  return out;
}

export const fmtNumber = (v) => {
  if (v === null || v === undefined || Number.isNaN(v)) return "";
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  return a >= 100 ? v.toFixed(0) : v.toFixed(2);
};

function extent(values, pad = 0.05) {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const m = (hi - lo) * pad;
  return [lo - m, hi + m];
}

// Fit the canvas to its CSS box and the screen's pixel ratio, so text stays sharp on a
// projector and a laptop alike; returns the drawing context in CSS pixels.
function fit(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

function shape(ctx, kind, x, y, r) {
  ctx.beginPath();
  if (kind === "up") { ctx.moveTo(x, y - r); ctx.lineTo(x + r, y + r); ctx.lineTo(x - r, y + r); ctx.closePath(); ctx.fill(); }
  else if (kind === "down") { ctx.moveTo(x, y + r); ctx.lineTo(x + r, y - r); ctx.lineTo(x - r, y - r); ctx.closePath(); ctx.fill(); }
  else if (kind === "x") { ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r); ctx.stroke(); }
  else { ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.stroke(); }
}

// spec: {series: [{label, points: [[x, y]], right?, colour?, width?}], markers: [{x, label}],
// dots: [{x, y, kind, colour, label}], xFormat(x) -> text, yFormat(y) -> text, cursor: x}
export function drawChart(canvas, spec) {
  const { ctx, w, h } = fit(canvas);
  const series = spec.series.filter((s) => s.points.length);
  const dots = spec.dots || [];
  const xs = [...series.flatMap((s) => s.points.map((p) => p[0])), ...dots.map((d) => d.x)];
  canvas._chart = null;
  ctx.font = "12px system-ui, sans-serif";
  if (xs.length === 0) {
    ctx.fillStyle = AXIS;
    ctx.fillText(spec.empty || "no data yet", PAD.left, h / 2);
    return;
  }
  const xFormat = spec.xFormat || ((x) => String(x));
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x1 - x0 < 1) x1 = x0 + 1;
  const left = series.filter((s) => !s.right), right = series.filter((s) => s.right);
  const [l0, l1] = extent([...left.flatMap((s) => s.points.map((p) => p[1])), ...dots.map((d) => d.y)]);
  const [r0, r1] = extent(right.flatMap((s) => s.points.map((p) => p[1])));
  const pr = right.length ? PAD.right : 30;
  // axis labels to the precision of their step (437.2, 437.4, not 437 three times)
  const yTicks = niceTicks(l0, l1, Math.max(2, Math.floor(h / 45)));
  const rTicks = niceTicks(r0, r1, Math.max(2, Math.floor(h / 45)));
  const decimals = (t) => {
    if (t.length < 2) return 2;
    const step = t[1] - t[0];
    let d = 0;
    while (d < 4 && Math.abs(step * 10 ** d - Math.round(step * 10 ** d)) > 1e-6) d++;
    return d;
  };
  const axisL = spec.yFormat || ((v) => v.toFixed(decimals(yTicks)));
  const axisR = spec.yFormat || ((v) => v.toFixed(decimals(rTicks)));
  const yFormat = spec.yFormat || fmtNumber;
  const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (w - PAD.left - pr);
  // the legend's rows first: the plot starts below them
  const legend = [];
  let lx = PAD.left, row = 0;
  series.forEach((s, i) => {
    const label = `${s.label} ${yFormat(s.points[s.points.length - 1][1])}`;
    const tw = ctx.measureText(label).width;
    if (lx > PAD.left && lx + tw + 12 > w) { lx = PAD.left; row += 1; }
    legend.push({ label, x: lx, y: 6 + row * 16, colour: s.colour || COLOURS[i % COLOURS.length] });
    lx += tw + 24;
  });
  const top = PAD.top + row * 16;
  const syL = (y) => h - PAD.bottom - ((y - l0) / (l1 - l0)) * (h - top - PAD.bottom);
  const syR = (y) => h - PAD.bottom - ((y - r0) / (r1 - r0)) * (h - top - PAD.bottom);

  // grid and axes
  ctx.lineWidth = 1;
  ctx.textBaseline = "middle";
  for (const v of yTicks) {
    ctx.strokeStyle = GRID;
    ctx.beginPath(); ctx.moveTo(PAD.left, syL(v)); ctx.lineTo(w - pr, syL(v)); ctx.stroke();
    ctx.fillStyle = left.length === 1 && right.length ? left[0].colour || COLOURS[0] : AXIS;
    ctx.textAlign = "right";
    ctx.fillText(axisL(v), PAD.left - 6, syL(v));
  }
  if (right.length) {
    ctx.fillStyle = right[0].colour || COLOURS[1];
    ctx.textAlign = "left";
    for (const v of rTicks) ctx.fillText(axisR(v), w - pr + 6, syR(v));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillStyle = AXIS;
  let taken = -Infinity; // the right end of the last label: the next never overlaps it
  for (const v of niceTicks(x0, x1, Math.max(2, Math.floor(w / 110)))) {
    if (!Number.isInteger(v)) continue;
    const tw = ctx.measureText(xFormat(v)).width;
    const at = Math.min(sx(v), w - tw / 2 - 2);
    if (at - tw / 2 < taken + 8) continue;
    taken = at + tw / 2;
    ctx.fillText(xFormat(v), at, h - PAD.bottom + 5);
    ctx.strokeStyle = GRID;
    ctx.beginPath(); ctx.moveTo(sx(v), h - PAD.bottom); ctx.lineTo(sx(v), h - PAD.bottom + 3); ctx.stroke();
  }
  if (spec.zero && l0 < 0 && l1 > 0) {
    ctx.strokeStyle = AXIS;
    ctx.setLineDash([4, 4]);
    ctx.beginPath(); ctx.moveTo(PAD.left, syL(0)); ctx.lineTo(w - pr, syL(0)); ctx.stroke();
    ctx.setLineDash([]);
  }

  // news markers
  ctx.textAlign = "left";
  for (const m of spec.markers || []) {
    if (m.x < x0 || m.x > x1) continue;
    ctx.strokeStyle = MARKER;
    ctx.beginPath(); ctx.moveTo(sx(m.x), top); ctx.lineTo(sx(m.x), h - PAD.bottom); ctx.stroke();
    ctx.fillStyle = "#f2c14e";
    ctx.fillText("N", sx(m.x) + 3, top + 2);
  }

  // the series, then the dots over them
  series.forEach((s, i) => {
    const sy = s.right ? syR : syL;
    ctx.strokeStyle = s.colour || COLOURS[i % COLOURS.length];
    ctx.lineWidth = s.width || 1.6;
    ctx.beginPath();
    s.points.forEach(([x, y], k) => (k ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    ctx.stroke();
  });
  ctx.lineWidth = 1.5;
  for (const d of dots) {
    ctx.fillStyle = ctx.strokeStyle = d.colour;
    shape(ctx, d.kind, sx(d.x), syL(d.y), d.r || 5);
  }
  if (spec.cursor !== undefined && spec.cursor !== null && spec.cursor >= x0 && spec.cursor <= x1) {
    ctx.strokeStyle = "#dde3ea";
    ctx.setLineDash([2, 3]);
    ctx.beginPath(); ctx.moveTo(sx(spec.cursor), top); ctx.lineTo(sx(spec.cursor), h - PAD.bottom); ctx.stroke();
    ctx.setLineDash([]);
  }

  // the legend: each series' label and last value, in the top strip
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  for (const item of legend) {
    ctx.fillStyle = item.colour;
    ctx.fillRect(item.x, item.y + 5, 8, 3);
    ctx.fillText(item.label, item.x + 12, item.y);
  }
  canvas._chart = { sx, x0, x1, series, markers: spec.markers || [], dots, xFormat, yFormat };
  hover(canvas);
}

// The tooltip: the values of every series at the x nearest the pointer, the news and
// dots there. Attached once per canvas; reads the geometry of the last draw.
function hover(canvas) {
  if (canvas._hover) return;
  canvas._hover = true;
  const tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.hidden = true;
  canvas.parentElement.style.position = "relative";
  canvas.parentElement.append(tip);
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("mousemove", (e) => {
    const c = canvas._chart;
    if (!c) return;
    const px = e.offsetX;
    const x = Math.round(c.x0 + ((px - c.sx(c.x0)) / (c.sx(c.x1) - c.sx(c.x0))) * (c.x1 - c.x0));
    const lines = [c.xFormat(x)];
    for (const s of c.series) {
      let best = null;
      for (const p of s.points) if (p[0] <= x) best = p;
      if (best) lines.push(`${s.label}: ${c.yFormat(best[1])}`);
    }
    for (const m of c.markers) if (Math.abs(m.x - x) <= 1) lines.push(`news: ${m.label}`);
    for (const d of c.dots) if (Math.abs(d.x - x) <= 1 && d.label) lines.push(d.label);
    tip.textContent = lines.join("\n");
    tip.hidden = false;
    tip.style.left = `${Math.min(canvas.offsetLeft + px + 12, canvas.offsetLeft + canvas.clientWidth - 220)}px`;
    tip.style.top = `${canvas.offsetTop + e.offsetY + 12}px`;
  });
}

// The former API (one colour per series, labels with the last value), kept for callers.
export function drawLines(canvas, series, markers = []) {
  drawChart(canvas, { series, markers });
}

// A sparkline as inline SVG (a leaderboard cell): no canvas per row to size and redraw.
export function sparkline(values, width = 96, height = 22) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "spark");
  if (values.length < 2) return svg;
  const [lo, hi] = extent(values, 0.1);
  const pts = values.map((v, i) => `${((i / (values.length - 1)) * (width - 2) + 1).toFixed(1)},${(height - 1 - ((v - lo) / (hi - lo)) * (height - 2)).toFixed(1)}`);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.join(" "));
  line.setAttribute("class", values[values.length - 1] >= values[0] ? "up" : "down");
  svg.append(line);
  return svg;
}
