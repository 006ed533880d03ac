/**
 * The shape of a song, read off the measurements: how loud it is against the track itself and against the
 * usual playback reference, where it builds, breaks down, goes quiet, changes key or tempo. The built-in
 * captions (core/builtin-captioner.ts) and the local summary (core/summary.ts) both speak from this, so they
 * never disagree, and neither narrates what the whole-track analysis does not show (a window's key differing
 * from the one before is a modulation only where the key sections have a boundary; a tempo change only where
 * the beat grid lists one). The words and their thresholds are core/vocabulary.ts's.
 */
import { formatClock } from './run-steps.ts';
import type { Meter, SongSection, TempoChange, TrackAnalysis, TrackTags, WindowTags } from './descriptors/types.ts';
import {
  KEY_PATH_SHOWN,
  keyRelationStory,
  beatStated,
  MIN_KEY_CONFIDENCE,
  MIN_METER_CONFIDENCE,
  OPENING_TEMPO_MIN_INTERVALS,
  OPENING_TEMPO_SEC,
  SAME_TEMPO_SHARE,
  TRACK_LEVEL,
  type LevelClass,
} from './vocabulary.ts';

export interface TrackContext {
  track: TrackTags;
  analysis: TrackAnalysis;
  /** The song's sections (manifest.sections); absent in manifests written before them. */
  sections?: readonly SongSection[];
}

export interface TimedWindow {
  startSec: number;
  endSec: number;
  tags: WindowTags;
}

/** The track's own scale: its integrated loudness (the body of the song) and its loudest window. */
export interface LevelScale {
  reference: number;
  loudest: number;
}

export function levelScale(context: TrackContext, windows: readonly TimedWindow[]): LevelScale {
  const levels = windows.map((w) => w.tags.loudnessLufs).filter((v): v is number => v !== null);
  const curve = (context.analysis.loudnessCurve ?? []).filter((v) => v > -70);
  const reference = context.track.loudnessLufs ?? (curve.length > 0 ? percentile(curve, 0.5) : levels.length > 0 ? percentile(levels, 0.5) : -70);
  const loudest = levels.length > 0 ? Math.max(...levels) : reference;
  return { reference, loudest };
}

export function levelClass(tags: WindowTags, scale: LevelScale): LevelClass {
  if (isSilent(tags)) return 'silent';
  const lufs = tags.loudnessLufs!;
  if (lufs <= scale.reference - TRACK_LEVEL.veryQuietBelowLu) return 'very quiet';
  if (lufs <= scale.reference - TRACK_LEVEL.quietBelowLu) return 'quiet';
  // The loudest stretch only stands out when it is well above the body of the track.
  const standsOut = scale.loudest - scale.reference >= TRACK_LEVEL.peakStandsOutLu;
  if (lufs >= scale.loudest - TRACK_LEVEL.peakWithinLoudestLu && lufs >= scale.reference + TRACK_LEVEL.peakAboveTrackLu && standsOut) return 'peak';
  return 'body';
}

export const isQuiet = (c: LevelClass) => c === 'quiet' || c === 'very quiet' || c === 'silent';

/**
 * A window whose file is clearly audible while its mono mix is near silence: the channels cancel when summed
 * (one is the other inverted, or nearly). The 16 kHz mono signal — which the captioning model hears, and the
 * beat and key are measured on — has nothing in it, though a stereo listener hears music.
 */
export function cancelsInMono(tags: WindowTags): boolean {
  return tags.loudnessLufs !== null && tags.loudnessLufs >= AUDIBLE_IN_FILE_LUFS && tags.silenceRatio >= TRACK_LEVEL.silentShare;
}
/** File loudness above this with a silent mono mix can only be cancellation: real near-silence sits 20 dB lower. */
const AUDIBLE_IN_FILE_LUFS = -40;

export function isSilent(tags: WindowTags): boolean {
  return tags.loudnessLufs === null || tags.silenceRatio >= TRACK_LEVEL.silentShare;
}

export function hasBeat(tags: WindowTags): boolean {
  return beatStated(tags) && !isSilent(tags);
}

/** The beat as told up to window i: a window told neither way keeps the one before it. */
export function beatToldAt(narrated: ReadonlyArray<boolean | null>, i: number): boolean {
  for (let k = i; k >= 0; k--) if (narrated[k] !== null) return narrated[k] as boolean;
  return false;
}

