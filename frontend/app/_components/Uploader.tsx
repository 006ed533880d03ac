'use client';

import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ACCEPT_ATTRIBUTE, checkUpload, formatBytes, recordingFile } from '#core/upload-policy';
import { formatClock } from '#core/run-steps';
import { rememberUpload, type UploadTicket } from '../../lib/run-view.ts';

type State =
  | { kind: 'idle' }
  | { kind: 'recording'; startedAt: number }
  | { kind: 'uploading'; fileName: string; loaded: number; total: number }
  | { kind: 'uploaded'; fileName: string }
  | { kind: 'error'; message: string };

/** Sends the file straight to S3 with the presigned POST, reporting progress; rejects with a sentence. */
function postToStorage(ticket: UploadTicket, file: Blob, onProgress: (loaded: number) => void, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value);
    form.append('file', file);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', ticket.url);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      const reason = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText)?.[1];
      reject(new Error(`Storage refused the upload (${xhr.status}${reason ? `: ${reason}` : ''}).`));
    };
    xhr.onerror = () => reject(new Error('The upload could not reach storage. Check the connection and try again.'));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

async function requestTicket(file: File): Promise<UploadTicket> {
  const response = await fetch('/api/uploads', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ fileName: file.name, contentType: file.type, sizeBytes: file.size }),
  });
  const body = (await response.json().catch(() => ({}))) as Partial<UploadTicket> & { error?: { message?: string } };
  if (!response.ok) throw new Error(body.error?.message ?? `The site refused the upload (${response.status}).`);
  return body as UploadTicket;
}

