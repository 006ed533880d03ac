/**
 * Captions as subtitles: SRT and WebVTT writers, the cue list the site's timeline highlights from, and the
 * song's sections as WebVTT chapters (a `kind="chapters"` track: players show them as chapter marks).
 *
 * Windows can overlap (the last one is aligned to the end of the track), but a player shows every cue whose
 * time range contains the playhead, so each cue starts where the previous one ended: at any moment exactly
 * one caption is current. Captions are model output: they are written as text (escaped for WebVTT), on one
 * line, so no caption can end a cue early or inject markup.
 *
 * Browser-safe: no Node imports.
 */
import type { ResultChunk, ResultDocument } from './contract.ts';
import type { SectionName, SongSection } from './descriptors/types.ts';

export interface Cue {
  /** The window's index in the result. */
  index: number;
  startSec: number;
  endSec: number;
  text: string;
}

type CueSource = Pick<ResultChunk, 'index' | 'startSec' | 'endSec' | 'caption'>;

/** One cue per window with a caption, in time order, none overlapping the one before. */
export function captionCues(chunks: readonly CueSource[]): Cue[] {
  const cues: Cue[] = [];
  let previousEnd = 0;
  for (const chunk of [...chunks].sort((a, b) => a.startSec - b.startSec || a.index - b.index)) {
    const text = oneLine(chunk.caption);
    const startSec = Math.max(chunk.startSec, previousEnd);
    if (!text || chunk.endSec <= startSec) continue;
    cues.push({ index: chunk.index, startSec, endSec: chunk.endSec, text });
    previousEnd = chunk.endSec;
  }
  return cues;
}

/** The cue playing at `seconds`, if any. */
export function cueAt(cues: readonly Cue[], seconds: number): Cue | undefined {
  return cues.find((cue) => seconds >= cue.startSec && seconds < cue.endSec);
}

export function toSrt(result: Pick<ResultDocument, 'chunks'>): string {
  return captionCues(result.chunks)
    .map((cue, i) => `${i + 1}\n${timestamp(cue.startSec, ',')} --> ${timestamp(cue.endSec, ',')}\n${cue.text}\n`)
    .join('\n');
}

export function toWebVtt(result: Pick<ResultDocument, 'chunks'>): string {
  const cues = captionCues(result.chunks).map(
    (cue) => `${cue.index + 1}\n${timestamp(cue.startSec, '.')} --> ${timestamp(cue.endSec, '.')}\n${escapeVtt(cue.text)}\n`,
  );
  return ['WEBVTT\n', ...cues].join('\n');
}

/** A listener's words for the plain section names. */
const SECTION_NAME_WORDS: Record<SectionName, string> = {
  intro: 'Intro',
  outro: 'Outro',
  break: 'Quiet break',
  peak: 'Loudest part',
};

/** "Intro (A)", "Section B": the title a section has in the chapters and on the timeline. */
export function sectionTitle(section: Pick<SongSection, 'label' | 'name'>): string {
  return section.name ? `${SECTION_NAME_WORDS[section.name]} (${section.label})` : `Section ${section.label}`;
}

/** The sections as WebVTT chapters, one cue per section in time order; a document with no sections has no cues. */
export function toWebVttChapters(result: Pick<ResultDocument, 'sections'>): string {
  const cues = [...(result.sections ?? [])]
    .filter((section) => section.endSec > section.startSec)
    .sort((a, b) => a.startSec - b.startSec)
    .map((section, i) => `${i + 1}\n${timestamp(section.startSec, '.')} --> ${timestamp(section.endSec, '.')}\n${escapeVtt(oneLine(sectionTitle(section)))}\n`);
  return ['WEBVTT\n', ...cues].join('\n');
}

/** HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT). */
export function timestamp(seconds: number, separator: ',' | '.'): string {
  const totalMs = Math.max(0, Math.round(seconds * 1000));
  const ms = totalMs % 1000;
  const totalSec = Math.floor(totalMs / 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(Math.floor(totalSec / 3600))}:${pad(Math.floor(totalSec / 60) % 60)}:${pad(totalSec % 60)}${separator}${pad(ms, 3)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
