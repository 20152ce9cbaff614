// The Privacy page: file a forget request (POST /api/forget, admin token) and list the ones on file.
import { api, query, report } from './api.js';
import { $, el, loaded, notice } from './dom.js';
import { when } from './format.js';
import { twin } from './twins.js';

function render(requests) {
  $('#forget-empty').hidden = requests.length > 0;
  $('#forget-table').hidden = !requests.length;
  $('#forget-table').tBodies[0].replaceChildren(...requests.map((r) => el('tr', {},
    el('td', { text: `#${r.id}` }), el('td', { text: when(r.created_at) }), el('td', { text: r.twin || 'every twin' }),
    el('td', { text: r.kind }), el('td', { text: r.value }), el('td', { text: r.requested_by || '—' }))));
}

async function refresh() {
  try {
    const data = await api(`/api/forget${query({ twin: twin() })}`);
    render(data.requests);
  } catch (err) {
    if (err.status === 403) render([]); else report(err, 'Listing forget requests');
  }
  loaded('privacy');
}

function describe(result) {
  const parts = Object.entries(result.matched).map(([name, n]) => {
    const marked = result.versions_marked[name] || [];
    const run = result.retrain_runs && result.retrain_runs[name];
    return `${name}: ${n} record${n === 1 ? ' matches' : 's match'}` +
      (marked.length ? `, versions holding them: ${marked.join(', ')}` : ', no version holds them') +
      (run ? `; full retrain run ${run.job_id}${run.state ? ` (already ${run.state})` : ' queued'}` : '');
  });
  return `Forget request #${result.request.id} filed. ${parts.join('. ')}.`;
}

async function submit(event) {
  event.preventDefault();
  const button = $('#forget-submit');
  const kind = $('#forget-kind').value;
  const body = { [kind]: $('#forget-value').value.trim(), requested_by: $('#forget-by').value.trim(),
    retrain: $('#forget-retrain').checked };
  if (!$('#forget-all').checked) body.twin = twin();
  button.disabled = true;
  try {
    const result = await api('/api/forget', { method: 'POST', body });
    const text = describe(result);
    $('#forget-result').textContent = text;
    notice(text);
    $('#forget-value').value = '';
  } catch (err) { report(err, 'Forget'); }
  button.disabled = false;
  refresh();
}

$('#forget-form').addEventListener('submit', submit);

export default { show: refresh, hide() {}, twinChanged: refresh };
