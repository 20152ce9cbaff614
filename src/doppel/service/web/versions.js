// The Versions page: every version side by side with its scorecard, loss and score trends, and
// Make final / Roll back / Evaluate, with links to each version's report and data-set card.
import { api, query, report, watchJob } from './api.js';
import { lineChart } from './charts.js';
import { $, el, loaded, notice } from './dom.js';
import { fixed, isNum, num, pct, when } from './format.js';
import { getVersions, twin } from './twins.js';

const SCORES = [
  ['style_share', 'Style: judged theirs', pct, 'high'],
  ['similarity', 'Similarity to their replies', (x) => num(x, 3), 'high'],
  ['distinct_replies', 'Distinct replies', pct, 'high'],
  ['relevance', 'Relevance (vs base)', (x) => num(x, 3), 'high'],
  ['decision_accuracy', 'Decision accuracy', pct, 'high'],
  ['human_share_fooled', 'Reviewers fooled', pct, 'high'],
  ['human_mean_score', 'Mean review score (1–10)', (x) => fixed(x), 'high'],
  ['human_reviews', 'Reviews', (x) => num(x), null],
];

function examples(v) {
  const e = v.examples;
  if (!e) return '—';
  if (typeof e === 'object') return Object.entries(e).map(([k, n]) => `${k} ${num(n)}`).join(' · ');
  return num(e);
}

// Trained on records of a forget request: a badge naming the requests (export refuses such a version).
function forgotten(v) {
  if (!v.forgotten || !v.forgotten.length) return null;
  const ids = v.forgotten.map((i) => `#${i}`).join(', ');
  return el('span', { class: 'badge forgotten', title: `trained on records of forget request ${ids}`,
    text: 'forgotten data' });
}

async function deleteVersion(button, version) {
  if (!window.confirm(`Delete ${version}? Its folder is removed for good.`)) return;
  button.disabled = true;
  try {
    const r = await api(`/api/versions/${encodeURIComponent(version)}${query({ twin: twin() })}`, { method: 'DELETE' });
    notice(`${r.deleted} is deleted.`);
  } catch (err) { report(err, 'Delete'); }
  button.disabled = false;
  refresh();
}

function gate(v) {
  const g = v.gate;
  if (!g) return '—';
  const text = g.passed ? 'passed' : 'refused';
  return el('span', { title: g.reason || '', text: g.reason ? `${text}: ${g.reason}` : text });
}

// Bold the best number of a row (lower or higher is better).
function bestIndex(values, better) {
  if (!better) return -1;
  let best = -1;
  values.forEach((x, i) => {
    if (!isNum(x)) return;
    if (best < 0 || (better === 'low' ? x < values[best] : x > values[best])) best = i;
  });
  return values.filter(isNum).length > 1 ? best : -1;
}

// The report and the card need the token: the viewer tab (sessionStorage is copied to it) fetches
// them with it and shows them as a blob URL, under a policy that lets the report's own styles apply.
function docLink(v, kind, label) {
  const href = `/web/view.html${query({ kind, twin: twin(), version: v.version })}`;
  return el('a', { href, target: '_blank', rel: 'opener', class: `doc-link doc-${kind}`,
    'aria-label': `${v.version}'s ${label} (opens in a new tab)`, text: label[0].toUpperCase() + label.slice(1) });
}

async function act(button, path, body, done) {
  button.disabled = true;
  try {
    const result = await api(path, { method: 'POST', body });
    notice(done(result));
  } catch (err) { report(err, button.textContent); }
  button.disabled = false;
  refresh();
}

async function evaluateVersion(button, version) {
  button.disabled = true;
  try {
    const queued = await api('/api/evaluate', { method: 'POST', body: { twin: twin(), version } });
    notice(`Evaluating ${version} (run ${queued.job_id})…`, { keep: true });
    const done = await watchJob(queued.job_id, (s) => {
      if (s.stage) notice(`Evaluating ${version} (run ${queued.job_id}): ${s.stage}…`, { keep: true });
    });
    if (done.state === 'succeeded') notice(`${version} is evaluated.`);
    else notice(`The evaluation of ${version} ${done.state}: ${done.error || done.message || ''}`, { error: true });
  } catch (err) { report(err, 'Evaluate'); }
  button.disabled = false;
  refresh();
}

