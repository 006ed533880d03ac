// Truth for the real-music corpus, read from a MIDI file's own events (issue #9 §5): the tempo map from
// set-tempo events, the meter from time-signature events, the key from the key-signature event, and a check
// that the key signature agrees with the notes actually played.

import { type MidiFile, TempoMap } from './midi-file.ts';

export type Meter = '2/4' | '3/4' | '4/4' | '6/8' | '12/8';
export type Mode = 'major' | 'minor';

export const PITCH_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'] as const;

export interface TempoTruth {
  /** Quarter-note BPM: the tempo the piece spends the most time at (the only one when constant). */
  bpm: number;
  /** For 6/8 and 12/8: the dotted-quarter beat rate, bpm × 2/3. */
  beatBpm?: number;
  /** Every tempo within ±2 % of `bpm` over the whole (trimmed) piece. */
  constant: boolean;
  map: Array<{ atSec: number; bpm: number }>;
  /**
   * Share of the note onsets that sit on the written grid (see `gridFit`): the written tempo is the beat's truth
   * only where the notes follow it. Absent where it was not measured (LMMS and Hydrogen songs are on their grid by
   * construction; a chart's buttons are not the music's notes).
   */
  onGrid?: number;
}

export interface KeyTruth {
  tonic: (typeof PITCH_NAMES)[number];
  mode: Mode;
  /** The notes agree with the key signature: see `keyFitsNotes`. */
  fitsNotes: boolean;
}

export interface MidiTruth {
  /** Seconds from tick 0 to the last event (end-of-track included), before any trim. */
  lengthSec: number;
  tempo: TempoTruth;
  tempoChanges: number;
  meter: Meter | null;
  /** The dominant time signature as written, e.g. "2/2", even where `meter` is null. */
  meterRaw: string | null;
  meterChanges: number;
  key: KeyTruth | null;
  keyChanges: number;
  /** Share of the pitched note mass (seconds, drums excluded) on the key's scale; null without a key. */
  keyScaleShare: number | null;
  /** Seconds of pitched notes (drum channel excluded) inside the window. */
  pitchedNoteSec: number;
  /** Share of the notes starting inside the window that are on General MIDI's drum channel (10); null without notes. */
  drumNoteShare: number | null;
  /** When the first note starts and the last note ends (any channel), in seconds, before any trim. */
  firstNoteSec: number;
  lastNoteSec: number;
  /** How well the notes follow the written grid (null for charts and files without notes). */
  grid: GridFit | null;
}

export const METERS: Record<string, Meter> = { '2/4': '2/4', '3/4': '3/4', '4/4': '4/4', '6/8': '6/8', '12/8': '12/8' };
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The felt beat of a compound meter (6/8, 12/8): the dotted quarter, 2/3 of the quarter-note tempo; else none. */
export function compoundBeatBpm(meter: Meter | null, quarterBpm: number): number | undefined {
  return meter === '6/8' || meter === '12/8' ? round((quarterBpm * 2) / 3) : undefined;
}

/** Key-signature meta event → tonic pitch class: n sharps is n fifths above C; minor is the relative minor. */
export function keySignatureTonic(sharps: number, minor: boolean): number {
  const major = (((sharps * 7) % 12) + 12) % 12;
  return minor ? (major + 9) % 12 : major;
}

const MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11];
const MINOR_SCALE = [0, 2, 3, 5, 7, 8, 10, 11]; // natural minor plus the harmonic minor's raised seventh
// Krumhansl & Kessler (1982) probe-tone profiles.
const KK_MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const KK_MINOR = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

