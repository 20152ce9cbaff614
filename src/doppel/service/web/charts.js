// Charts: inline SVG drawn here, no chart library (nothing may come from elsewhere, and there is no build step).
import { el, svgEl } from './dom.js';
import { fixed, isNum, num } from './format.js';

// Ticks at round steps; `integer` keeps them on whole numbers (steps, counts).
function niceTicks(lo, hi, count = 5, integer = false) {
  if (lo === hi) { lo -= 1; hi += 1; }
  const span = hi - lo;
  const mag = 10 ** Math.floor(Math.log10(span / count));
  const factors = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  let step = factors.map((f) => f * mag).find((s) => span / s <= count) || 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const ticks = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (String(step).includes('25') ? 1 : 0));
  return { ticks, label: (t) => t.toFixed(integer ? 0 : decimals) };
}

// series: [{name, points: [[x, y], ...]}]; xLabels: names for integer x (a categorical axis).
// Drawn at the container's own width, so its text stays readable on a phone.
export function lineChart(container, { series, title, xLabel = '', xMax = null, xLabels = null, yMin = null, yMax = null, format = (y) => fixed(y, 2) }) {
  const drawn = series.filter((s) => s.points.some(([, y]) => isNum(y)));
  const total = drawn.reduce((n, s) => n + s.points.filter(([, y]) => isNum(y)).length, 0);
  container.dataset.points = String(total);
  if (!drawn.length) {
    container.replaceChildren(el('p', { class: 'hint', text: 'Nothing to plot yet.' }));
    return;
  }
  const W = Math.max(280, Math.round(container.clientWidth || 640));
  const H = Math.round(Math.min(300, Math.max(190, W * 0.42)));
  const m = { l: 48, r: 14, t: 12, b: xLabel ? 44 : 28 };
  const xs = [], ys = [];
  for (const s of drawn) for (const [x, y] of s.points) if (isNum(y)) { xs.push(x); ys.push(y); }
  let x0, x1;
  if (xLabels) { x0 = -0.5; x1 = xLabels.length - 0.5; } else {
    x0 = Math.min(...xs); x1 = Math.max(...xs);
    if (isNum(xMax) && xMax > x1) x1 = xMax;
    if (x0 === x1) { x0 -= 1; x1 += 1; }
  }
  let y0 = isNum(yMin) ? yMin : Math.min(...ys), y1 = isNum(yMax) ? yMax : Math.max(...ys);
  if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const yt = niceTicks(y0, y1, H < 220 ? 3 : 4);
  if (!isNum(yMin)) y0 = Math.min(y0, yt.ticks[0]);
  if (!isNum(yMax)) y1 = Math.max(y1, yt.ticks[yt.ticks.length - 1]);
  const sx = (x) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);

  const svg = svgEl('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title });
  svg.append(svgEl('title', { text: title }));
  const grid = svgEl('g');
  for (const t of yt.ticks) {
    if (t < y0 - 1e-9 || t > y1 + 1e-9) continue;
    grid.append(svgEl('line', { class: 'grid-line', x1: m.l, x2: W - m.r, y1: sy(t), y2: sy(t) }));
    grid.append(svgEl('text', { x: m.l - 6, y: sy(t) + 4, 'text-anchor': 'end', text: yt.label(t) }));
  }
  if (xLabels) {
    const every = Math.max(1, Math.ceil(xLabels.length / Math.max(1, Math.floor((W - m.l - m.r) / 56))));
    xLabels.forEach((name, i) => {
      if (i % every) return;
      grid.append(svgEl('text', { x: sx(i), y: H - m.b + 16, 'text-anchor': 'middle', text: name }));
    });
  } else {
    const xt = niceTicks(x0, x1, Math.max(2, Math.floor((W - m.l - m.r) / 70)), true);
    for (const t of xt.ticks) {
      if (t < x0 || t > x1) continue;
      grid.append(svgEl('text', { x: sx(t), y: H - m.b + 16, 'text-anchor': 'middle', text: xt.label(t) }));
    }
  }
  grid.append(svgEl('line', { class: 'axis', x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
  grid.append(svgEl('line', { class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
  if (xLabel) grid.append(svgEl('text', { x: (m.l + W - m.r) / 2, y: H - 6, 'text-anchor': 'middle', text: xLabel }));
  svg.append(grid);

  const legend = el('ul', { class: 'legend' });
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => isNum(y));
    if (!pts.length) return;
    const cls = `s${i % 5}`;
    const path = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    if (pts.length > 1) svg.append(svgEl('polyline', { class: `series ${cls}`, points: path, 'data-series': s.name }));
    if (pts.length <= 60) {
      for (const [x, y] of pts) {
        const dot = svgEl('circle', { class: `dot ${cls}`, cx: sx(x), cy: sy(y), r: 3.5 });
        dot.append(svgEl('title', { text: `${s.name}: ${format(y)}${xLabels ? ` (${xLabels[x]})` : ` at ${num(x, 0)}`}` }));
        svg.append(dot);
      }
    }
    const last = pts[pts.length - 1];
    legend.append(el('li', { class: cls }, el('span', { text: `${s.name} ${format(last[1])}` })));
  });
  container.replaceChildren(svg, legend);
}

