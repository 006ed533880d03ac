'use client';

import { useEffect, useState } from 'react';
import {
  formatDuration,
  PHASE_WORDS,
  STEP_STATUS_WORDS,
  TERMINAL_PHASES,
  withUploadTiming,
  type RunStatus,
  type RunStep,
} from '../../lib/run-view.ts';
import Link from 'next/link';
import { failureSentence } from '../../lib/words.ts';
import { LocalTime } from './LocalTime.tsx';
import { ResultView } from './ResultView.tsx';
import { waitingLine } from '#core/run-queue';

/** About once a second: the server answers from one shared Step Functions read per run per second. */
const POLL_MS = 1000;

/** What each step does, said for where it stands: done, under way, stopped there, or not reached. */
const STEP_NOTES: Record<RunStep['name'], Record<'before' | 'running' | 'done' | 'failed', string>> = {
  Upload: {
    before: 'The file goes straight to storage.',
    running: 'The file is on its way to storage.',
    done: 'The file went straight to storage.',
    failed: 'Stopped here: the file did not reach storage.',
  },
  Preprocess: {
    before: 'Decodes the file, cuts it into 10-second windows and measures it.',
    running: 'Decoding the file, cutting it into 10-second windows, measuring.',
    done: 'Decoded to 16 kHz mono, cut into 10-second windows, measured.',
    failed: 'Stopped here: the file could not be decoded and measured.',
  },
  Caption: {
    before: 'Gives every window a caption of its own.',
    running: 'Captioning every window.',
    done: 'Every window got a caption of its own.',
    failed: 'Stopped here: the windows could not be captioned.',
  },
  Summarize: {
    before: 'Sums up the captions and measurements.',
    running: 'Summing up the captions and measurements.',
    done: 'The captions and measurements, summed up.',
    failed: 'Stopped here: the summary could not be written.',
  },
};

function stepNote(step: RunStep, runFailed: boolean): string {
  const notes = STEP_NOTES[step.name];
  if (step.status === 'succeeded') return notes.done;
  if (step.status === 'failed') return notes.failed;
  if (step.status === 'running' || step.status === 'retrying') return notes.running;
  return runFailed ? 'Not reached: the run stopped before this step.' : notes.before;
}

