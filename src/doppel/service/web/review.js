// The Review page: the blind A/B review, one pair at a time (which reply is real, and a 1-10 score),
// driven by mouse or keys; it can queue the evaluation that makes the pairs.
import { api, query, report, watchJob } from './api.js';
import { $, el, fillFacts, loaded } from './dom.js';
import { fixed, isNum, num, pct } from './format.js';
import { fillVersionSelect, getVersions, twin } from './twins.js';

// The reviewer's name is kept across tabs and visits (local storage): one person, many sessions.
const REVIEWER_KEY = 'doppel.reviewer';

const form = $('#review-form');
let pair = null;
let active = false;

const scores = $('#review-scores');
for (let i = 1; i <= 10; i += 1) {
  const input = el('input', { type: 'radio', name: 'score', id: `score-${i}`, value: i, required: i === 1 });
  scores.append(el('label', { for: `score-${i}` }, input, String(i)));
}

const reviewer = () => $('#review-reviewer').value.trim();

// The version's human numbers so far: from the versions list, then from each recorded review.
function showScore(version, human) {
  const box = $('#review-score');
  if (!human || !isNum(human.reviews)) { box.textContent = ''; delete box.dataset.reviews; return; }
  box.textContent = `${version} so far: ${num(human.reviews)} review${human.reviews === 1 ? '' : 's'}, `
    + `reviewers fooled ${pct(human.share_fooled)}, mean score ${fixed(human.mean_score)}.`;
  box.dataset.reviews = String(human.reviews);
}

async function loadScore() {
  try {
    const versions = (await getVersions()).versions;
    const chosen = $('#review-version').value;
    const v = versions.find((x) => (chosen === 'final' ? x.final : x.version === chosen));
    const sc = v && v.scorecard;
    showScore(v ? v.version : chosen, sc ? { reviews: sc.human_reviews || 0, share_fooled: sc.human_share_fooled, mean_score: sc.human_mean_score } : null);
  } catch (err) { report(err, 'Listing versions'); }
}

function showEmpty(text, canEvaluate) {
  form.hidden = true;
  pair = null;
  $('#review-empty').hidden = false;
  $('#review-empty-text').textContent = text;
  $('#review-evaluate').hidden = !canEvaluate;
}

// Corrections not yet learned: what the next `doppel train --preference` (or a preference run) would use.
async function loadWaiting() {
  try {
    const f = await api(`/api/feedback${query({ twin: twin() })}`);
    const text = `${f.edits_waiting} edited replies and ${f.review_pairs} reviews that picked the real reply wait `
      + 'to be learned (doppel train --preference).';
    $('#review-waiting').textContent = text;
    $('#review-waiting').dataset.waiting = String(f.edits_waiting + f.review_pairs);
  } catch (err) { $('#review-waiting').textContent = ''; }
}

function counter(remaining, total) {
  $('#review-counter').textContent = isNum(total) ? `${remaining} of ${total} pairs left to review` : '';
  $('#review-counter').dataset.remaining = String(remaining);
}

