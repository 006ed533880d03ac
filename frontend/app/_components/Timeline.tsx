'use client';

import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import type { ResultDocument } from '#core/contract';
import type { SongSection } from '#core/descriptors/types';
import { formatClock } from '#core/run-steps';
import { sectionKeyAt } from '#core/song-shape';
import { sectionTitle } from '#core/subtitles';
import { beatTicks, keyMarks, loudnessPath, sectionBands, tempoMarks, ticksPath, type LaneMark } from '../../lib/timeline.ts';
import { tempoKeyLevel } from '../../lib/words.ts';
import { useRovingFocus } from './roving.ts';

/** Heights of the SVG's lanes, in px: the loudness curve, the beat ticks under it, then tempo and key. */
const CURVE_H = 44;
const TICKS_TOP = CURVE_H + 1;
const TICKS_BOTTOM = CURVE_H + 7;
const TEMPO_Y = CURVE_H + 12;
const KEY_Y = TEMPO_Y + 18;
const LANE_H = 15;
const SVG_H = KEY_Y + LANE_H + 1;

/** The width of an element, kept up to date: the timeline is laid out again only when it changes. */
function useWidth<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    setWidth(Math.round(element.clientWidth));
    const observer = new ResizeObserver(([entry]) => setWidth(Math.round(entry.contentRect.width)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}

function Lane({ marks, y, durationSec, width, className }: { marks: LaneMark[]; y: number; durationSec: number; width: number; className: string }) {
  return (
    <g className={className}>
      {marks.map((mark, i) => {
        const x = (mark.atSec / durationSec) * width;
        const w = ((mark.untilSec - mark.atSec) / durationSec) * width;
        return (
          <g key={`${mark.atSec}-${i}`}>
            <rect x={x} y={y} width={Math.max(0, w)} height={LANE_H} rx={3} className="lane__stretch" />
            {i > 0 && <path d={`M${x.toFixed(1)} ${y - 2}V${y + LANE_H + 2}`} className="lane__change" />}
            {mark.labelled && (
              <text x={x + 5} y={y + LANE_H - 4} className="lane__text">
                {mark.text}
              </text>
            )}
          </g>
        );
      })}
    </g>
  );
}

/** The words the section's hover/focus panel shows: its time, tags and its first window's caption. */
function sectionFacts(section: SongSection, result: Pick<ResultDocument, 'chunks' | 'tags' | 'analysis'>): { tags: string; caption?: string } {
  const { tags } = section;
  const { chunks } = result;
  // The key as the summary tells this section's (the stated key at its middle), not the raw measurement.
  const key = sectionKeyAt({ track: result.tags, analysis: result.analysis }, (section.startSec + section.endSec) / 2);
  const parts = [
    ...tempoKeyLevel(tags.bpm, key === undefined ? tags.key : key, tags.loudnessLufs),
    `energy ${Math.round(tags.energy * 100)}%`,
    `brightness ${(tags.spectralCentroidHz / 1000).toFixed(1)} kHz`,
  ];
  const chunk = chunks.find((c) => c.endSec > section.startSec && c.startSec < section.endSec && c.caption.trim());
  return { tags: parts.join(' · '), caption: chunk?.caption };
}

export interface TimelineProps {
  result: Pick<ResultDocument, 'file' | 'chunks' | 'sections' | 'tags' | 'analysis'>;
  durationSec: number;
  time: number;
  onSeek: (seconds: number) => void;
}

/**
 * Under the player: the sections as labelled bands (one Tab stop, arrows between them), the loudness curve with
 * beat ticks, lanes for tempo and key marked only where they change, and a playhead across all. Clicking
 * anywhere seeks there; a band seeks to its start.
 */
export function Timeline({ result, durationSec, time, onSeek }: TimelineProps) {
  const [boxRef, width] = useWidth<HTMLDivElement>();
  const sections = result.sections ?? [];
  const bands = useMemo(() => sectionBands(sections, durationSec, width, sectionTitle), [sections, durationSec, width]);
  const curve = useMemo(
    () => loudnessPath(result.analysis?.loudnessCurve ?? [], durationSec, width, CURVE_H),
    [result.analysis, durationSec, width],
  );
  const ticks = useMemo(() => (result.analysis ? beatTicks(result.analysis, durationSec, width) : { times: [], level: 'none' as const }), [result.analysis, durationSec, width]);
  const tempo = useMemo(() => (result.analysis ? tempoMarks(result, durationSec, width) : []), [result, durationSec, width]);
  const keys = useMemo(() => (result.analysis ? keyMarks(result, durationSec, width) : []), [result, durationSec, width]);
  const { itemProps } = useRovingFocus(bands.length, 'horizontal');
  const [pointed, setPointed] = useState<number | undefined>(undefined);

  const playing = bands.findIndex((band) => time >= band.section.startSec && time < band.section.endSec);
  const shown = bands[pointed ?? (playing >= 0 ? playing : 0)];
  const facts = shown ? sectionFacts(shown.section, result) : undefined;
  const left = `${Math.min(100, Math.max(0, (time / durationSec) * 100))}%`;

  const seekAtPointer = (event: MouseEvent<HTMLElement | SVGSVGElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    if (box.width > 0) onSeek(Math.max(0, Math.min(durationSec, ((event.clientX - box.left) / box.width) * durationSec)));
  };

  return (
    <div className="timeline" data-testid="timeline">
      <div className="timeline__box" ref={boxRef}>
        {bands.length > 0 && (
          <div className="timeline__sections" role="group" aria-label={`Sections: ${bands.length}. Arrow keys move between them, Enter plays one.`}>
            {bands.map((band, i) => (
              <button
                key={band.section.index}
                type="button"
                className={`band${i === playing ? ' band--current' : ''}`}
                data-testid="section-band"
                data-label={band.section.label}
                style={{ left: band.x, width: band.width, background: band.colour }}
                aria-label={`${band.title}, ${formatClock(band.section.startSec)} to ${formatClock(band.section.endSec)}`}
                aria-describedby="section-facts"
                aria-current={i === playing ? 'true' : undefined}
                onClick={() => onSeek(band.section.startSec)}
                onMouseEnter={() => setPointed(i)}
                onMouseLeave={() => setPointed(undefined)}
                onBlur={() => setPointed(undefined)}
                {...itemProps(i)}
                onFocus={() => {
                  itemProps(i).onFocus();
                  setPointed(i);
                }}
              >
                {band.visibleText}
              </button>
            ))}
          </div>
        )}
        <svg
          className="timeline__svg"
          width={width}
          height={SVG_H}
          viewBox={`0 0 ${Math.max(1, width)} ${SVG_H}`}
          role="img"
          aria-label={`Loudness over ${formatClock(durationSec)}${ticks.level !== 'none' ? `, ticks at ${ticks.level}` : ''}${tempo.length > 0 ? `; tempo ${tempo.map((m) => `${m.text} from ${formatClock(m.atSec)}`).join(', ')}` : ''}${keys.length > 0 ? `; key ${keys.map((m) => `${m.text} from ${formatClock(m.atSec)}`).join(', ')}` : ''}`}
          onClick={seekAtPointer}
        >
          <rect x={0} y={0} width={width} height={CURVE_H} className="curve__ground" />
          {curve && <path d={curve} className="curve" data-testid="loudness-curve" />}
          {ticks.times.length > 0 && <path d={ticksPath(ticks.times, durationSec, width, TICKS_TOP, TICKS_BOTTOM)} className="ticks" />}
          <Lane marks={tempo} y={TEMPO_Y} durationSec={durationSec} width={width} className="lane lane--tempo" />
          <Lane marks={keys} y={KEY_Y} durationSec={durationSec} width={width} className="lane lane--key" />
        </svg>
        <span className="timeline__playhead" style={{ left }} aria-hidden="true" />
      </div>
      <div className={`timeline__facts${pointed !== undefined ? ' timeline__facts--pointed' : ''}`} id="section-facts">
        {shown && facts ? (
          <>
            <span className="timeline__swatch" style={{ background: shown.colour }} aria-hidden="true" />
            <strong>{shown.title}</strong> <span className="muted">{shown.range}</span>
            <span className="timeline__tags"> · {facts.tags}</span>
            {facts.caption && <span className="timeline__caption">{facts.caption}</span>}
          </>
        ) : (
          <span className="muted">{result.sections ? 'No sections were found in this recording.' : 'Sections were not measured for this run.'}</span>
        )}
      </div>
    </div>
  );
}
