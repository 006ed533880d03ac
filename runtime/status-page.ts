/** A plain page listing runs, served when the site is switched off (SITE=off). */
import type { ExecutionRecord } from './executions.ts';

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderStatusPage(records: readonly ExecutionRecord[]): string {
  const rows = records
    .map((record) => {
      const key = (JSON.parse(record.input) as { key?: string }).key ?? '';
      const seconds = ((record.stopDate ?? Date.now()) - record.startDate) / 1000;
      return `<tr><td>${escape(record.name)}</td><td>${escape(key.split('/').pop() ?? '')}</td><td>${record.status}</td><td>${seconds.toFixed(1)} s</td><td>${escape(record.error ?? '')}</td></tr>`;
    })
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Music captioner runtime</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;color:#222}td,th{padding:.3rem .8rem;text-align:left;border-bottom:1px solid #ddd}</style></head>
<body><h1>The runtime is up</h1><p>${records.length} run${records.length === 1 ? '' : 's'}.</p>
<table><thead><tr><th>Run</th><th>File</th><th>Status</th><th>Time</th><th>Error</th></tr></thead><tbody>${rows}</tbody></table></body></html>`;
}
