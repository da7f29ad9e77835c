// Exports: a visual's result as CSV (the server's Athena-format CSV of its query), and a sheet as
// one PNG composed of the charts' canvases and the texts of kpis, tables and titles.
import { apiText, seg } from './api.js';
import { download } from './dom.js';

// Downloads the CSV of query `queryId` as `filename`.
export async function downloadQueryCsv(queryId, filename) {
  const csv = await apiText(`/v1/queries/${seg(queryId)}/results.csv`);
  download(new Blob([csv], { type: 'text/csv' }), filename);
}

const TEXT_SELECTOR = 'h2, .kpi-value, .kpi-delta, th, td, .visual-error, .alert, .page-info, .empty';

// Draws `root` (the sheet's grid) onto a canvas: every visual's frame, its chart canvas (from
// `charts`: visual id → ECharts instance), and the texts of its headings, kpis and tables.
export function composeSheet(root, charts, title) {
  const scale = window.devicePixelRatio || 1;
  const box = root.getBoundingClientRect();
  const header = 40;
  const canvas = document.createElement('canvas');
  canvas.width = Math.ceil(box.width * scale);
  canvas.height = Math.ceil((box.height + header) * scale);
  const ctx = canvas.getContext('2d');
  ctx.scale(scale, scale);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, box.width, box.height + header);
  ctx.fillStyle = '#1b1f24';
  ctx.font = '600 18px system-ui, sans-serif';
  ctx.fillText(title, 8, 26);
  ctx.translate(0, header);
  for (const section of root.querySelectorAll('section.visual')) {
    const r = section.getBoundingClientRect();
    ctx.strokeStyle = '#d0d7de';
    ctx.strokeRect(r.left - box.left + 0.5, r.top - box.top + 0.5, r.width - 1, r.height - 1);
    const chart = charts.get(section.dataset.visualId);
    const holder = section.querySelector('.chart');
    if (chart && holder && !holder.hidden) {
      const c = holder.getBoundingClientRect();
      const image = chart.getRenderedCanvas({ backgroundColor: '#ffffff', pixelRatio: scale });
      ctx.drawImage(image, c.left - box.left, c.top - box.top, c.width, c.height);
    }
    for (const node of section.querySelectorAll(TEXT_SELECTOR)) {
      if (node.closest('[hidden]') || (node.matches('th, td') && node.closest('.table-view'))) continue;
      const t = node.getBoundingClientRect();
      if (!t.width || !t.height) continue;
      const style = getComputedStyle(node);
      ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      ctx.fillStyle = style.color;
      ctx.textBaseline = 'middle';
      ctx.save();
      ctx.beginPath();
      ctx.rect(r.left - box.left, r.top - box.top, r.width, r.height);
      ctx.clip();
      ctx.fillText(node.textContent.trim(), t.left - box.left + 2, t.top - box.top + t.height / 2, Math.max(10, t.width));
      ctx.restore();
    }
  }
  return canvas;
}

// Downloads the sheet as `filename` (PNG).
export function downloadSheetPng(root, charts, title, filename) {
  const canvas = composeSheet(root, charts, title);
  canvas.toBlob((blob) => blob && download(blob, filename), 'image/png');
}
