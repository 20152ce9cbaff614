// The header's twin picker and the version lists every page fills from it.
import { api, query, report } from './api.js';
import { $, el } from './dom.js';

// The chosen twin survives a reload of this tab (session storage), not a sign-out.
export const TWIN_KEY = 'doppel.twin';

let twins = [];

export async function loadTwins() {
  const select = $('#twin');
  try {
    const models = await api('/v1/models');
    twins = models.data.map((m) => ({ name: m.id, final: m.version }));
  } catch (err) {
    report(err, 'Listing twins');
    return;
  }
  const wanted = sessionStorage.getItem(TWIN_KEY);
  select.replaceChildren(...twins.map((t) => el('option', { value: t.name, text: t.name })));
  if (wanted && twins.some((t) => t.name === wanted)) select.value = wanted;
}

export const twin = () => $('#twin').value || (twins[0] && twins[0].name) || '';

export async function getVersions() {
  return api(`/api/versions${query({ twin: twin() })}`);
}

// Fill a version <select>: "final (v1.2)" first, then every version; keeps the choice when it still exists.
export function fillVersionSelect(select, versions, { withFinal = true } = {}) {
  const before = select.value;
  const final = versions.find((v) => v.final);
  const options = [];
  if (withFinal) options.push(el('option', { value: 'final', text: final ? `final (${final.version})` : 'final' }));
  for (const v of [...versions].reverse()) {
    options.push(el('option', { value: v.version, text: v.final ? `${v.version} (final)` : v.version }));
  }
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === before)) select.value = before;
  return final;
}