function correlation(a: number[], b: number[]): number {
  const ma = a.reduce((s, x) => s + x, 0) / a.length;
  const mb = b.reduce((s, x) => s + x, 0) / b.length;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

function profileScore(chroma: number[], tonic: number, mode: Mode): number {
  const profile = mode === 'major' ? KK_MAJOR : KK_MINOR;
  return correlation(chroma, chroma.map((_, pc) => profile[(pc - tonic + 12) % 12]));
}

/**
 * Whether the notes played agree with the key signature, conservatively:
 *  1. at least 80 % of the duration-weighted pitch-class mass lies on the key's scale (for minor: natural
 *     minor plus the raised seventh), and
 *  2. of the key and its relative (C major ↔ A minor, which share a scale), the written one fits better by
 *     both of two simple checks, each by a margin: the weight on tonic + fifth (the bass notes, which settle
 *     a tonic more than the tunes above them, counted twice), and the Krumhansl–Kessler profile correlation.
 * Any doubt answers false.
 */
export function keyFitsNotes(
  chroma: number[],
  bassChroma: number[],
  tonic: number,
  mode: Mode,
): { fits: boolean; scaleShare: number } {
  const total = chroma.reduce((s, x) => s + x, 0);
  if (total <= 0) return { fits: false, scaleShare: 0 };
  const scale = mode === 'major' ? MAJOR_SCALE : MINOR_SCALE;
  const onScale = scale.reduce((s, step) => s + chroma[(tonic + step) % 12], 0);
  const scaleShare = onScale / total;
  const relTonic = mode === 'major' ? (tonic + 9) % 12 : (tonic + 3) % 12;
  const relMode: Mode = mode === 'major' ? 'minor' : 'major';
  const bassTotal = bassChroma.reduce((s, x) => s + x, 0) || 1;
  const weight = (t: number) =>
    (chroma[t] + chroma[(t + 7) % 12]) / total + (2 * (bassChroma[t] + bassChroma[(t + 7) % 12])) / bassTotal;
  const tonicWins = weight(tonic) > 1.1 * weight(relTonic);
  const profileWins = profileScore(chroma, tonic, mode) > profileScore(chroma, relTonic, relMode) + 0.02;
  return { fits: scaleShare >= 0.8 && tonicWins && profileWins, scaleShare };
}

/** The value (by key) that covers the most seconds of [0, endSec), given change points in seconds. */
function dominant<T>(changes: Array<{ atSec: number; value: T; key: string }>, endSec: number): { value: T; key: string } | null {
  const span = new Map<string, { value: T; sec: number }>();
  changes.forEach((c, i) => {
    const until = Math.min(endSec, i + 1 < changes.length ? changes[i + 1].atSec : endSec);
    const sec = Math.max(0, until - c.atSec);
    const cur = span.get(c.key) ?? { value: c.value, sec: 0 };
    cur.sec += sec;
    span.set(c.key, cur);
  });
  let best: { value: T; key: string; sec: number } | null = null;
  for (const [key, v] of span) if (!best || v.sec > best.sec) best = { value: v.value, key, sec: v.sec };
  return best && { value: best.value, key: best.key };
}

/** Keep the events in [0, endSec); an event at or before 0 takes effect at 0; equal neighbours merge. */
function changePoints<T>(events: Array<{ atSec: number; value: T; key: string }>, endSec: number) {
  const out: Array<{ atSec: number; value: T; key: string }> = [];
  for (const e of events) {
    if (e.atSec >= endSec) break;
    const atSec = Math.max(0, e.atSec);
    const last = out[out.length - 1];
    if (last && last.atSec === atSec) out[out.length - 1] = { ...e, atSec };
    else if (!last || last.key !== e.key) out.push({ ...e, atSec });
  }
  // A later event at the same time may have made two neighbours equal.
  return out.filter((e, i) => i === 0 || e.key !== out[i - 1].key);
}

// ───────────────────────── grid fit ─────────────────────────
//
// A MIDI file's set-tempo events are the beat's truth only if its notes were placed on the grid they define (typed
// in or quantized in a sequencer). A part played in live and never quantized keeps the sequencer's tempo in its
// header while its notes follow the player: FreeDink's 1003, 2, insper, lively and love, and files converted from
// Doom's MUS format, whose ticks are 1/140 s whatever the music's tempo (mus2mid writes 89 ticks per quarter at a
// nominal 95 BPM). The measure is the one a sequencer's quantize function applies (e.g. Cubase's iterative
// quantize or MuseScore's MIDI import, both snapping to the nearest 16th or triplet-8th position): the share of
// distinct onset ticks that lie within GRID_TOLERANCE of a 16th-note or triplet-8th position of the written
// grid, after the one shift of the whole grid (the phase) that fits best, because a file that starts its bar a
// few ticks late (Planet Blupi's are 20 ticks late throughout) is still on its grid.

/** Grid positions inside a quarter note: the 16th notes (0, ¼, ½, ¾) and the triplet 8ths (⅓, ⅔). */
const GRID_POSITIONS = [0, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 1];
/**
 * An onset is on the grid within ±1/48 of a quarter note (±1/192 of a whole note; ±10 ms at 120 BPM) of a grid
 * position. A tolerance in fractions of the beat rather than milliseconds keeps the share that onsets placed at
 * random would reach the same at every tempo: the six positions cover 6 × 2/48 = 25 % of the quarter. (±30 ms
 * covers the whole of the quarter note above about 180 BPM, and ±1/32 note covers it at any tempo: neither can tell
 * a played-in part from a quantized one.)
 */
export const GRID_TOLERANCE_QUARTERS = 1 / 48;
/**
 * The written tempo is scored as the beat's truth only where `onGrid` reaches this. Chosen from the distribution
 * over every MIDI piece of the corpus (printed by `npm run corpus:real -- --write-truth`): onsets at random reach
 * 0.25 (0.26–0.28 after the phase search: Freedoom's files converted from MUS), the five FreeDink pieces played in
 * live 0.32–0.38, and every other piece 0.48 or more (swung, humanised and arpeggiated parts included); 0.45
 * lies in that gap, nearer the quantized side so that a file whose notes merely lean towards the grid fails.
 */
export const ON_GRID_MIN = 0.45;
/** The phase is searched in steps of 1/384 quarter note. */
const PHASE_STEPS = 384;

export interface GridFit {
  /** Share of the distinct onset ticks within the tolerance of a grid position (0 … 1). */
  onGrid: number;
  /** Median distance of the onsets to their nearest grid position, in milliseconds through the tempo map. */
  medianOffsetMs: number;
  /** The shift of the grid that fits best, in quarter notes (0 … 1). */
  phaseQuarters: number;
  onsets: number;
}

/** How well the notes inside [0, endSec) follow the written grid; null without notes. */
export function gridFit(midi: MidiFile, endSec = Infinity): GridFit | null {
  const map = new TempoMap(midi.ticksPerQuarter, midi.tempos);
  const q = midi.ticksPerQuarter;
  const ticks = [...new Set(midi.notes.map((n) => n.tick))].filter((t) => map.seconds(t) < endSec).sort((a, b) => a - b);
  if (ticks.length === 0) return null;
  // Each onset's place inside its quarter note, 0 … 1.
  const place = ticks.map((t) => (t / q) % 1);
  /** The grid position nearest to a place shifted by the phase, and the distance to it (in quarter notes). */
  const nearest = (x: number, phase: number) => {
    const p = (((x - phase) % 1) + 1) % 1;
    const g = GRID_POSITIONS.reduce((a, b) => (Math.abs(p - b) < Math.abs(p - a) ? b : a));
    return { shift: g - p, distance: Math.abs(g - p) };
  };
  // The phase that puts the most onsets on the grid; among equals, the one closest to them (the centre of the run).
  let best = { phase: 0, hits: -1, spread: Infinity };
  for (let step = 0; step < PHASE_STEPS; step++) {
    const phase = step / PHASE_STEPS;
    let hits = 0;
    let spread = 0;
    for (const x of place) {
      const { distance } = nearest(x, phase);
      if (distance <= GRID_TOLERANCE_QUARTERS + 1e-9) {
        hits++;
        spread += distance;
      }
    }
    if (hits > best.hits || (hits === best.hits && spread < best.spread - 1e-9)) best = { phase, hits, spread };
  }
  const offsetsMs = ticks
    .map((t, i) => Math.abs(map.seconds(t + nearest(place[i], best.phase).shift * q) - map.seconds(t)) * 1000)
    .sort((a, b) => a - b);
  return {
    onGrid: round(best.hits / ticks.length),
    medianOffsetMs: round(offsetsMs[Math.floor(offsetsMs.length / 2)], 1),
    phaseQuarters: round(best.phase),
    onsets: ticks.length,
  };
}

export interface TruthOptions {
  /** Only what happens before this many seconds counts (the audio is cut there). */
  endSec?: number;
  /** False for charts whose notes are game buttons, not pitches: no key check. */
  pitched?: boolean;
}

export function midiTruth(midi: MidiFile, options: TruthOptions = {}): MidiTruth {
  const map = new TempoMap(midi.ticksPerQuarter, midi.tempos);
  const lengthSec = map.seconds(midi.lastTick);
  let firstNoteSec = Infinity;
  let lastNoteSec = 0;
  for (const n of midi.notes) {
    firstNoteSec = Math.min(firstNoteSec, map.seconds(n.tick));
    lastNoteSec = Math.max(lastNoteSec, map.seconds(n.endTick));
  }
  if (!Number.isFinite(firstNoteSec)) firstNoteSec = 0;
  const endSec = Math.min(options.endSec ?? Infinity, lengthSec > 0 ? lengthSec : Infinity);

  // Tempo: the set-tempo events in force inside the window (120 BPM before the first, per the specification).
  const tempoPoints = changePoints(
    map.segments.map((s) => ({ atSec: s.sec, value: 60e6 / s.usPerQuarter, key: String(s.usPerQuarter) })),
    endSec,
  );
  // A tempo that only the silence before the first note is held at is nobody's tempo: MMA, for one, writes
  // 120 BPM at tick 0 and the song's tempo a beat later, where its first note starts. (Not for charts: their
  // first button can come long after the recording's music has started.)
  if (options.pitched !== false) while (tempoPoints.length > 1 && tempoPoints[1].atSec <= firstNoteSec) tempoPoints.shift();
  const dominantTempo = dominant(tempoPoints, endSec)!;
  const bpm = dominantTempo.value;
  const constant = tempoPoints.every((p) => Math.abs(p.value / bpm - 1) <= 0.02);

  // Meter.
  const timeSigPoints = changePoints(
    midi.timeSignatures.map((t) => ({ atSec: map.seconds(t.tick), value: t, key: `${t.numerator}/${t.denominator}` })),
    endSec,
  );
  const meterRaw = dominant(timeSigPoints, endSec)?.key ?? null;
  const meter = meterRaw ? (METERS[meterRaw] ?? null) : null;

  // Notes inside the window, drums (channel 10) excluded.
  const chroma = new Array<number>(12).fill(0);
  const bassChroma = new Array<number>(12).fill(0);
  // "Bass": the lowest sounding pitch, sampled on a 50 ms grid.
  const step = 0.05;
  const lowest = new Array<number>(Math.ceil(endSec / step) + 1).fill(128);
  let pitchedNoteSec = 0;
  let notesInside = 0;
  let drumNotes = 0;
  for (const n of midi.notes) {
    if (map.seconds(n.tick) < endSec) {
      notesInside++;
      if (n.channel === 9) drumNotes++;
    }
    if (n.channel === 9) continue;
    const t0 = map.seconds(n.tick);
    const t1 = Math.min(endSec, map.seconds(n.endTick));
    if (t0 >= endSec || t1 <= t0) continue;
    chroma[n.pitch % 12] += t1 - t0;
    pitchedNoteSec += t1 - t0;
    for (let i = Math.ceil(t0 / step); i * step < t1 && i < lowest.length; i++) lowest[i] = Math.min(lowest[i], n.pitch);
  }
  for (const p of lowest) if (p < 128) bassChroma[p % 12] += step;

  // Key.
  const keyPoints = changePoints(
    midi.keySignatures.map((k) => ({ atSec: map.seconds(k.tick), value: k, key: `${k.sharps}:${k.minor}` })),
    endSec,
  );
  const keySig = dominant(keyPoints, endSec)?.value ?? null;
  let key: KeyTruth | null = null;
  let keyScaleShare: number | null = null;
  if (keySig) {
    const tonic = keySignatureTonic(keySig.sharps, keySig.minor);
    const mode: Mode = keySig.minor ? 'minor' : 'major';
    const check = options.pitched === false ? { fits: false, scaleShare: 0 } : keyFitsNotes(chroma, bassChroma, tonic, mode);
    key = { tonic: PITCH_NAMES[tonic], mode, fitsNotes: check.fits };
    keyScaleShare = round(check.scaleShare);
  }

  const tempo: TempoTruth = {
    bpm: round(bpm),
    constant,
    map: tempoPoints.map((p) => ({ atSec: round(p.atSec), bpm: round(p.value) })),
  };
  const beatBpm = compoundBeatBpm(meter, bpm);
  if (beatBpm !== undefined) tempo.beatBpm = beatBpm;
  // A chart's buttons are placed for a game, not played: no grid fit for them.
  const grid = options.pitched === false ? null : gridFit(midi, endSec);
  if (grid) tempo.onGrid = grid.onGrid;

  return {
    lengthSec: round(lengthSec),
    tempo,
    tempoChanges: tempoPoints.length - 1,
    meter,
    meterRaw,
    meterChanges: Math.max(0, timeSigPoints.length - 1),
    key,
    keyChanges: Math.max(0, keyPoints.length - 1),
    keyScaleShare,
    drumNoteShare: notesInside > 0 ? round(drumNotes / notesInside) : null,
    pitchedNoteSec: round(pitchedNoteSec),
    firstNoteSec: round(firstNoteSec),
    lastNoteSec: round(lastNoteSec),
    grid,
  };
}

/** Pitch-class mass of the pitched notes (seconds), for reports. */
export function chromaOf(midi: MidiFile, endSec = Infinity): number[] {
  const map = new TempoMap(midi.ticksPerQuarter, midi.tempos);
  const chroma = new Array<number>(12).fill(0);
  for (const n of midi.notes) {
    if (n.channel === 9) continue;
    const t0 = map.seconds(n.tick);
    const t1 = Math.min(endSec, map.seconds(n.endTick));
    if (t1 > t0) chroma[n.pitch % 12] += t1 - t0;
  }
  return chroma;
}