/**
 * Whether each window's beat is told as there (true), gone (false), or neither (null: the window's own measurement
 * wavers, and the captions and the summary say nothing of the beat there). A lone window without a beat between two
 * with one, while the track's beat grid runs on through it (beats over at least half of it), is an orchestral swell
 * or a held chord inside the beat, not the beat dropping out and coming back within 20 s; a lone window with a beat
 * between two without is a loose rhythm lining up for a moment. A lone window where the grid itself breaks off (the
 * tracker dropped its beats: a real stop), or that falls quiet or comes back to full level, is told as it is. On a
 * 9-minute orchestral recording the captions said "the steady beat drops out" and "the beat comes back" eleven times.
 */
export function narratedBeats(windows: readonly TimedWindow[], beats: readonly number[], quiet: readonly boolean[]): Array<boolean | null> {
  const raw = windows.map((w) => hasBeat(w.tags));
  const period = beats.length > 1 ? median(beats.slice(1).map((t, k) => t - beats[k])) : Infinity;
  const gridRunsThrough = (w: TimedWindow) => {
    const inside = beats.filter((t) => t >= w.startSec && t < w.endSec).length;
    return inside * period >= 0.5 * (w.endSec - w.startSec);
  };
  return raw.map((beat, i) => {
    if (i === 0 || i === raw.length - 1) return beat;
    const [before, after] = [windows[i - 1], windows[i + 1]];
    if (isSilent(windows[i].tags) || isSilent(before.tags) || isSilent(after.tags)) return beat;
    // A window that falls quiet or comes back to full level is an event of its own: its beat is told as measured.
    if (quiet[i] !== quiet[i - 1] || quiet[i] !== quiet[i + 1]) return beat;
    if (raw[i - 1] !== raw[i + 1] || raw[i - 1] === beat) return beat;
    return beat || gridRunsThrough(windows[i]) ? null : beat;
  });
}

export function statedKey(key: string | null | undefined, confidence: number): string | null {
  return key && confidence >= MIN_KEY_CONFIDENCE ? key : null;
}

export function statedMeter(track: TrackTags): Meter | null {
  return track.meter && (track.meterConfidence ?? 0) >= MIN_METER_CONFIDENCE && track.bpm !== null ? track.meter : null;
}

/**
 * The tempo a track opens at: the track's where the beat grid lists no change; otherwise the grid's own over its first
 * OPENING_TEMPO_SEC before the first change (its median beat interval there; over all the beats before the change
 * where those are too few). Not that change's `fromBpm`: that is the tempo just before the change, and the grid may
 * drift on the way there by less than a listed change (a piece that opens at 120 and slows to 108 before stepping up
 * to 135 opens at 120, not at 108). Where the two are the same tempo (under SAME_TEMPO_SHARE apart), the change's
 * own start is the opening tempo, so the story tells one number.
 */
