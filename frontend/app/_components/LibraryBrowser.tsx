'use client';

import Link from 'next/link';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { LibraryPage } from '#core/library';
import { NO_CLEAR_KEY, NO_STEADY_BEAT } from '#core/vocabulary';
import { LocalTime } from './LocalTime.tsx';

const FIELDS = ['q', 'bpmMin', 'bpmMax', 'key', 'meter', 'lufsMin', 'lufsMax', 'from', 'to', 'sort'] as const;
type Field = (typeof FIELDS)[number];
type Filters = Partial<Record<Field, string>>;

const SORTS = [
  ['date', 'Newest first'],
  ['date-asc', 'Oldest first'],
  ['tempo', 'Slowest first'],
  ['tempo-desc', 'Fastest first'],
] as const;
const METERS = ['2/4', '3/4', '4/4', '6/8', '12/8'];
const LOADING_RETRY_MS = 2000;

/** "Still reading the library: 1,200 of 10,000 runs so far." */
function loadingNotice(loading: NonNullable<LibraryPage['loading']>): string {
  const read = loading.read.toLocaleString('en');
  return loading.listed === undefined
    ? `Still reading the library: ${read} runs so far; the list fills in as it goes.`
    : `Still reading the library: ${read} of ${loading.listed.toLocaleString('en')} runs so far; the list fills in as it goes.`;
}

function queryOf(filters: Filters, page: number): string {
  const params = new URLSearchParams();
  for (const field of FIELDS) if (filters[field]) params.set(field, filters[field]);
  if (page > 1) params.set('page', String(page));
  return params.toString();
}

/**
 * The library of finished runs: search by file name and caption words, filters (tempo, key, meter, loudness,
 * date), sort, pages, and deleting a run. Reads GET /api/runs?…; the first page comes from the server.
 */
export function LibraryBrowser({ initial, keyNames }: { initial: LibraryPage; keyNames: string[] }) {
  const [filters, setFilters] = useState<Filters>({});
  const [page, setPage] = useState(1);
  const [result, setResult] = useState<LibraryPage>(initial);
  const [error, setError] = useState<string>();
  const [reload, setReload] = useState(0);
  const first = useRef(true);

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const controller = new AbortController();
    // Typing in the search box asks once it pauses, not on every key.
    const timer = setTimeout(() => {
      fetch(`/api/runs?${queryOf(filters, page)}`, { signal: controller.signal })
        .then(async (answer) => {
          const body = (await answer.json()) as { library?: LibraryPage; error?: { message: string } };
          if (!answer.ok || !body.library) throw new Error(body.error?.message ?? `The library answered ${answer.status}.`);
          setResult(body.library);
          setError(undefined);
        })
        .catch((failure: unknown) => {
          if (!controller.signal.aborted) setError(failure instanceof Error ? failure.message : String(failure));
        });
    }, 200);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [filters, page, reload]);

  // A partial answer (the site is still reading a library that has no index object yet) is asked again until it
  // covers every run.
  const partial = result.loading !== undefined;
  useEffect(() => {
    if (!partial) return;
    const timer = setTimeout(() => setReload((count) => count + 1), LOADING_RETRY_MS);
    return () => clearTimeout(timer);
  }, [partial, result]);

  const set = (field: Field) => (event: { target: { value: string } }) => {
    setFilters((current) => ({ ...current, [field]: event.target.value }));
    setPage(1);
  };

  async function remove(id: string, fileName: string) {
    if (!window.confirm(`Delete “${fileName}”? Its upload, captions and result are removed for good.`)) return;
    const answer = await fetch(`/api/runs/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (!answer.ok) {
      const body = (await answer.json().catch(() => ({}))) as { error?: { message: string } };
      setError(body.error?.message ?? `Deleting answered ${answer.status}.`);
      return;
    }
    setReload((count) => count + 1);
  }

  const submit = (event: FormEvent) => event.preventDefault();

  return (
    <div className="library" data-testid="library">
      <form className="form library__filters" role="search" aria-label="Search the library" onSubmit={submit}>
        <label>
          Search
          <input type="search" name="q" placeholder="File name or words from the captions" value={filters.q ?? ''} onChange={set('q')} />
        </label>
        <label>
          Tempo from (BPM)
          <input type="number" name="bpmMin" min={0} value={filters.bpmMin ?? ''} onChange={set('bpmMin')} />
        </label>
        <label>
          to
          <input type="number" name="bpmMax" min={0} value={filters.bpmMax ?? ''} onChange={set('bpmMax')} />
        </label>
        <label>
          Key
          <select name="key" value={filters.key ?? ''} onChange={set('key')}>
            <option value="">Any key</option>
            {keyNames.map((key) => (
              <option key={key}>{key}</option>
            ))}
          </select>
        </label>
        <label>
          Meter
          <select name="meter" value={filters.meter ?? ''} onChange={set('meter')}>
            <option value="">Any meter</option>
            {METERS.map((meter) => (
              <option key={meter}>{meter}</option>
            ))}
          </select>
        </label>
        <label>
          Loudness from (LUFS)
          <input type="number" name="lufsMin" max={0} value={filters.lufsMin ?? ''} onChange={set('lufsMin')} />
        </label>
        <label>
          to
          <input type="number" name="lufsMax" max={0} value={filters.lufsMax ?? ''} onChange={set('lufsMax')} />
        </label>
        <label>
          From
          <input type="date" name="from" value={filters.from ?? ''} onChange={set('from')} />
        </label>
        <label>
          To
          <input type="date" name="to" value={filters.to ?? ''} onChange={set('to')} />
        </label>
        <label>
          Sort
          <select name="sort" value={filters.sort ?? 'date'} onChange={set('sort')}>
            {SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </form>
      {error && (
        <p className="form__error" role="alert">
          {error}
        </p>
      )}
      <p className="muted small" role="status" data-testid="library-count">
        {result.total === 1 ? '1 song' : `${result.total} songs`}
        {result.pages > 1 && ` · page ${result.page} of ${result.pages}`}
      </p>
      {result.loading && (
        <p className="muted small" data-testid="library-loading">
          {loadingNotice(result.loading)}
        </p>
      )}
      {result.runs.length === 0 ? (
        <p className="empty">No finished songs match. Upload one above, or loosen the filters.</p>
      ) : (
        <ul className="runs" role="list">
          {result.runs.map((run) => (
            <li key={run.id} className="library__row" data-testid="library-row">
              <Link className="run-row" href={`/runs/${run.id}`} title={`${run.fileName} (run ${run.id})`}>
                <span className="run-row__name">{run.fileName}</span>
                <span className="run-row__meta">
                  {[run.bpm !== null ? `${Math.round(run.bpm)} BPM` : NO_STEADY_BEAT, run.key ?? NO_CLEAR_KEY, run.meter, run.loudnessLufs !== null ? `${run.loudnessLufs.toFixed(1)} LUFS` : null]
                    .filter(Boolean)
                    .join(' · ')}
                  {' · '}
                  <LocalTime iso={run.createdAt} />
                </span>
              </Link>
              <button type="button" className="button button--quiet" onClick={() => remove(run.id, run.fileName)} aria-label={`Delete ${run.fileName}`}>
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      {result.pages > 1 && (
        <nav className="library__pages" aria-label="Library pages">
          <button type="button" className="button" disabled={page <= 1} onClick={() => setPage((current) => current - 1)}>
            Previous
          </button>
          <button type="button" className="button" disabled={page >= result.pages} onClick={() => setPage((current) => current + 1)}>
            Next
          </button>
        </nav>
      )}
    </div>
  );
}