/** Keeps a status fresh while the run is going and the tab is visible. */
function useRunStatus(initial: RunStatus) {
  const [status, setStatus] = useState(initial);
  const [receivedAt, setReceivedAt] = useState(() => Date.now());
  const [offline, setOffline] = useState(false);
  const terminal = TERMINAL_PHASES.has(status.phase);

  useEffect(() => {
    if (terminal) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cancelled = false;
    let inFlight = false;
    const poll = async () => {
      clearTimeout(timer);
      if (cancelled || document.hidden || inFlight) return;
      inFlight = true;
      try {
        const response = await fetch(`/api/runs/${encodeURIComponent(initial.id)}`, { cache: 'no-store' });
        if (response.ok) {
          const next = (await response.json()) as RunStatus;
          if (!cancelled) {
            setStatus(next);
            setReceivedAt(Date.now());
            setOffline(false);
          }
        } else if (response.status >= 500) {
          setOffline(true);
        }
      } catch {
        if (!cancelled) setOffline(true);
      } finally {
        inFlight = false;
        if (!cancelled && !document.hidden) timer = setTimeout(poll, POLL_MS);
      }
    };
    const onVisibility = () => {
      if (!document.hidden) void poll();
    };
    timer = setTimeout(poll, POLL_MS);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      cancelled = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [initial.id, terminal]);

  return { status, receivedAt, offline, terminal };
}

/** The steps with this browser's upload timing, once hydrated (the server cannot know it). */
function useUploadTiming(steps: RunStep[], id: string): RunStep[] {
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  return hydrated ? withUploadTiming(steps, id) : steps;
}

/**
 * A clock that ticks while something is running, for the live durations. It starts at `since`, the moment the
 * status was received, so the first render shows the durations the server observed, to the millisecond, on the
 * server and again when the browser hydrates: two reads of Date.now() a millisecond apart made "734 ms" there and
 * "735 ms" here, and React threw the server's HTML away (minified error #418 in CI's browser test, now and then).
 */
function useNow(active: boolean, since: number): number {
  const [now, setNow] = useState(since);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

function StepItem({ step, elapsedMs, runFailed }: { step: RunStep; elapsedMs?: number; runFailed: boolean }) {
  const duration = step.durationMs ?? elapsedMs;
  return (
    <li className={`step step--${step.status}`} data-testid={`step-${step.name}`} data-status={step.status}>
      <span className="step__icon" aria-hidden="true" />
      <div className="step__body">
        <div className="step__head">
          <h3 className="step__name">{step.name}</h3>
          <span className="step__status">{STEP_STATUS_WORDS[step.status]}</span>
          {duration !== undefined && duration >= 0 && <span className="step__duration">{formatDuration(duration)}</span>}
          {step.retries > 0 && (
            <span className="step__retries">
              {step.retries} {step.retries === 1 ? 'retry' : 'retries'}
            </span>
          )}
          {step.fellBack && <span className="step__retries">local summary</span>}
        </div>
        <p className="step__note">{stepNote(step, runFailed)}</p>
        {/* A failure's detail is told once, folded under the run's sentence; a retry's is news while it runs. */}
        {step.error && step.status === 'retrying' && (
          <p className="step__error">
            <strong>{step.error.name}</strong>
            {step.error.message ? ` — ${step.error.message}` : ''}
          </p>
        )}
      </div>
    </li>
  );
}

function announcement(status: RunStatus): string {
  if (status.phase === 'succeeded') return 'All steps are done. The captions are below.';
  if (status.phase === 'failed') return `The run failed. ${failureSentence(status.error)}`;
  const active = status.steps.find((step) => step.status === 'running' || step.status === 'retrying');
  if (active) return `${active.name} is ${active.status === 'retrying' ? 'being retried' : 'running'}.`;
  return status.phase === 'waiting' ? 'Upload done. Waiting for the pipeline to start.' : '';
}

export function RunView({ initial }: { initial: RunStatus }) {
  const { status, receivedAt, offline, terminal } = useRunStatus(initial);
  const now = useNow(!terminal, receivedAt);
  // Durations of running steps, on the server's clock: what it saw plus the time since it said so.
  const serverNow = Date.parse(status.observedAt) + Math.max(0, now - receivedAt);
  const steps = useUploadTiming(status.steps, status.id);
  // Once the song is captioned the result is what is read first; the steps move below it.
  const succeeded = status.phase === 'succeeded' && status.result?.status === 'SUCCEEDED';
  const stepsCard = (
      <section className="card steps-card" aria-labelledby="steps-title">
        <h2 id="steps-title" className={succeeded ? 'steps-card__title' : 'visually-hidden'}>
          {succeeded ? 'How it ran' : 'Steps'}
        </h2>
        <ol className="steps">
          {steps.map((step) => (
            <StepItem
              key={step.name}
              step={step}
              runFailed={status.phase === 'failed'}
              elapsedMs={
                (step.status === 'running' || step.status === 'retrying') && step.startedAt
                  ? serverNow - Date.parse(step.startedAt)
                  : undefined
              }
            />
          ))}
        </ol>
        <p className="visually-hidden" role="status" aria-live="polite">
          {announcement(status)}
        </p>
        {status.phase === 'waiting' && !status.notice && (
          <p className="note">The upload is in storage; the pipeline starts within a few seconds.</p>
        )}
        {status.runsAhead !== undefined && (
          <p className="note">{waitingLine(status.runsAhead)}: this machine runs a few songs at a time, first come first served.</p>
        )}
        {status.notice && (
          <p className="callout callout--warning" role="alert">
            {status.notice}
          </p>
        )}
        {offline && !terminal && (
          <p className="note">The status could not be refreshed just now; still trying.</p>
        )}
      </section>
  );

  return (
    <article className="run">
      <header className="run__header">
        <p className="eyebrow">Run {status.id}</p>
        <h1 className="run__title">
          {status.fileName}
        </h1>
        <div className="run__meta">
          <span className={`pill pill--${status.phase}`}>{PHASE_WORDS[status.phase]}</span>
          {status.startedAt && (
            <span>
              Started <LocalTime iso={status.startedAt} />
            </span>
          )}
          {status.startedAt && (
            <span>
              {terminal && status.stoppedAt
                ? `Took ${formatDuration(Date.parse(status.stoppedAt) - Date.parse(status.startedAt))}`
                : `Running for ${formatDuration(serverNow - Date.parse(status.startedAt))}`}
            </span>
          )}
          {status.consoleUrl && (
            <a href={status.consoleUrl} target="_blank" rel="noreferrer noopener">
              Open in the Step Functions console
            </a>
          )}
        </div>
      </header>

      {status.phase === 'failed' && (
        <section className="callout callout--error" aria-labelledby="failure-title" data-testid="failure">
          <h2 id="failure-title">{failureSentence(status.error)}</h2>
          {status.error && (
            <details className="failure__detail">
              <summary>Technical detail</summary>
              <p>
                <code>{status.error.name}</code> at {status.error.step}
                {status.error.message ? `: ${status.error.message}` : ''}
              </p>
            </details>
          )}
          <p>
            <Link className="button button--primary" href="/">
              Try another file
            </Link>
          </p>
        </section>
      )}

      {!succeeded && stepsCard}

      {succeeded && status.result?.status === 'SUCCEEDED' && <ResultView id={status.id} result={status.result} audioUrl={status.audioUrl} />}

      {succeeded && stepsCard}
    </article>
  );
}
