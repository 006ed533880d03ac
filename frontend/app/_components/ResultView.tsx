'use client';

import { useEffect, useMemo, useRef, useState, type CSSProperties } from 'react';
import type { ResultDocument } from '#core/contract';
import { formatClock } from '#core/run-steps';
import { captionCues, cueAt, sectionTitle } from '#core/subtitles';
import { formatBytes } from '#core/upload-policy';
import { sectionAt, timelineDuration } from '../../lib/timeline.ts';
import { captionerWords, songBaseName, trackTagWords, windowFacts } from '../../lib/words.ts';
import { useRovingFocus } from './roving.ts';
import { Timeline } from './Timeline.tsx';
import { SimilarSongs } from './SimilarSongs.tsx';

function fileFacts(result: ResultDocument): string {
  const { file } = result;
  const channels = file.channels === 1 ? 'mono' : file.channels === 2 ? 'stereo' : `${file.channels} channels`;
  return [formatClock(file.durationSec), file.codec.toUpperCase(), `${(file.sampleRate / 1000).toFixed(1)} kHz ${channels}`, formatBytes(file.sizeBytes)].join(' · ');
}

/** The height of the sticky player, so a caption scrolled into view lands below it rather than under it. */
function useHeight<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  const [height, setHeight] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setHeight(Math.round(element.getBoundingClientRect().height)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, height] as const;
}

type Format = 'json' | 'srt' | 'vtt' | 'chapters';

