// How numbers, sizes, durations and dates are written on the page; '—' stands for "no value".

export const isNum = (x) => typeof x === 'number' && Number.isFinite(x);

export function num(x, digits = 3) {
  if (!isNum(x)) return '—';
  if (Number.isInteger(x)) return x.toLocaleString('en');
  return x.toFixed(digits);
}

export const fixed = (x, digits = 1) => (isNum(x) ? x.toFixed(digits) : '—');

export function pct(x, digits = 0) {
  return isNum(x) ? `${(x * 100).toFixed(digits)}%` : '—';
}

export function bytes(n) {
  if (!isNum(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function duration(seconds) {
  if (!isNum(seconds)) return '—';
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60), s = seconds % 60;
  if (m < 60) return s ? `${m} min ${s} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function secondsBetween(a, b) {
  if (!a) return null;
  const end = b ? new Date(b) : new Date();
  return (end - new Date(a)) / 1000;
}