function render(data) {
  const versions = data.versions;
  $('#versions-empty').hidden = versions.length > 0;
  const table = $('#versions-table');
  table.hidden = !versions.length;
  const head = el('tr', {}, el('th', { scope: 'col', text: 'Version' }),
    ...versions.map((v) => el('th', { scope: 'col', class: v.final ? 'is-final' : '', 'data-version': v.version },
      v.version, ' ', v.final ? el('span', { class: 'badge final', text: 'final' }) : null,
      forgotten(v) ? ' ' : null, forgotten(v))));
  table.tHead.replaceChildren(head);

  const sc = (v, key) => (v.scorecard ? v.scorecard[key] : null);
  const rows = [
    ['Created', (v) => when(v.created_at)],
    ['Mode', (v) => v.mode || '—'],
    ['From', (v) => v.parent || '—'],
    ['Base model', (v) => v.base_model || '—'],
    ['Examples', examples],
    ['Steps', (v) => num(v.steps)],
    ['Train loss', (v) => v.train_loss, 'low', (x) => num(x, 4)],
    ['Val loss', (v) => v.val_loss, 'low', (x) => num(x, 4)],
    ['Val perplexity', (v) => v.val_perplexity, 'low', (x) => num(x, 2)],
    ['Base model val loss', (v) => v.base_val_loss, null, (x) => num(x, 4)],
    ['Preference pairs learned', (v) => (isNum(v.preference_pairs) ? num(v.preference_pairs) : '—')],
    ['Preference accuracy (held out)', (v) => v.preference_accuracy, 'high', pct],
    ['Gate', gate],
    ['Evaluated', (v) => (v.scorecard && v.scorecard.evaluated_at ? when(v.scorecard.evaluated_at) : 'not yet')],
    ...SCORES.map(([key, label, format, better]) => [label, (v) => sc(v, key), better, format, key]),
  ];
  const body = rows.map(([label, get, better, format, key]) => {
    const values = versions.map(get);
    const best = format ? bestIndex(values, better) : -1;
    return el('tr', key ? { 'data-metric': key } : { 'data-metric': label.toLowerCase().replace(/\W+/g, '_') },
      el('th', { scope: 'row', text: label }),
      ...values.map((value, i) => {
        const shown = format ? format(value) : value;
        return el('td', { class: [versions[i].final ? 'is-final' : '', i === best ? 'best' : ''].join(' ').trim() || null },
          shown instanceof Node ? shown : String(shown));
      }));
  });
  const actions = el('tr', { 'data-metric': 'actions' }, el('th', { scope: 'row', text: 'Actions' }),
    ...versions.map((v) => {
      const cell = el('div', { class: 'cell-actions' });
      if (!v.final) {
        const promote = el('button', { type: 'button', class: 'small', text: 'Make final', 'aria-label': `Make ${v.version} final` });
        promote.addEventListener('click', () => act(promote, `/api/versions/${encodeURIComponent(v.version)}/promote`,
          { twin: twin() }, (r) => `${r.final} is final now.`));
        const remove = el('button', { type: 'button', class: 'small quiet', text: 'Delete', 'aria-label': `Delete ${v.version}` });
        remove.addEventListener('click', () => deleteVersion(remove, v.version));
        cell.append(promote, remove);
      }
      const evaluate = el('button', { type: 'button', class: 'small quiet', text: 'Evaluate', 'aria-label': `Evaluate ${v.version}` });
      evaluate.addEventListener('click', () => evaluateVersion(evaluate, v.version));
      cell.append(evaluate, docLink(v, 'report', 'report'), docLink(v, 'card', 'data-set card'));
      return el('td', { class: v.final ? 'is-final' : null }, cell);
    }));
  table.tBodies[0].replaceChildren(...body, actions);
  $('#versions-rollback').disabled = versions.length < 2;

  const labels = versions.map((v) => v.version);
  const series = (get) => versions.map((v, i) => [i, get(v)]);
  lineChart($('#versions-loss-chart'), {
    title: 'Loss by version', xLabels: labels, format: (y) => fixed(y, 2),
    series: [
      { name: 'val loss', points: series((v) => v.val_loss) },
      { name: 'train loss', points: series((v) => v.train_loss) },
      { name: 'base val loss', points: series((v) => v.base_val_loss) },
    ],
  });
  lineChart($('#versions-score-chart'), {
    title: 'Scores by version', xLabels: labels, yMin: 0, yMax: 1, format: (y) => fixed(y, 2),
    series: [
      { name: 'style', points: series((v) => sc(v, 'style_share')) },
      { name: 'similarity', points: series((v) => sc(v, 'similarity')) },
      { name: 'decisions', points: series((v) => sc(v, 'decision_accuracy')) },
      { name: 'reviewers fooled', points: series((v) => sc(v, 'human_share_fooled')) },
      { name: 'review score / 10', points: series((v) => (isNum(sc(v, 'human_mean_score')) ? sc(v, 'human_mean_score') / 10 : null)) },
    ],
  });
}

async function refresh() {
  try { render(await getVersions()); } catch (err) { report(err, 'Listing versions'); }
  loaded('versions');
}

const rollback = $('#versions-rollback');
rollback.addEventListener('click', () => act(rollback, '/api/versions/rollback', { twin: twin() },
  (r) => `Rolled back: ${r.final} is final again.`));
$('#versions-refresh').addEventListener('click', refresh);

export default { show: refresh, hide() {}, twinChanged: refresh };