export function ResultView({ id, result, audioUrl }: { id: string; result: ResultDocument; audioUrl?: string }) {
  const audioRef = useRef<HTMLAudioElement>(null);
  const captionRefs = useRef(new Map<number, HTMLLIElement>());
  const [playerRef, playerHeight] = useHeight<HTMLElement>();
  const [time, setTime] = useState(0);
  const [playing, setPlaying] = useState(false);
  const cues = useMemo(() => captionCues(result.chunks), [result.chunks]);
  const current = playing || time > 0 ? cueAt(cues, time) : undefined;
  const durationSec = timelineDuration(result);
  const sections = result.sections ?? [];
  const tags = useMemo(() => trackTagWords(result), [result]);
  const captionFocus = useRovingFocus(result.chunks.length, 'vertical');
  const tagFocus = useRovingFocus(tags.length, 'horizontal');
  const song = songBaseName(result.file.name);
  const download = (format: Format) => `/api/runs/${encodeURIComponent(id)}/captions/${format}`;
  const downloads: { format: Format; label: string; file: string }[] = [
    { format: 'srt', label: 'SRT', file: `${song}.srt` },
    { format: 'vtt', label: 'WebVTT', file: `${song}.vtt` },
    ...(sections.length > 0 ? [{ format: 'chapters' as const, label: 'Chapters', file: `${song}.chapters.vtt` }] : []),
    { format: 'json', label: 'JSON', file: `${song}.json` },
  ];

  // The current caption follows the audio: scrolled into view (below the sticky player) as playback moves on.
  useEffect(() => {
    if (!playing || current === undefined) return;
    const element = captionRefs.current.get(current.index);
    if (!element) return;
    const box = element.getBoundingClientRect();
    if (box.top < playerHeight || box.bottom > window.innerHeight) element.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }, [playing, current?.index, playerHeight]); // eslint-disable-line react-hooks/exhaustive-deps

  const seek = (seconds: number) => {
    const audio = audioRef.current;
    if (!audio) return;
    audio.currentTime = seconds;
    setTime(seconds);
    void audio.play().catch(() => undefined);
  };

  /** A caption's button: plays its window; on the window already playing it pauses, and resumes from where it paused. */
  const playOrPause = (startSec: number, isCurrent: boolean) => {
    const audio = audioRef.current;
    if (!audio) return;
    if (isCurrent && !audio.paused) return audio.pause();
    if (isCurrent) return void audio.play().catch(() => undefined);
    seek(startSec);
  };

  return (
    <div className="result" style={{ '--sticky-height': `${playerHeight}px` } as CSSProperties}>
      <section className="card summary-card" aria-labelledby="summary-title">
        <h2 id="summary-title">Summary</h2>
        <p className="summary" data-testid="summary">
          {result.summary.text}
        </p>
        <ul className="tags" aria-label="The song in measurements (arrow keys move between them)">
          {tags.map((tag, i) => (
            <li key={tag.number} className="tag-item">
              <span className="tag" data-testid="track-tag" aria-describedby={`tag-tip-${i}`} {...tagFocus.itemProps(i)}>
                {tag.words}
              </span>
              <span className="tag__tip" role="tooltip" id={`tag-tip-${i}`}>
                <strong>{tag.number}</strong> — {tag.explanation}
              </span>
            </li>
          ))}
        </ul>
        <p className="muted small summary__source">
          {result.summary.source === 'openai' ? `Written by ${result.summary.model}.` : 'Written locally from the captions and measurements.'}
          {result.summary.fallbackReason ? ` The language model's summary could not be used: ${result.summary.fallbackReason}.` : ''}
        </p>
      </section>

      <section className="card player-card" aria-labelledby="listen-title" ref={playerRef}>
        <div className="card__head">
          <h2 id="listen-title">Listen along</h2>
          <p className="muted player-card__facts">{fileFacts(result)}</p>
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
            {sections.length > 0 && <track kind="chapters" srcLang="en" label="Sections" src={download('chapters')} />}
          </audio>
        ) : (
          <p className="note">The audio could not be linked.</p>
        )}
        <Timeline result={result} durationSec={durationSec} time={time} onSeek={seek} />
      </section>

      <div className="result-grid">
        <section className="card" aria-labelledby="captions-title">
          <div className="card__head">
            <h2 id="captions-title">Captions</h2>
            <p className="muted">
              {result.chunks.length} {result.chunks.length === 1 ? 'window' : 'windows'}, {captionerWords(result.captioner)}
            </p>
          </div>
          <ol className="captions" aria-label="Captions: arrow keys move between windows, Enter or Space plays or pauses one">
            {result.chunks.map((chunk, i) => {
              const isCurrent = current?.index === chunk.index;
              const range = `${formatClock(chunk.startSec)}–${formatClock(chunk.endSec)}`;
              const section = sectionAt(sections, chunk.startSec);
              return (
                <li
                  key={chunk.index}
                  ref={(element) => {
                    if (element) captionRefs.current.set(chunk.index, element);
                    else captionRefs.current.delete(chunk.index);
                  }}
                  className={`caption${isCurrent ? ' caption--current' : ''}`}
                  aria-current={isCurrent ? 'true' : undefined}
                >
                  <button
                    type="button"
                    className="caption__time"
                    onClick={() => playOrPause(chunk.startSec, isCurrent)}
                    aria-label={`${isCurrent && playing ? 'Pause' : 'Play'} ${range}`}
                    {...captionFocus.itemProps(i)}
                  >
                    {range}
                  </button>
                  <div className="caption__body">
                    <p className="caption__text" data-testid="chunk-caption">
                      {chunk.caption}
                    </p>
                    <p className="caption__tags">
                      {section && <span className="caption__section">{sectionTitle(section)} · </span>}
                      {windowFacts(chunk.tags)}
                      {chunk.quality === 'degenerate' && <span className="caption__flag"> · looped, left out of the summary</span>}
                      {chunk.quality === 'unavailable' && <span className="caption__flag"> · the captioner gave none; written from the measurements</span>}
                    </p>
                  </div>
                </li>
              );
            })}
          </ol>
        </section>

        <aside className="side">
          <section className="card" aria-labelledby="downloads-title">
            <h2 id="downloads-title">Download</h2>
            <div className="downloads">
              {downloads.map((item) => (
                <a key={item.format} className="button" href={download(item.format)} download={item.file} data-testid={`download-${item.format}`}>
                  {item.label}
                </a>
              ))}
            </div>
            <p className="muted small downloads__note">
              Named after the song ({song}.srt …), so players pick the subtitles up beside {result.file.name}.
            </p>
          </section>
          <SimilarSongs id={id} />
        </aside>
      </div>
    </div>
  );
}
