// A small stacked bar chart in inline SVG (document.createElementNS only; no canvas, no library).
import { el, svg } from './dom.js';

// Distinguishable on white and for the common colour-vision deficiencies (Okabe–Ito based).
export const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#8c6d1f', '#4b5563'];

function niceMax(v) {
  if (v <= 5) return 5;
  const pow = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= v) return m * pow;
  return 10 * pow;
}

/**
 * barChart({days: ['2026-11-10', ...], series: [{label, color, values: [n per day],
 * failures: [n per day]}], yLabel, xLabel}) → a figure with the SVG and its legend.
 * One stacked bar per day (a segment per series, so equal values never hide each other); a day
 * with failures gets a red marker above its bar; every segment has a <title> tooltip.
 */
export function barChart({ days, series, yLabel, xLabel, testid }) {
  const W = 880, H = 280;
  const m = { top: 18, right: 16, bottom: 44, left: 56 };
  const iw = W - m.left - m.right, ih = H - m.top - m.bottom;
  const totals = days.map((_, i) => series.reduce((n, s) => n + (s.values[i] || 0), 0));
  const maxV = niceMax(Math.max(0, ...totals));
  const slot = iw / Math.max(1, days.length);
  const barW = Math.max(2, Math.min(36, slot * 0.7));
  const x = (i) => m.left + slot * i + (slot - barW) / 2;
  const y = (v) => m.top + ih - (v / maxV) * ih;

  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${yLabel} per ${xLabel || 'day'}`,
    'data-testid': testid || 'chart',
  });
  root.append(svg('title', {}, `${yLabel} per ${xLabel || 'day'}`));

  const ticks = 5;
  for (let t = 0; t <= ticks; t++) {
    const v = (maxV * t) / ticks;
    const yy = y(v);
    root.append(
      svg('line', { x1: m.left, x2: W - m.right, y1: yy, y2: yy, class: t === 0 ? 'axis' : 'grid' }),
      svg('text', { x: m.left - 8, y: yy + 4, 'text-anchor': 'end', class: 'tick' },
        Number.isInteger(v) ? String(v) : v.toFixed(1)),
    );
  }
  root.append(svg('line', { x1: m.left, x2: m.left, y1: m.top, y2: m.top + ih, class: 'axis' }));

  const step = Math.max(1, Math.ceil(days.length / 12));
  days.forEach((d, i) => {
    if (i % step !== 0 && i !== days.length - 1) return;
    root.append(svg('text', { x: x(i) + barW / 2, y: m.top + ih + 18, 'text-anchor': 'middle', class: 'tick' }, String(d).slice(5)));
  });
  root.append(
    svg('text', { x: m.left + iw / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis-label' }, xLabel || 'day (UTC)'),
    svg('text', {
      x: 14, y: m.top + ih / 2, 'text-anchor': 'middle', class: 'axis-label',
      transform: `rotate(-90 14 ${m.top + ih / 2})`,
    }, yLabel),
  );

  days.forEach((day, i) => {
    let base = 0;
    let fails = 0;
    const g = svg('g', { class: 'bar', 'data-day': day });
    for (const s of series) {
      const v = s.values[i] || 0;
      const f = (s.failures && s.failures[i]) || 0;
      fails += f;
      if (v <= 0) continue;
      const rect = svg('rect', {
        x: x(i), y: y(base + v), width: barW, height: Math.max(1, y(base) - y(base + v)), fill: s.color,
        class: f ? 'segment segment-fail' : 'segment',
      });
      rect.append(svg('title', {}, `${day} · ${s.label}: ${v} ${yLabel.toLowerCase()}${f ? ` · ${f} failure reports` : ''}`));
      g.append(rect);
      base += v;
    }
    if (fails) {
      const cx = x(i) + barW / 2;
      const top = y(base) - 6;
      const mark = svg('path', { d: `M${cx - 5},${top - 8} L${cx + 5},${top - 8} L${cx},${top} Z`, class: 'fail-mark' });
      mark.append(svg('title', {}, `${day}: ${fails} launch failure reports`));
      g.append(mark);
    }
    if (totals[i] > 0) {
      root.append(g);
    }
  });

  const legend = el('ul', { class: 'legend', testid: 'chart-legend' },
    series.map((s) => {
      const sw = el('span', { class: 'swatch' });
      sw.style.borderColor = s.color; // CSSOM, allowed under style-src 'self'
      sw.style.backgroundColor = s.color;
      return el('li', {}, sw, s.label);
    }),
    el('li', { class: 'legend-fail' }, el('span', { class: 'swatch-fail' }), 'day with launch failure reports'),
  );

  if (totals.every((t) => t === 0)) {
    root.append(svg('text', { x: m.left + iw / 2, y: m.top + ih / 2, 'text-anchor': 'middle', class: 'empty' },
      'no activity in this period'));
  }
  return el('figure', { class: 'chart-box' }, root, legend);
}
