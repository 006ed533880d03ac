/**
 * The result page's timeline, as geometry: what to draw at a given pixel width, computed once per width from
 * the result document. Browser-safe and pure, so the drawing never does work proportional to the audio: the
 * loudness curve (one value a second, 3,600 for an hour) is reduced to at most one point per CURVE_PX_PER_POINT
 * pixels, beat ticks thin to the first metrical level that leaves MIN_TICK_GAP_PX between ticks, and a label
 * is drawn only where its text fits its stretch.
 */
import type { ResultDocument } from '#core/contract';
import type { SongSection } from '#core/descriptors/types';
import { formatClock } from '#core/run-steps';
import { openingTempo, statedKey } from '#core/song-shape';
import { NO_CLEAR_KEY } from '#core/vocabulary';

/** Thresholds in one place. */
export const TIMELINE = {
  /** At most one curve point per this many pixels. */
  CURVE_PX_PER_POINT: 2,
  /** Ticks closer than this blur into a bar: thin them to the next level (bars, then groups of bars). */
  MIN_TICK_GAP_PX: 6,
  /** The loudness axis: this far below the loudest second is the bottom of the curve. */
  CURVE_RANGE_LU: 30,
  /** Approximate width of one character of the 12 px labels, and the padding either side of a label. */
  CHAR_PX: 7,
  LABEL_PAD_PX: 6,
} as const;

/** Eight label colours, far apart in hue, light enough for dark text on them (WCAG AA at 12 px). */
export const SECTION_COLOURS = ['#b9c6ff', '#ffd39a', '#a8e6c3', '#f6b3c8', '#c9b6f2', '#9fdcec', '#e6e39a', '#f2b8a0'] as const;

/** The colour of a label: "A" the first, "B" the second …; the same label always the same colour. */
export function labelColour(label: string): string {
  const code = label.toUpperCase().charCodeAt(0) - 65;
  const index = Number.isFinite(code) && code >= 0 ? code : [...label].reduce((sum, c) => sum + c.charCodeAt(0), 0);
  return SECTION_COLOURS[index % SECTION_COLOURS.length];
}

/** Whether `text` fits in `widthPx` as a 12 px label. */
export function fits(text: string, widthPx: number): boolean {
  return text.length * TIMELINE.CHAR_PX + 2 * TIMELINE.LABEL_PAD_PX <= widthPx;
}

/** The track's length as the timeline draws it. */
export function timelineDuration(result: Pick<ResultDocument, 'file' | 'chunks' | 'sections'>): number {
  return Math.max(result.file.durationSec, ...result.chunks.map((c) => c.endSec), ...(result.sections ?? []).map((s) => s.endSec), 1);
}

/**
 * The loudness curve as an SVG area path in a box of `width`×`height`: each point the loudest second of its
 * bucket (peaks survive the reduction), the top the loudest second, the bottom CURVE_RANGE_LU below it.
 */
export function loudnessPath(curve: readonly number[], durationSec: number, width: number, height: number): string {
  if (curve.length === 0 || width <= 0) return '';
  const loudest = Math.max(...curve);
  if (!(loudest > -70)) return '';
  const floor = loudest - TIMELINE.CURVE_RANGE_LU;
  const points = Math.max(2, Math.min(curve.length, Math.floor(width / TIMELINE.CURVE_PX_PER_POINT)));
  const perPoint = curve.length / points;
  const y = (lufs: number) => height - (Math.max(0, Math.min(1, (lufs - floor) / (loudest - floor))) * (height - 2));
  // One value a second, stored for whole seconds: value i covers [i, i+1) of the track.
  const xOf = (second: number) => Math.min(width, (second / durationSec) * width);
  let d = `M0 ${height}`;
  for (let p = 0; p < points; p++) {
    const from = Math.floor(p * perPoint);
    const to = Math.max(from + 1, Math.floor((p + 1) * perPoint));
    let max = -Infinity;
    for (let i = from; i < to && i < curve.length; i++) max = Math.max(max, curve[i]);
    const x = xOf((from + to) / 2);
    d += `L${x.toFixed(1)} ${y(max).toFixed(1)}`;
  }
  return `${d}L${xOf(curve.length).toFixed(1)} ${height}Z`;
}

export interface Ticks {
  /** Times of the ticks drawn, in seconds. */
  times: number[];
  /** What each tick is: a beat, a bar's first beat, or every n-th bar. */
  level: 'beats' | 'bars' | `every ${number} bars` | 'none';
}

