// The Import page: upload an export (POST /api/import, admin token), follow it, show what was written.
import { api, query, report } from './api.js';
import { $, fillFacts, loaded, notice } from './dom.js';
import { num } from './format.js';
import { twin } from './twins.js';

let polling = null;

function show(job) {
  const bar = $('#import-progress');
  bar.hidden = job.state !== 'running';
  if (job.total) { bar.max = job.total; bar.value = job.done; } else bar.removeAttribute('value');
  const who = job.person ? ` · the person: ${job.person.who.join(', ')} (${num(job.person.messages)} messages${job.person.guessed ? ', guessed' : ''})` : '';
  $('#import-stage').textContent = `${job.state}${job.stage ? `: ${job.stage} ${num(job.done)}` : ''}${who}`;
  const r = job.report;
  $('#import-result').hidden = !r && !job.error;
  if (job.error) fillFacts($('#import-result'), [['Error', job.error]]);
  else if (r) {
    const skipped = Object.entries(r.skipped || {}).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    fillFacts($('#import-result'), [
      ['Messages read', num(r.read)], ['Written', num(r.written)], ['Already there', num(r.already_there)],
      ['Skipped', skipped], ['Conversations', num(r.conversations)], ['Replies linked', num(r.replies_linked)],
      ['Attachments skipped', num(r.attachments_skipped)],
    ]);
  }
}

async function follow(id) {
  clearTimeout(polling);
  try {
    const job = await api(`/api/import/${encodeURIComponent(id)}`);
    show(job);
    if (job.state === 'running' || job.state === 'uploading') polling = setTimeout(() => follow(id), 1000);
    else notice(job.state === 'succeeded' ? `Imported: ${num(job.report.written)} new messages.` : `Import failed: ${job.error}`,
      { error: job.state !== 'succeeded' });
  } catch (err) { report(err, 'Import'); }
}

async function submit(event) {
  event.preventDefault();
  const file = $('#import-file').files[0];
  if (!file) return;
  const button = $('#import-submit');
  button.disabled = true;
  $('#import-stage').textContent = `uploading ${file.name}…`;
  try {
    const params = { format: $('#import-format').value, twin: twin(), me: $('#import-me').value.trim() };
    const started = await api(`/api/import${query(params)}`, { method: 'POST', body: file });
    await follow(started.import_id);
  } catch (err) {
    $('#import-stage').textContent = '';
    report(err, 'Import');
  }
  button.disabled = false;
}

$('#import-form').addEventListener('submit', submit);

export default { show() { loaded('import'); }, hide() { clearTimeout(polling); }, twinChanged() {} };
