'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import type { SimilarRun } from '#core/library';

type State = { status: 'loading' } | { status: 'ready'; similar: SimilarRun[] } | { status: 'failed'; message: string };

/** "Similar songs": the nearest runs in the library by the descriptor vector (core/library.ts), each with its reason. */
export function SimilarSongs({ id }: { id: string }) {
  const [state, setState] = useState<State>({ status: 'loading' });
  useEffect(() => {
    const controller = new AbortController();
    fetch(`/api/runs/${encodeURIComponent(id)}/similar`, { signal: controller.signal })
      .then(async (answer) => {
        const body = (await answer.json()) as { similar?: SimilarRun[]; error?: { message: string } };
        if (!answer.ok || !body.similar) throw new Error(body.error?.message ?? `The library answered ${answer.status}.`);
        setState({ status: 'ready', similar: body.similar });
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setState({ status: 'failed', message: error instanceof Error ? error.message : String(error) });
      });
    return () => controller.abort();
  }, [id]);

  return (
    <section className="card" aria-labelledby="similar-title" data-testid="similar-songs">
      <h2 id="similar-title">Similar songs</h2>
      {state.status === 'loading' && (
        <p className="muted small" role="status">
          Looking through the library…
        </p>
      )}
      {state.status === 'failed' && (
        <p className="muted small" role="status">
          {state.message}
        </p>
      )}
      {state.status === 'ready' && state.similar.length === 0 && <p className="muted small">No other songs in the library yet.</p>}
      {state.status === 'ready' && state.similar.length > 0 && (
        <ol className="runs" role="list">
          {state.similar.map((run) => (
            <li key={run.id}>
              <Link className="run-row run-row--similar" href={`/runs/${run.id}`} data-testid="similar-song">
                <span className="run-row__name">{run.fileName}</span>
                <span className="run-row__meta">{run.reason || 'close in sound'}</span>
              </Link>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
