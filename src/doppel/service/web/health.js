// The Health page: database, workers, queue, GPU memory and disk (/api/health), refreshed every 5 s.
import { api, report } from './api.js';
import { $, el, fillFacts, loaded } from './dom.js';
import { bytes, isNum, num, when } from './format.js';

let timer = null;
let active = false;

const yesNo = (ok, yes, no) => el('span', { class: ok ? 'yes' : 'no', text: ok ? yes : no });

function meter(label, used, total) {
  const m = el('meter', { min: 0, max: total || 1, value: used || 0, 'aria-label': label, low: (total || 1) * 0.7, high: (total || 1) * 0.9, optimum: 0 });
  return el('div', { class: 'device' },
    el('div', { class: 'meter-label' }, el('span', { text: label }), el('span', { text: `${bytes(used)} used of ${bytes(total)}` })),
    m);
}

function render(h) {
  const badge = $('#health-status');
  badge.textContent = h.status;
  badge.className = `badge ${h.status}`;
  const db = h.database || {};
  fillFacts($('#health-db'), [['Reachable', yesNo(db.ok, 'yes', 'no')], ['Detail', db.detail || '—']]);
  const w = h.worker;
  fillFacts($('#health-workers'), w ? [
    ['Alive', yesNo(w.alive, 'yes', 'none alive')],
    ['Workers', num(w.workers)],
    ['Last heartbeat', when(w.last_heartbeat)],
  ] : [['Workers', 'unknown (no database)']]);
  const q = h.queue;
  fillFacts($('#health-queue'), q ? [['Waiting', num(q.depth)], ['Running', num(q.running)]] : [['Queue', 'unknown (no database)']]);
  const gpu = h.gpu || {};
  const gpuBox = $('#health-gpu');
  if (gpu.available && gpu.devices && gpu.devices.length) {
    gpuBox.replaceChildren(...gpu.devices.map((d) => meter(`GPU ${d.index}: ${d.name}`, d.used_bytes, d.total_bytes)));
  } else {
    gpuBox.replaceChildren(el('p', { class: 'hint', text: gpu.detail || 'No GPU.' }));
  }
  const disk = h.disk || {};
  const used = isNum(disk.total_bytes) ? disk.total_bytes - disk.free_bytes : null;
  $('#health-disk').replaceChildren(meter(disk.path || 'home', used, disk.total_bytes),
    el('p', { class: 'hint', text: `${bytes(disk.free_bytes)} free` }));
  $('#health-updated').textContent = `Last update ${new Date().toLocaleTimeString()}.`;
}

async function refresh() {
  if (!active) return;
  try { render(await api('/api/health')); } catch (err) { report(err, 'Health'); }
  loaded('health');
  clearTimeout(timer);
  if (active) timer = setTimeout(refresh, 5000);
}

export default {
  show() { active = true; refresh(); },
  hide() { active = false; clearTimeout(timer); },
  twinChanged() {},
};