/** Beat ticks at a readable density: beats where they stand MIN_TICK_GAP_PX apart, else bars, else every 2nd, 4th, 8th … bar. */
export function beatTicks(analysis: Pick<ResultDocument['analysis'], 'beats' | 'downbeats'>, durationSec: number, width: number): Ticks {
  const { beats } = analysis;
  if (beats.length < 2 || width <= 0) return { times: [], level: 'none' };
  const pxPerSec = width / durationSec;
  const beatGap = ((beats[beats.length - 1] - beats[0]) / (beats.length - 1)) * pxPerSec;
  if (beatGap >= TIMELINE.MIN_TICK_GAP_PX) return { times: [...beats], level: 'beats' };
  const bars = analysis.downbeats.map((i) => beats[i]).filter((t) => t !== undefined);
  if (bars.length < 2) return { times: [], level: 'none' };
  const barGap = ((bars[bars.length - 1] - bars[0]) / (bars.length - 1)) * pxPerSec;
  if (barGap >= TIMELINE.MIN_TICK_GAP_PX) return { times: bars, level: 'bars' };
  let every = 2;
  while (barGap * every < TIMELINE.MIN_TICK_GAP_PX) every *= 2;
  return { times: bars.filter((_, i) => i % every === 0), level: `every ${every} bars` };
}

/** Ticks as one SVG path (one element however many ticks). */
export function ticksPath(times: readonly number[], durationSec: number, width: number, top: number, bottom: number): string {
  return times.map((t) => `M${((t / durationSec) * width).toFixed(1)} ${top}V${bottom}`).join('');
}

export interface LaneMark {
  atSec: number;
  /** Where its stretch ends (the next mark, or the end of the track). */
  untilSec: number;
  text: string;
  /** Whether the text fits in its stretch at this width. */
  labelled: boolean;
}

/** Marks only where something changes: consecutive equal values are one stretch. */
function changeMarks(stretches: { atSec: number; text: string }[], durationSec: number, width: number): LaneMark[] {
  const merged = stretches.filter((s, i) => i === 0 || s.text !== stretches[i - 1].text);
  return merged.map((mark, i) => {
    const untilSec = i + 1 < merged.length ? merged[i + 1].atSec : durationSec;
    return { ...mark, untilSec, labelled: fits(mark.text, ((untilSec - mark.atSec) / durationSec) * width) };
  });
}

/** The tempo lane: the opening tempo (as the summary states it), then a mark at each change the beat grid lists. */
export function tempoMarks(result: Pick<ResultDocument, 'tags' | 'analysis'>, durationSec: number, width: number): LaneMark[] {
  const changes = result.analysis.tempoChanges ?? [];
  const first = openingTempo(result.tags, result.analysis);
  if (first === null || first === undefined) return [];
  const stretches = [{ atSec: 0, text: `${Math.round(first)} BPM` }, ...changes.map((c) => ({ atSec: c.atSec, text: `${Math.round(c.toBpm)} BPM` }))];
  return changeMarks(stretches, durationSec, width);
}

/**
 * The key lane: a mark where the key sections change key, each key as the captions and the summary state it (a
 * key section under the stated confidence is "no clear key" there too).
 */
export function keyMarks(result: Pick<ResultDocument, 'analysis'>, durationSec: number, width: number): LaneMark[] {
  const sections = result.analysis.keySections ?? [];
  return changeMarks(
    sections.map((s) => ({ atSec: s.startSec, text: statedKey(s.key, s.confidence) ?? NO_CLEAR_KEY })),
    durationSec,
    width,
  );
}

export interface SectionBand {
  section: SongSection;
  x: number;
  width: number;
  colour: string;
  title: string;
  /** The label drawn inside the band: the title, the letter alone, or nothing when not even that fits. */
  visibleText: string;
  /** "0:20–1:35". */
  range: string;
}

export function sectionBands(sections: readonly SongSection[], durationSec: number, width: number, title: (s: SongSection) => string): SectionBand[] {
  return [...sections]
    .sort((a, b) => a.startSec - b.startSec)
    .map((section) => {
      const x = (section.startSec / durationSec) * width;
      const w = Math.max(0, ((section.endSec - section.startSec) / durationSec) * width);
      const full = title(section);
      const visibleText = fits(full, w) ? full : fits(section.label, w) ? section.label : '';
      return { section, x, width: w, colour: labelColour(section.label), title: full, visibleText, range: `${formatClock(section.startSec)}–${formatClock(section.endSec)}` };
    });
}

/** The section playing at `seconds`. */
export function sectionAt<T extends Pick<SongSection, 'startSec' | 'endSec'>>(sections: readonly T[], seconds: number): T | undefined {
  return sections.find((s) => seconds >= s.startSec && seconds < s.endSec) ?? (seconds >= (sections.at(-1)?.endSec ?? Infinity) ? sections.at(-1) : undefined);
}
