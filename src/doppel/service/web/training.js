// The Training page: the twin's current run, live (state, progress, losses, the loss curve), starting
// and cancelling runs, and the history of runs.
import { api, query, report } from './api.js';
import { lineChart } from './charts.js';
import { $, el, fillFacts, loaded, notice } from './dom.js';
import { duration, fixed, isNum, num, secondsBetween, when } from './format.js';
import { twin } from './twins.js';

let timer = null;
let active = false;
let lastState = null;
let lastJob = null;

function schedule(ms) {
  clearTimeout(timer);
  if (active) timer = setTimeout(refresh, ms);
}

function renderJob(job) {
  $('#job-empty').hidden = Boolean(job);
  $('#job-body').hidden = !job;
  const running = job && (job.state === 'running' || job.state === 'queued');
  $('#job-cancel').disabled = !running || job.cancel_requested;
  if (!job) { $('#loss-chart').dataset.points = '0'; return; }
  const badge = $('#job-state');
  badge.textContent = job.cancel_requested && running ? `${job.state}, cancelling` : job.state;
  badge.className = `badge ${job.state}`;
  $('#job').dataset.state = job.state;
  $('#job').dataset.jobId = String(job.job_id);
  $('#job-label').textContent = `run ${job.job_id} · ${job.mode} · ${job.trigger}${job.stage ? ` · ${job.stage}` : ''}`;
  const progress = $('#job-progress');
  if (isNum(job.step) && isNum(job.total_steps) && job.total_steps > 0) {
    progress.max = job.total_steps;
    progress.value = job.step;
    progress.setAttribute('aria-valuetext', `step ${job.step} of ${job.total_steps}`);
  } else if (job.state === 'succeeded') {
    progress.max = 1; progress.value = 1;
  } else {
    progress.removeAttribute('value');
  }
  const epoch = isNum(job.epoch) ? (isNum(job.epochs) ? `${job.epoch} / ${job.epochs}` : String(job.epoch)) : '—';
  const examples = job.examples ? Object.entries(job.examples).map(([k, v]) => `${k} ${num(v)}`).join(' · ') : '—';
  const took = job.started_at ? duration(secondsBetween(job.started_at, job.finished_at)) : '—';
  fillFacts($('#job-facts'), [
    ['Step', isNum(job.step) ? `${num(job.step)} / ${num(job.total_steps)}` : '—'],
    ['Epoch', epoch],
    ['ETA', running && isNum(job.eta_seconds) ? duration(job.eta_seconds) : '—'],
    ['Train loss', num(job.train_loss, 4)],
    ['Val loss', num(job.val_loss, 4)],
    ['Tokens/s', isNum(job.tokens_per_second) ? num(Math.round(job.tokens_per_second)) : '—'],
    ['Examples', examples],
    ['Queued', when(job.queued_at)],
    [job.finished_at ? 'Took' : 'Running for', took],
    ['Version', job.version || '—'],
  ]);
  const msg = $('#job-message');
  msg.textContent = job.error || job.message || '';
  msg.classList.toggle('error', Boolean(job.error));
  lineChart($('#loss-chart'), {
    title: `Training loss by step, run ${job.job_id}`,
    series: [{ name: 'train loss', points: job.loss_history || [] }],
    xLabel: 'step', xMax: job.total_steps, format: (y) => fixed(y, 2),
  });
}

function renderJobs(jobs) {
  const rows = jobs.map((j) => el('tr', { 'data-job-id': j.job_id },
    el('td', { text: String(j.job_id) }),
    el('td', { text: j.mode }),
    el('td', { text: j.trigger }),
    el('td', {}, el('span', { class: `badge ${j.state}`, text: j.state })),
    el('td', { text: when(j.queued_at) }),
    el('td', { text: j.started_at ? duration(secondsBetween(j.started_at, j.finished_at)) : '—' }),
    el('td', { text: isNum(j.step) ? `${j.step} / ${num(j.total_steps)}` : '—' }),
    el('td', { text: num(j.train_loss, 4) }),
    el('td', { text: num(j.val_loss, 4) }),
    el('td', { text: j.version || '—' }),
    el('td', { class: 'wrap', text: j.error || j.message || '' })));
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 11, class: 'hint', text: 'No runs yet.' })));
  $('#jobs-table tbody').replaceChildren(...rows);
}

async function refreshJobs() {
  try {
    renderJobs(await api(`/api/training/jobs${query({ twin: twin(), limit: 50 })}`));
  } catch (err) { report(err, 'Listing runs'); }
}

async function refresh() {
  if (!active) return;
  let job = null;
  try {
    job = await api(`/api/training/status${query({ twin: twin() })}`);
  } catch (err) {
    if (err.status !== 404) { // keep what is shown; try again shortly
      report(err, 'Training status');
      if (err.status !== 401) schedule(4000);
      return;
    }
  }
  if (!active) return;
  renderJob(job);
  const state = job ? `${job.job_id}:${job.state}` : null;
  if (state !== lastState) {
    lastState = state;
    await refreshJobs();
    if (job && lastJob && lastJob.job_id === job.job_id && job.state === 'succeeded' && job.version) {
      notice(`Run ${job.job_id} made ${job.version}.`);
    }
  }
  lastJob = job;
  loaded('training');
  const busy = job && (job.state === 'running' || job.state === 'queued');
  schedule(busy ? 700 : 4000);
}

function numberField(id) {
  const raw = $(id).value.trim();
  return raw === '' ? undefined : Number(raw);
}

async function start(event) {
  event.preventDefault();
  const mode = (event.submitter && event.submitter.value) || 'full';
  $('#train-error').textContent = '';
  const body = { twin: twin(), mode };
  const fields = { epochs: '#train-epochs', learning_rate: '#train-lr', batch_size: '#train-batch', max_length: '#train-maxlen' };
  for (const [key, id] of Object.entries(fields)) {
    const value = numberField(id);
    if (value !== undefined) body[key] = value;
  }
  const buttons = [$('#train-incremental'), $('#train-full'), $('#train-preference')];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const queued = await api('/api/train', { method: 'POST', body });
    notice(`Queued run ${queued.job_id} (${queued.mode}).`);
  } catch (err) {
    if (err.status === 409 && err.body) $('#train-error').textContent = `Run ${err.body.job_id} is already ${err.body.state} for this twin.`;
    else if (err.status !== 401) $('#train-error').textContent = err.message;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
  lastState = null;
  refresh();
}

async function cancel() {
  $('#job-cancel').disabled = true;
  try {
    await api('/api/training/cancel', { method: 'POST', body: { twin: twin() } });
    notice('Cancelling: the run stops at its next step.');
  } catch (err) { report(err, 'Cancel'); }
  refresh();
}

$('#train-form').addEventListener('submit', start);
$('#job-cancel').addEventListener('click', cancel);

export default {
  show() { active = true; lastState = null; refresh(); },
  hide() { active = false; clearTimeout(timer); },
  twinChanged() { lastState = null; lastJob = null; refresh(); },
};
