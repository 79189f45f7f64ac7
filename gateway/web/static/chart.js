// A small line chart on a canvas: a few series over a shared x (tick), with labelled
// vertical markers. Each series is scaled to its own range, its label gives its last value.

const COLOURS = ["#e0b341", "#5fa8e0", "#3fb37f", "#e0645c", "#b38fe0"];

export function drawLines(canvas, series, markers = []) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 18;
  ctx.clearRect(0, 0, w, h);
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  if (xs.length === 0) return;
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const sx = (x) => pad + ((x - x0) / (x1 - x0)) * (w - 2 * pad);
  ctx.font = "11px system-ui";
  for (const m of markers) {
    if (m.x < x0) continue;
    ctx.strokeStyle = "#6b5a2a";
    ctx.beginPath(); ctx.moveTo(sx(m.x), 0); ctx.lineTo(sx(m.x), h); ctx.stroke();
    ctx.fillStyle = "#e0b341";
    ctx.fillText("N", sx(m.x) + 2, 10);
  }
  series.forEach((s, i) => {
    const ys = s.points.map((p) => p[1]);
    if (ys.length === 0) return;
    let y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (y1 - y0 < 1e-9) { y0 -= 1; y1 += 1; }
    const sy = (y) => h - pad - ((y - y0) / (y1 - y0)) * (h - 2 * pad);
    ctx.strokeStyle = COLOURS[i % COLOURS.length];
    ctx.beginPath();
    s.points.forEach(([x, y], k) => (k ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(`${s.label} ${ys[ys.length - 1].toFixed(2)}`, pad + i * 130, h - 4);
  });
}
