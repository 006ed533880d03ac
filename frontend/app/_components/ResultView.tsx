'use client';

import { useMemo, useRef, useState } from 'react';
import type { ResultDocument } from '#core/contract';
import type { WindowTags } from '#core/descriptors/types';
import { formatClock } from '#core/run-steps';
import { sectionKeys, statedMeter } from '#core/song-shape';
import { captionCues, cueAt } from '#core/subtitles';
import { formatBytes } from '#core/upload-policy';

/** Beyond this many windows the timeline drops its time labels (beyond 6 on a phone): they would not fit. */
const DENSE_TIMELINE_WINDOWS = 12;

function trackTags(result: ResultDocument): string[] {
  const { tags } = result;
  const out: string[] = [];
  if (tags.bpm !== null) out.push(`${Math.round(tags.bpm)} BPM`);
  const meter = statedMeter(tags);
  if (meter) out.push(meter);
  const sections = result.analysis ? sectionKeys(result.analysis) : [];
  if (sections.length > 1) out.push(sections.join(' → '));
  else if (tags.key) out.push(tags.key);
  if (tags.loudnessLufs !== null) out.push(`${tags.loudnessLufs.toFixed(1)} LUFS`);
  if (Number.isFinite(tags.loudnessRangeLu)) out.push(`${tags.loudnessRangeLu.toFixed(1)} LU range`);
  if (Number.isFinite(tags.truePeakDbtp)) out.push(`${tags.truePeakDbtp.toFixed(1)} dBTP peak`);
  out.push(`${Math.round(tags.percussiveRatio * 100)}% percussive`);
  out.push(`${(tags.spectralCentroidHz / 1000).toFixed(1)} kHz brightness`);
  return out;
}

function windowTags(tags: WindowTags): string {
  return [tags.bpm !== null ? `${Math.round(tags.bpm)} BPM` : undefined, tags.key ?? undefined, tags.loudnessLufs !== null ? `${tags.loudnessLufs.toFixed(0)} LUFS` : undefined]
    .filter(Boolean)
    .join(' · ');
}

function fileFacts(result: ResultDocument): string {
  const { file } = result;
  const channels = file.channels === 1 ? 'mono' : file.channels === 2 ? 'stereo' : `${file.channels} channels`;
  return [formatClock(file.durationSec), file.codec.toUpperCase(), `${(file.sampleRate / 1000).toFixed(1)} kHz ${channels}`, formatBytes(file.sizeBytes)].join(' · ');
}

export function ResultView({ id, result, audioUrl }: { id: string; result: ResultDocument; audioUrl?: string }) {
  const audioRef = useRef<HTMLAudioElement>(null);
  const [time, setTime] = useState(0);
  const [playing, setPlaying] = useState(false);
  const cues = useMemo(() => captionCues(result.chunks), [result.chunks]);
  const current = playing || time > 0 ? cueAt(cues, time) : undefined;
  const total = Math.max(result.file.durationSec, ...result.chunks.map((chunk) => chunk.endSec), 1);
  const download = (format: 'json' | 'srt' | 'vtt') => `/api/runs/${encodeURIComponent(id)}/captions/${format}`;

  const seek = (seconds: number) => {
    const audio = audioRef.current;
    if (!audio) return;
    audio.currentTime = seconds;
    setTime(seconds);
    void audio.play().catch(() => undefined);
  };

  return (
    <>
      <section className="card player-card" aria-labelledby="listen-title">
        <div className="card__head">
          <h2 id="listen-title">Listen along</h2>
          <p className="muted">{fileFacts(result)}</p>
        </div>
        {audioUrl ? (
          <audio
            ref={audioRef}
            className="player"
            controls
            preload="metadata"
            src={audioUrl}
            onTimeUpdate={(event) => setTime(event.currentTarget.currentTime)}
            onPlay={() => setPlaying(true)}
            onPause={() => setPlaying(false)}
            onSeeked={(event) => setTime(event.currentTarget.currentTime)}
          >
            <track kind="captions" srcLang="en" label="Captions" src={download('vtt')} default />
          </audio>
        ) : (
          <p className="note">The audio could not be linked.</p>
        )}
        <div
          className={`timeline${cues.length > DENSE_TIMELINE_WINDOWS ? ' timeline--dense' : cues.length <= 6 ? ' timeline--sparse' : ''}`}
          role="group"
          aria-label="Timeline: choose a window to play it"
        >
          {cues.map((cue) => (
            <button
              key={cue.index}
              type="button"
              className={`timeline__window${current?.index === cue.index ? ' timeline__window--current' : ''}`}
              style={{ flexGrow: cue.endSec - cue.startSec }}
              onClick={() => seek(cue.startSec)}
              aria-label={`Play from ${formatClock(cue.startSec)}`}
              aria-current={current?.index === cue.index ? 'true' : undefined}
            >
              <span className="timeline__label">{formatClock(cue.startSec)}</span>
            </button>
          ))}
          <span className="timeline__playhead" style={{ left: `${Math.min(100, (time / total) * 100)}%` }} aria-hidden="true" />
        </div>
      </section>

      <div className="result-grid">
        <section className="card" aria-labelledby="captions-title">
          <div className="card__head">
            <h2 id="captions-title">Captions</h2>
            <p className="muted">
              {result.chunks.length} {result.chunks.length === 1 ? 'window' : 'windows'} · {result.captioner.model}
            </p>
          </div>
          <ol className="captions">
            {result.chunks.map((chunk) => {
              const isCurrent = current?.index === chunk.index;
              return (
                <li key={chunk.index} className={`caption${isCurrent ? ' caption--current' : ''}`} aria-current={isCurrent ? 'true' : undefined}>
                  <button type="button" className="caption__time" onClick={() => seek(chunk.startSec)} aria-label={`Play ${formatClock(chunk.startSec)} to ${formatClock(chunk.endSec)}`}>
                    {formatClock(chunk.startSec)}–{formatClock(chunk.endSec)}
                  </button>
                  <div className="caption__body">
                    <p className="caption__text" data-testid="chunk-caption">
                      {chunk.caption}
                    </p>
                    <p className="caption__tags">
                      {windowTags(chunk.tags)}
                      {chunk.quality === 'degenerate' && <span className="caption__flag"> · looped, left out of the summary</span>}
                    </p>
                  </div>
                </li>
              );
            })}
          </ol>
        </section>

        <aside className="side">
          <section className="card" aria-labelledby="summary-title">
            <h2 id="summary-title">Summary</h2>
            <p className="summary" data-testid="summary">
              {result.summary.text}
            </p>
            <p className="muted small">
              {result.summary.source === 'openai' ? `Written by ${result.summary.model}.` : 'Written locally from the captions and measurements.'}
              {result.summary.fallbackReason ? ` The language model's summary could not be used: ${result.summary.fallbackReason}.` : ''}
            </p>
            <ul className="tags" aria-label="Measurements">
              {trackTags(result).map((tag) => (
                <li key={tag} className="tag">
                  {tag}
                </li>
              ))}
            </ul>
          </section>
          <section className="card" aria-labelledby="downloads-title">
            <h2 id="downloads-title">Download</h2>
            <div className="downloads">
              <a className="button" href={download('srt')} download={`${id}.srt`}>
                SRT
              </a>
              <a className="button" href={download('vtt')} download={`${id}.vtt`}>
                WebVTT
              </a>
              <a className="button" href={download('json')} download={`${id}.json`}>
                JSON
              </a>
            </div>
          </section>
        </aside>
      </div>
    </>
  );
}