export function openingTempo(track: Pick<TrackTags, 'bpm'>, analysis: Pick<TrackAnalysis, 'beats' | 'tempoChanges'>): number | null {
  const changes = analysis.tempoChanges ?? [];
  if (track.bpm === null || changes.length === 0) return track.bpm;
  const first = changes.reduce((a, b) => (b.atSec < a.atSec ? b : a));
  const before = (analysis.beats ?? []).filter((t) => t < first.atSec);
  const intervalsOf = (beats: number[]) => beats.slice(1).map((t, i) => t - beats[i]);
  const openingSpan = intervalsOf(before.filter((t) => t < before[0] + OPENING_TEMPO_SEC));
  const intervals = openingSpan.length >= OPENING_TEMPO_MIN_INTERVALS ? openingSpan : intervalsOf(before);
  if (intervals.length < OPENING_TEMPO_MIN_INTERVALS) return first.fromBpm;
  const opening = 60 / median(intervals);
  // Within the same tempo of the change's own start it is that start: one number, not "starting at about 102" and
  // then "steps up from about 98" (Hedgewars' City).
  return Math.abs(opening / first.fromBpm - 1) < SAME_TEMPO_SHARE ? first.fromBpm : opening;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

/** The tempo in effect at a time: the opening tempo, or the one the last tempo change before it reached. */
export function tempoAt(context: TrackContext, atSec: number): number | null {
  let bpm = openingTempo(context.track, context.analysis);
  const changes = [...(context.analysis.tempoChanges ?? [])].sort((a, b) => a.atSec - b.atSec);
  for (const change of changes) if (change.atSec <= atSec) bpm = change.toBpm;
  return bpm;
}

/** The stated key of the key section at a time (null where the section has no clear key). */
export function sectionKeyAt(context: TrackContext, atSec: number): string | null | undefined {
  const sections = context.analysis.keySections ?? [];
  if (sections.length === 0) return undefined;
  const section = sections.find((s) => atSec >= s.startSec && atSec < s.endSec) ?? sections[sections.length - 1];
  return statedKey(section.key, section.confidence);
}

/**
 * Where the whole piece starts over (analysis.loop): the time each later pass begins, before the end. The story of a
 * looped track is told over its first pass; each restart is told where it comes.
 */
export function loopRestarts(analysis: Pick<TrackAnalysis, 'loop'>, durationSec: number): number[] {
  const loop = analysis.loop;
  if (!loop || !(loop.periodSec > 0)) return [];
  const out: number[] = [];
  // A restart with less than a window of the piece after it is the track's last seconds, not another time through.
  for (let at = loop.startSec + loop.periodSec; at < durationSec - LOOP_RESTART_MIN_SEC; at += loop.periodSec) out.push(at);
  return out;
}

/** A time through that begins with less than this left (a caption window) is not told. */
const LOOP_RESTART_MIN_SEC = 10;

/** The end of the loop's first pass (Infinity without a loop): what the story tells before the piece repeats. */
export function firstPassEnd(analysis: Pick<TrackAnalysis, 'loop'>): number {
  return analysis.loop ? analysis.loop.startSec + analysis.loop.periodSec : Infinity;
}

/** A loop's period as told: in whole seconds (`unit` "seconds" in a sentence, "s" in a tag) under a minute and a half, else as a clock time. */
export function loopPeriodWords(periodSec: number, unit: string): string {
  return periodSec < 90 ? `${Math.round(periodSec)} ${unit}` : formatClock(periodSec);
}

/** How many times, to the nearest half: "twice", "5 times", "2½ times". */
export function timesWords(passes: number): string {
  const halves = Math.max(2, Math.round(passes * 2));
  const whole = Math.floor(halves / 2);
  const half = halves % 2 === 1 ? '½' : '';
  return whole === 2 && !half ? 'twice' : `${whole}${half} times`;
}

/**
 * The loop as a fact, without a closing stop: "It repeats as a whole every 4:00 (5 times in all)", after any opening
 * before it. "As a whole", not "the same music": the loop is found in harmony and sound, which a new melody over the
 * same backing repeats too.
 */
export function loopFact(loop: NonNullable<TrackAnalysis['loop']>): string {
  const period = loopPeriodWords(loop.periodSec, 'seconds');
  const times = timesWords(loop.passes);
  const inAll = times === 'twice' ? 'twice' : `${times} in all`;
  return loop.startSec >= 5
    ? `After ${lengthWithArticle(loop.startSec)} opening, the music repeats as a whole every ${period} (${inAll})`
    : `It repeats as a whole every ${period} (${inAll})`;
}

/** Ordinal words, so that "into the third minute" differs from "into the second" once numbers are removed. */
export function ordinal(n: number): string {
  const words = ['zeroth', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth'];
  return words[n] ?? `${n}th`;
}

export interface KeyChange {
  atSec: number;
  from: string | null;
  to: string | null;
}

/** Boundaries between key sections whose stated keys differ: the modulations. */
export function keyChanges(analysis: TrackAnalysis): KeyChange[] {
  const sections = analysis.keySections ?? [];
  const out: KeyChange[] = [];
  for (let i = 1; i < sections.length; i++) {
    const from = statedKey(sections[i - 1].key, sections[i - 1].confidence);
    const to = statedKey(sections[i].key, sections[i].confidence);
    if (from !== to) out.push({ atSec: sections[i].startSec, from, to });
  }
  return out;
}

/** A key path as the CLI's header and the site's tag show it: "D minor → F major", or past KEY_PATH_SHOWN keys "C# minor → D minor → … → E minor". */
export function keyPathWords(keys: readonly string[]): string {
  return keys.length <= KEY_PATH_SHOWN ? keys.join(' → ') : [...keys.slice(0, 2), '…', keys[keys.length - 1]].join(' → ');
}

/** The distinct keys of the sections, in order of first appearance (the stated ones). */
export function sectionKeys(analysis: TrackAnalysis): string[] {
  const keys: string[] = [];
  for (const section of analysis.keySections ?? []) {
    const key = statedKey(section.key, section.confidence);
    if (key && !keys.includes(key)) keys.push(key);
  }
  return keys;
}

/**
 * The key a summary opens in, as its first sentence states it: the first stated key, or null where the key path
 * starts without a clear key and moves on ("with no clear key at first", the shape then telling where it settles)
 * or where no key is clear at all. The section story tells its key changes from this one.
 */
export function openingKey(context: Pick<TrackContext, 'track' | 'analysis'>): string | null {
  const keys = sectionKeys(context.analysis);
  const opening = context.analysis.keySections?.[0];
  const opensUnclear = opening !== undefined && statedKey(opening.key, opening.confidence) === null;
  // Moving on to one key is enough (Colobot's Humanitarian: no clear key for two minutes, then E minor alone, read
  // "starting … in E minor" and "settles in E minor at 2:09").
  if (opensUnclear && keys.length > 0) return null;
  return keys[0] ?? statedKey(context.track.key, context.track.keyConfidence);
}

/** Where window i's own time starts: the tail-aligned last window overlaps the one before it, which keeps that time. */
export function windowOwnStart(windows: readonly TimedWindow[], i: number): number {
  return i > 0 ? Math.max(windows[i].startSec, windows[i - 1].endSec) : windows[i].startSec;
}

/** A tempo change and the window that tells it. */
export interface ToldTempoChange {
  change: TempoChange;
  /** The window whose caption tells it (and where the summary's shape places it). */
  window: number;
  /** Told with the beat's return: a step that landed while the beat was out. */
  withBeatReturn: boolean;
}

/**
 * Where each tempo change is told. A step across a stretch without the beat lands on the grid's first beats back,
 * often a few seconds before the window whose own measurement hears the beat again: told in its own window it read
 * "The tempo steps up from about 104 to 130 BPM", a window before "The beat comes back" (Colobot's Humanitarian). Such
 * a step is told where the beat comes back, and with it. Windows are owned from the end of the one before (the
 * tail-aligned last window overlaps it), as the captions own them.
 */
export function toldTempoChanges(windows: readonly TimedWindow[], narrated: ReadonlyArray<boolean | null>, changes: readonly TempoChange[]): ToldTempoChange[] {
  const told: ToldTempoChange[] = [];
  for (const change of changes) {
    const i = windows.findIndex((w, k) => change.atSec >= windowOwnStart(windows, k) && change.atSec < w.endSec);
    if (i < 0 || change.atSec <= 0) continue;
    const beatHere = beatToldAt(narrated, i);
    const beatBefore = i > 0 && beatToldAt(narrated, i - 1);
    if (change.kind === 'step' && !beatHere && i + 1 < windows.length && beatToldAt(narrated, i + 1)) told.push({ change, window: i + 1, withBeatReturn: true });
    else told.push({ change, window: i, withBeatReturn: change.kind === 'step' && beatHere && !beatBefore && i > 0 });
  }
  return told;
}

/** ", now at about 130 BPM (up from 104)": the tempo a beat comes back at, after a step while it was out. */
export function tempoOnReturnWords(change: TempoChange): string {
  return `, now at about ${Math.round(change.toBpm)} BPM (${change.toBpm > change.fromBpm ? 'up' : 'down'} from ${Math.round(change.fromBpm)})`;
}

export function tempoChangeWords(change: TempoChange): string {
  const faster = change.toBpm > change.fromBpm;
  const from = Math.round(change.fromBpm);
  const to = Math.round(change.toBpm);
  return change.kind === 'gradual'
    ? `the tempo gradually ${faster ? 'speeds up' : 'slows'} from about ${from} to ${to} BPM`
    : `the tempo ${faster ? 'steps up' : 'drops'} from about ${from} to ${to} BPM`;
}

/** Past this many sections the story tells the first ones and counts the rest. */
const STORY_MAX_SECTIONS = 10;

function seconds(value: number): string {
  return value < 90 ? `${Math.round(value)} s` : formatClock(value);
}

/** "a" or "an" before a length as `seconds` writes it, by how it is said: an 8 s, an 11 s, an 18 s, an 80 s intro. */
function lengthWithArticle(value: number): string {
  const text = seconds(value);
  return `${/^(8|1[18]\b)/.test(text) ? 'an' : 'a'} ${text}`;
}

/**
 * A part's level word against the main part's ("quieter ", "louder " or ""), as the section story tells it: a
 * difference of TRACK_LEVEL.partLu or more.
 */
function partLevels(sections: readonly SongSection[]): (s: SongSection) => '' | 'quieter ' | 'louder ' {
  const main = mainLabel(sections);
  const mainLevels = sections.filter((s) => s.label === main && s.tags.loudnessLufs !== null).map((s) => s.tags.loudnessLufs!);
  const mainLevel = mainLevels.length ? mainLevels.reduce((a, b) => a + b, 0) / mainLevels.length : null;
  return (s) => {
    const level = s.tags.loudnessLufs;
    if (s.label === main || mainLevel === null || level === null) return '';
    return level <= mainLevel - TRACK_LEVEL.partLu ? 'quieter ' : level >= mainLevel + TRACK_LEVEL.partLu ? 'louder ' : '';
  };
}

/**
 * Whether the song's sections tell it apart by level: an intro, a break, a loudest part or an outro (each named only
 * where the loudness shows one), or a part quieter or louder than the main one. A summary that tells such a part
 * must not also say the level stays even.
 */
export function sectionsDifferInLevel(context: TrackContext): boolean {
  const sections = context.sections ?? [];
  if (sections.length < 2) return false;
  const levelOf = partLevels(sections);
  return sections.some((s) => s.name !== null || levelOf(s) !== '');
}

/** The label whose sections last longest in all: the song's main material. */
export function mainLabel(sections: readonly SongSection[]): string | null {
  const totals = new Map<string, number>();
  for (const s of sections) totals.set(s.label, (totals.get(s.label) ?? 0) + s.endSec - s.startSec);
  let best: string | null = null;
  for (const [label, total] of totals) if (best === null || total > totals.get(best)!) best = label;
  return best;
}

/** The section holding a time (the last one past the end). */
export function sectionAt(sections: readonly SongSection[], atSec: number): SongSection | undefined {
  return sections.find((s) => atSec >= s.startSec && atSec < s.endSec) ?? sections[sections.length - 1];
}

/**
 * The song told in its sections, as sentences: "After a 20 s intro, the main part (A) enters at 0:20, at about
 * 96 BPM in A minor; a quieter part B follows at 0:52, in C major (the relative major); A returns at 1:40." Keys and
 * tempi are the stated ones of the key sections and beat grid at the section (as the captions state them); levels
 * are compared with the main part. Empty for fewer than two sections.
 */
export function sectionStory(context: TrackContext): string[] {
  const sections = context.sections ?? [];
  if (sections.length < 2) return [];
  const main = mainLabel(sections);
  const levelOf = partLevels(sections);
  const beat = beatStated(context.track);
  const keyOf = (s: SongSection) => sectionKeyAt(context, (s.startSec + s.endSec) / 2) ?? null;
  const tempoOf = (s: SongSection) => (beat && s.tags.bpm !== null ? tempoAt(context, s.startSec + 0.01) : null);
  const part = (s: SongSection) => (s.label === main ? `the main part (${s.label})` : `part ${s.label}`);
  const firstOf = new Map<string, SongSection>();
  const clauses: string[] = [];
  let previous: SongSection | undefined;
  // The opening tempo and key are stated once before the story (as the summary's first sentence does): only
  // differences from them are told.
  let lastKey = openingKey(context);
  // Every key the story has stated, the opening one first: a new part in one of them is the music coming home.
  const keysTold = new Set<string>(lastKey ? [lastKey] : []);
  let lastBpm = beat ? tempoAt(context, 0) : null;
  // A single section past the limit is told: counting it ("1 more section follows") takes as many words.
  const told = sections.length > STORY_MAX_SECTIONS + 1 ? sections.slice(0, STORY_MAX_SECTIONS) : sections;
  // A part is "quieter" or "louder" against the main part, so only once the story has named the main part: before
  // that (or where the main part is only ever told as the loudest part), a reader would take it against the part
  // before, which an orchestral piece opening softly and growing proves false ("a quieter part B" after a quiet start).
  let mainTold = false;
  for (const [i, s] of told.entries()) {
    const at = formatClock(s.startSec);
    const seen = firstOf.get(s.label);
    if (!seen) firstOf.set(s.label, s);
    // What is new about this part against the one before it: its key, its tempo; its level against the main part.
    const details: string[] = [];
    // Against the last tempo and key told (the opening ones to begin with).
    const key = keyOf(s);
    const bpm = tempoOf(s);
    if (bpm !== null && (lastBpm === null || Math.abs(bpm - lastBpm) / lastBpm > SAME_TEMPO_SHARE)) details.push(`at about ${Math.round(bpm)} BPM`);
    if (key && key !== lastKey) {
      const relation = lastKey ? keyRelationStory(lastKey, key) : null;
      // A part heard before: "back in" the key it had then, "now in" another one. A new part in a key told before is
      // "back in" it too: Ab major after Eb major is the subdominant only to a reader who has forgotten the opening.
      if (seen) details.push(`${keyOf(seen) === key ? 'back' : 'now'} in ${key}`);
      else details.push(keysTold.has(key) ? `back in ${key}` : relation ? `in ${key} (${relation})` : `in ${key}`);
    }
    if (bpm !== null) lastBpm = bpm;
    if (key) {
      lastKey = key;
      keysTold.add(key);
    }
    const detail = details.length ? `, ${details.join(' ')}` : '';
    const adjective = mainTold ? levelOf(s) : '';
    // Whole seconds as the clock times show them (an intro ending at 16.7 s is a 16 s intro before 0:16).
    const length = Math.floor(s.endSec) - Math.floor(s.startSec);
    if (i === 0 && s.name === 'intro') {
      clauses.push(`after ${lengthWithArticle(length)} intro`);
    } else if (i === 0) {
      clauses.push(`it opens with ${part(s)}${detail}`);
    } else if (s.name === 'outro') {
      clauses.push(`it ends with ${lengthWithArticle(length)} outro from ${at}`);
    } else if (s.name === 'break' && seen && seen.name !== 'break') {
      // A part first told as another (the main part, part B) is that part coming back, now quiet: not a second name for it.
      clauses.push(`${s.label} returns at ${at} as a quiet break${detail}`);
    } else if (s.name === 'peak' && seen && seen.name !== 'peak') {
      clauses.push(`${s.label} returns at ${at}, at its loudest${detail}`);
    } else if (s.name === 'break') {
      clauses.push(`${seen ? `the quiet break (${s.label}) comes back` : `a quiet break (${s.label}) comes`} at ${at}${detail}`);
    } else if (s.name === 'peak') {
      clauses.push(`the loudest part (${s.label}) ${seen ? 'comes back' : 'arrives'} at ${at}${detail}`);
    } else if (seen) {
      clauses.push(`${s.label} returns at ${at}${detail}`);
    } else if (i === 1 && previous?.name === 'intro') {
      clauses.push(`${part(s)} enters at ${at}${detail}`);
    } else {
      clauses.push(`a ${adjective}${s.label === main ? `main part (${s.label})` : `part ${s.label}`} follows at ${at}${detail}`);
    }
    if (clauses[clauses.length - 1].includes('main part (')) mainTold = true;
    previous = s;
  }
  const rest = sections.length - told.length;
  if (rest > 0) {
    const returns = sections.slice(STORY_MAX_SECTIONS).filter((s) => firstOf.has(s.label)).length;
    const back = returns === 1 ? ', one of them bringing back an earlier part' : returns > 1 ? `, ${returns} of them bringing back earlier parts` : '';
    clauses.push(`${rest} more sections follow${back}`);
  }
  // Two clauses a sentence, the intro's with the part it leads into.
  const sentences: string[] = [];
  for (let i = 0; i < clauses.length;) {
    const joinIntro = clauses[i].startsWith('after a') && i + 1 < clauses.length;
    const take = joinIntro ? 2 : Math.min(2, clauses.length - i);
    const text = joinIntro ? `${clauses[i]}, ${clauses[i + 1]}` : clauses.slice(i, i + take).join('; ');
    sentences.push(`${text.charAt(0).toUpperCase()}${text.slice(1)}.`);
    i += take;
  }
  return sentences;
}

/** A moment in the song's shape, with its time. */
export type ShapeEvent =
  | { kind: 'quiet-opening'; atSec: number }
  | { kind: 'build'; atSec: number; endSec: number }
  | { kind: 'break'; atSec: number; endSec: number; beatDrops: boolean; silent: boolean }
  | { kind: 'beat-out'; atSec: number; endSec: number }
  | { kind: 'return'; atSec: number; tempo?: TempoChange }
  | { kind: 'peak'; atSec: number; endSec: number }
  | { kind: 'modulation'; atSec: number; from: string | null; to: string | null }
  | { kind: 'tempo'; atSec: number; change: TempoChange }
  | { kind: 'fade'; atSec: number; silent: boolean };

/** What the words read off each window: its level against the track's own, and its beat as told (narratedBeats). */
export interface WindowReadings {
  classes: LevelClass[];
  beats: Array<boolean | null>;
  /** Where each tempo change is told (toldTempoChanges), for the captions and the shape alike. */
  tempo: ToldTempoChange[];
}

export function windowReadings(windows: readonly TimedWindow[], context: TrackContext): WindowReadings {
  const scale = levelScale(context, windows);
  const classes = windows.map((w) => levelClass(w.tags, scale));
  const beats = narratedBeats(windows, context.analysis.beats ?? [], classes.map(isQuiet));
  return { classes, beats, tempo: toldTempoChanges(windows, beats, context.analysis.tempoChanges ?? []) };
}

/**
 * The song's shape over its windows. The windows' own spans overlap only at the tail-aligned last one; each
 * event is placed at the start of the window it happens in (or at the analysis' own time for key and tempo).
 * `readings` are windowReadings(windows, context), passed in by a caller that has them already.
 */
export function songShape(windows: readonly TimedWindow[], context: TrackContext, readings = windowReadings(windows, context)): ShapeEvent[] {
  const { classes, beats: narrated } = readings;
  const trackHasBeat = windows.some((w) => hasBeat(w.tags));
  const beatAt = (i: number) => beatToldAt(narrated, i);
  const events: ShapeEvent[] = [];
  const audible = (i: number) => classes[i] !== 'silent';

  // A quiet or silent opening before the body of the song.
  let first = 0;
  while (first < windows.length && isQuiet(classes[first])) first++;
  if (first > 0 && first < windows.length) events.push({ kind: 'quiet-opening', atSec: windows[0].startSec });

  // Fade: the last windows quiet after a louder body, falling.
  let fadeFrom = windows.length;
  while (fadeFrom > first && isQuiet(classes[fadeFrom - 1])) fadeFrom--;
  const fades = fadeFrom < windows.length && fadeFrom > first;

  // Breaks: quiet stretches inside the body, and stretches where the beat drops out while the level holds.
  for (let i = first; i < fadeFrom; i++) {
    if (isQuiet(classes[i]) && !isQuiet(classes[i - 1])) {
      let j = i;
      while (j + 1 < fadeFrom && isQuiet(classes[j + 1])) j++;
      const beatDrops = trackHasBeat && windows.slice(i, j + 1).every((_, k) => !beatAt(i + k));
      const silent = windows.slice(i, j + 1).every((w) => isSilent(w.tags));
      events.push({ kind: 'break', atSec: windows[i].startSec, endSec: windows[j].endSec, beatDrops, silent });
      if (j + 1 < fadeFrom) events.push({ kind: 'return', atSec: windows[j + 1].startSec });
      i = j;
    } else if (trackHasBeat && !isQuiet(classes[i]) && audible(i) && !beatAt(i) && i > 0 && beatAt(i - 1)) {
      let j = i;
      while (j + 1 < fadeFrom && !isQuiet(classes[j + 1]) && !beatAt(j + 1)) j++;
      events.push({ kind: 'beat-out', atSec: windows[i].startSec, endSec: windows[j].endSec });
      if (j + 1 < fadeFrom && beatAt(j + 1)) events.push({ kind: 'return', atSec: windows[j + 1].startSec });
      i = j;
    }
  }

  // Builds: a run of at least two steps that rises by TRACK_LEVEL.buildRiseLu without falling back, no one step
  // making most of it (a jump back to full level after a break is a return, not a build).
  for (let i = 0; i < windows.length - 1; i++) {
    if (isSilent(windows[i].tags)) continue;
    let j = i;
    while (j + 1 < windows.length && rise(windows[j], windows[j + 1]) >= 0.5 && !isSilent(windows[j + 1].tags)) j++;
    const total = level(windows[j]) - level(windows[i]);
    let largest = 0;
    for (let k = i; k < j; k++) largest = Math.max(largest, rise(windows[k], windows[k + 1]));
    if (j - i >= 2 && total >= TRACK_LEVEL.buildRiseLu && largest <= 0.75 * total && !isQuiet(classes[j])) {
      events.push({ kind: 'build', atSec: windows[i].startSec, endSec: windows[j].endSec });
      i = j;
    }
  }

  // The loudest stretch, when the track has one that stands out.
  const peakAt = classes.indexOf('peak');
  if (peakAt >= 0) {
    let j = peakAt;
    while (j + 1 < windows.length && classes[j + 1] === 'peak') j++;
    events.push({ kind: 'peak', atSec: windows[peakAt].startSec, endSec: windows[j].endSec });
  }

  // A return inside a build is the build's own arrival.
  const builds = events.filter((e): e is Extract<ShapeEvent, { kind: 'build' }> => e.kind === 'build');
  for (let k = events.length - 1; k >= 0; k--) {
    const event = events[k];
    if (event.kind === 'return' && builds.some((b) => event.atSec > b.atSec && event.atSec < b.endSec)) events.splice(k, 1);
  }
  for (const change of keyChanges(context.analysis)) events.push({ kind: 'modulation', ...change });
  for (const { change, window, withBeatReturn } of readings.tempo) {
    // A step while the beat was out is told with the beat's return: "comes back in at 1:20, now at about 130 BPM (up from 104)".
    const comeback = withBeatReturn ? events.find((e): e is Extract<ShapeEvent, { kind: 'return' }> => e.kind === 'return' && e.atSec === windows[window].startSec) : undefined;
    if (comeback) comeback.tempo = change;
    else events.push({ kind: 'tempo', atSec: Math.max(change.atSec, windows[window].startSec), change });
  }
  if (fades) events.push({ kind: 'fade', atSec: windows[fadeFrom].startSec, silent: isSilent(windows[fadeFrom].tags) });
  return events.sort((a, b) => a.atSec - b.atSec);
}

function level(window: TimedWindow): number {
  return window.tags.loudnessLufs ?? -70;
}

function rise(a: TimedWindow, b: TimedWindow): number {
  return level(b) - level(a);
}

export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[at];
}

/** A caption with its digits removed, lower-cased and with spaces collapsed: what "the same words" means. */
export function withoutNumbers(text: string): string {
  return text.replace(/[−-]?\d+(?:[.,:]\d+)*/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The share of captions that equal the one before once numbers are removed. */
export function repeatRate(captions: readonly string[]): number {
  if (captions.length === 0) return 0;
  let repeats = 0;
  for (let i = 1; i < captions.length; i++) if (withoutNumbers(captions[i]) === withoutNumbers(captions[i - 1])) repeats++;
  return repeats / captions.length;
}

/** The analysis, or for a manifest written before the whole-track analysis existed one key section and no tempo changes. */
export function analysisOrFallback(analysis: TrackAnalysis | undefined, track: TrackTags, durationSec: number): TrackAnalysis {
  const wholeTrack = [{ startSec: 0, endSec: durationSec, key: track.key, confidence: track.keyConfidence }];
  if (!analysis) return { beats: [], downbeats: [], tempoChanges: [], keySections: wholeTrack, loudnessCurve: [] };
  // Key sections cover the track; a list without any is read as one section in the track's key.
  return analysis.keySections?.length ? analysis : { ...analysis, keySections: wholeTrack };
}