export function Uploader({ maxBytes }: { maxBytes: number }) {
  const router = useRouter();
  const [state, setState] = useState<State>({ kind: 'idle' });
  const [dragging, setDragging] = useState(false);
  const [now, setNow] = useState(0);
  const inputRef = useRef<HTMLInputElement>(null);
  const abortRef = useRef<AbortController | null>(null);
  const recorderRef = useRef<MediaRecorder | null>(null);

  const send = useCallback(
    async (file: File) => {
      const verdict = checkUpload({ name: file.name, type: file.type, size: file.size }, maxBytes);
      if (!verdict.ok) return setState({ kind: 'error', message: verdict.reason });
      const controller = new AbortController();
      abortRef.current = controller;
      setState({ kind: 'uploading', fileName: file.name, loaded: 0, total: file.size });
      const startedAt = new Date().toISOString();
      try {
        const ticket = await requestTicket(file);
        await postToStorage(
          ticket,
          file,
          (loaded) => setState({ kind: 'uploading', fileName: file.name, loaded, total: file.size }),
          controller.signal,
        );
        setState({ kind: 'uploaded', fileName: file.name });
        rememberUpload(ticket.id, { startedAt, endedAt: new Date().toISOString() });
        router.push(ticket.runPath);
      } catch (error) {
        if (error instanceof DOMException && error.name === 'AbortError') return setState({ kind: 'idle' });
        setState({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
      } finally {
        if (inputRef.current) inputRef.current.value = '';
      }
    },
    [maxBytes, router],
  );

  const startRecording = useCallback(async () => {
    if (typeof MediaRecorder === 'undefined' || !navigator.mediaDevices?.getUserMedia) {
      return setState({ kind: 'error', message: 'This browser cannot record audio. Choose a file instead.' });
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      return setState({ kind: 'error', message: 'The microphone is not available: allow it for this site, or choose a file.' });
    }
    const recorder = new MediaRecorder(stream);
    const parts: Blob[] = [];
    recorder.ondataavailable = (event) => event.data.size > 0 && parts.push(event.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      recorderRef.current = null;
      if (recorder.state === 'inactive' && parts.length > 0 && (recorder as MediaRecorder & { keep?: boolean }).keep) {
        const { name, type } = recordingFile(recorder.mimeType, new Date());
        void send(new File(parts, name, { type }));
      } else {
        setState({ kind: 'idle' });
      }
    };
    recorderRef.current = recorder;
    recorder.start(1000);
    setState({ kind: 'recording', startedAt: Date.now() });
  }, [send]);

  const stopRecording = useCallback((keep: boolean) => {
    const recorder = recorderRef.current as (MediaRecorder & { keep?: boolean }) | null;
    if (!recorder) return;
    recorder.keep = keep;
    recorder.stop();
  }, []);

  useEffect(() => {
    if (state.kind !== 'recording') return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [state.kind]);

  useEffect(() => () => recorderRef.current?.stop(), []);

  const busy = state.kind === 'uploading' || state.kind === 'uploaded' || state.kind === 'recording';
  const percent = state.kind === 'uploading' && state.total > 0 ? Math.floor((state.loaded / state.total) * 100) : 0;

  return (
    <div
      className={`dropzone${dragging ? ' dropzone--active' : ''}`}
      onDragOver={(event) => {
        if (busy) return;
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(event) => {
        event.preventDefault();
        setDragging(false);
        const file = event.dataTransfer.files[0];
        if (file && !busy) void send(file);
      }}
    >
      {state.kind === 'uploading' || state.kind === 'uploaded' ? (
        <div className="upload-progress">
          <p className="upload-progress__name">{state.fileName}</p>
          <progress
            className="progress"
            max={100}
            value={state.kind === 'uploaded' ? 100 : percent}
            aria-label={`Uploading ${state.fileName}`}
          />
          <p className="upload-progress__numbers">
            {state.kind === 'uploaded'
              ? 'Uploaded — opening the run…'
              : `${percent}% · ${formatBytes(state.loaded)} of ${formatBytes(state.total)}`}
          </p>
          {state.kind === 'uploading' && (
            <button type="button" className="button button--quiet" onClick={() => abortRef.current?.abort()}>
              Cancel
            </button>
          )}
        </div>
      ) : state.kind === 'recording' ? (
        <div className="recorder">
          <p className="recorder__time">
            <span className="rec-dot" aria-hidden="true" /> Recording {formatClock((now - state.startedAt) / 1000)}
          </p>
          <div className="actions">
            <button type="button" className="button button--primary" onClick={() => stopRecording(true)}>
              Stop and caption
            </button>
            <button type="button" className="button button--quiet" onClick={() => stopRecording(false)}>
              Discard
            </button>
          </div>
        </div>
      ) : (
        <>
          <svg className="dropzone__icon" viewBox="0 0 48 48" width="44" height="44" aria-hidden="true">
            <path
              d="M24 31V9m0 0-8 8m8-8 8 8M10 29v6a4 4 0 0 0 4 4h20a4 4 0 0 0 4-4v-6"
              stroke="currentColor"
              strokeWidth="3"
              strokeLinecap="round"
              strokeLinejoin="round"
              fill="none"
            />
          </svg>
          <p className="dropzone__title">Drop a song here</p>
          <div className="actions">
            {/* A real button (Enter and Space both work) that opens the hidden file input; the input itself is out of the Tab order. */}
            <button type="button" className="button button--primary" onClick={() => inputRef.current?.click()}>
              Choose a file
            </button>
            <input
              ref={inputRef}
              className="visually-hidden"
              type="file"
              tabIndex={-1}
              aria-hidden="true"
              accept={ACCEPT_ATTRIBUTE}
              onChange={(event) => {
                const file = event.currentTarget.files?.[0];
                if (file) void send(file);
              }}
            />
            <button type="button" className="button" onClick={() => void startRecording()}>
              <span className="rec-dot rec-dot--idle" aria-hidden="true" /> Record
            </button>
          </div>
        </>
      )}
      <p className="dropzone__status" role={state.kind === 'error' ? 'alert' : 'status'} aria-live="polite">
        {state.kind === 'error'
          ? state.message
          : state.kind === 'uploading'
            ? // Announced at each quarter, not at every progress event.
              `Uploading ${state.fileName}: ${Math.floor(percent / 25) * 25}%`
            : state.kind === 'uploaded'
              ? `${state.fileName} uploaded.`
              : state.kind === 'recording'
                ? 'Recording from the microphone.'
                : ''}
      </p>
    </div>
  );
}