async function next() {
  const name = reviewer();
  if (!name) {
    showEmpty('Type your name to start: each reviewer sees each pair once.', false);
    $('#review-reviewer').focus();
    return;
  }
  localStorage.setItem(REVIEWER_KEY, name);
  const version = $('#review-version').value || 'final';
  try {
    const data = await api(`/api/review/next${query({ twin: twin(), version, reviewer: name })}`);
    if (!active) return;
    counter(data.remaining, data.total);
    if (data.done) {
      showEmpty(`Nothing left for you to review on ${data.version || version}. Thank you!`, false);
      return;
    }
    pair = data;
    $('#review-empty').hidden = true;
    form.hidden = false;
    form.reset();
    form.dataset.pairId = String(data.pair_id);
    const ctx = data.context && typeof data.context === 'object' ? Object.entries(data.context) : [];
    fillFacts($('#review-context'), ctx.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    $('#review-context').hidden = !ctx.length;
    $('#review-prompt').textContent = data.prompt || '';
    for (const r of data.replies) {
      const box = $(`#reply-${r.label}`);
      if (box) box.textContent = (r.text || '').trim();
    }
    form.querySelector('#pick-1').focus();
  } catch (err) {
    if (err.status === 404) {
      counter(null, null);
      showEmpty(`${version === 'final' ? 'The final version' : version} has not been evaluated yet, so there is nothing to review.`, true);
    } else {
      report(err, 'Loading a pair');
    }
  }
}

async function submit(event) {
  event.preventDefault();
  if (!pair) return;
  const picked = form.elements.picked.value;
  const score = Number(form.elements.score.value);
  if (!picked || !score) {
    $('#review-result').textContent = !picked ? 'Pick the real reply first (1, 2 or c).' : 'Give a score from 1 to 10.';
    return;
  }
  $('#review-submit').disabled = true;
  try {
    const result = await api('/api/review', {
      method: 'POST',
      body: { twin: twin(), version: pair.version, pair_id: pair.pair_id, reviewer: reviewer(), picked, score },
    });
    $('#review-result').textContent = 'Recorded.';
    showScore(pair.version, result.human || result);
    await next();
  } catch (err) {
    report(err, 'Recording the review');
  } finally {
    $('#review-submit').disabled = false;
  }
}

// Keys: 1/2 pick, c can't tell; once picked, 1-9 and 0 (10) score; Enter submits.
function onKey(event) {
  if (!active || form.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.matches('input[type="text"], textarea, select') || target.isContentEditable) return;
  const key = event.key;
  const picked = form.elements.picked.value;
  if (!picked && (key === '1' || key === '2')) {
    $(`#pick-${key}`).checked = true;
  } else if (key === 'c' || key === 'C') {
    $('#pick-cant').checked = true;
  } else if (picked && /^[0-9]$/.test(key)) {
    const score = key === '0' ? 10 : Number(key);
    $(`#score-${score}`).checked = true;
    $(`#score-${score}`).focus();
  } else if (key === 'Enter' && target.tagName !== 'BUTTON') {
    form.requestSubmit();
  } else if (key === 'Escape') {
    form.reset();
  } else {
    return;
  }
  event.preventDefault();
}

async function evaluate() {
  const button = $('#review-evaluate');
  button.disabled = true;
  const version = $('#review-version').value;
  const body = { twin: twin() };
  if (version && version !== 'final') body.version = version;
  const text = $('#review-empty-text');
  try {
    const queued = await api('/api/evaluate', { method: 'POST', body });
    text.textContent = `Evaluating ${queued.version || version} (run ${queued.job_id})…`;
    const done = await watchJob(queued.job_id, (s) => {
      text.textContent = `Evaluating (run ${s.job_id}): ${s.state}${s.stage ? `, ${s.stage}` : ''}…`;
    });
    if (done.state === 'succeeded') {
      button.disabled = false;
      if (active) await next();
      return;
    }
    text.textContent = `The evaluation ${done.state}: ${done.error || done.message || ''}`;
  } catch (err) {
    if (err.status === 409 && err.body && err.body.job_id) text.textContent = `Run ${err.body.job_id} is already busy with this twin; try again when it ends.`;
    else report(err, 'Evaluate');
  }
  button.disabled = false;
}

$('#review-reviewer').value = localStorage.getItem(REVIEWER_KEY) || '';
$('#review-setup').addEventListener('submit', (e) => { e.preventDefault(); next(); });
$('#review-version').addEventListener('change', () => { loadScore(); next(); });
form.addEventListener('submit', submit);
$('#review-skip').addEventListener('click', next);
$('#review-evaluate').addEventListener('click', evaluate);
document.addEventListener('keydown', onKey);

export default {
  async show() {
    active = true;
    try { fillVersionSelect($('#review-version'), (await getVersions()).versions); } catch (err) { report(err, 'Listing versions'); }
    await Promise.all([loadScore(), next(), loadWaiting()]);
    loaded('review');
  },
  hide() { active = false; },
  twinChanged() { $('#review-result').textContent = ''; this.show(); },
};
