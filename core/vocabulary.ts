/**
 * The musical words the product speaks, with the measurements they stand for, in one place: the built-in
 * captions (core/builtin-captioner.ts), the local summary and the LLM prompts (core/summary.ts,
 * core/audio-llm-captioner.ts), the site's tags (frontend/lib/words.ts), the similar-songs reasons
 * (core/library.ts) and the CLI all take their words from here, so one measurement is called the same thing
 * wherever it is read.
 *
 * Each scale is one table, in ascending order of its measurement; a band holds the values below its `below`
 * (or up to and including its `upTo`), the last band the rest. Browser-safe and pure: the site imports it.
 */

/** One band of a word scale: the values it holds and what they are called. */
export interface WordBand<W extends string = string> {
  /** The band holds values below this (exclusive)… */
  readonly below?: number;
  /** …or up to and including this. The last band has neither and holds everything above. */
  readonly upTo?: number;
  readonly words: W;
}

export type WordScale<W extends string = string> = readonly WordBand<W>[];

/** The words of the band a value falls in. */
export function wordFor<W extends string>(scale: WordScale<W>, value: number): W {
  for (const band of scale) {
    if (band.below !== undefined ? value < band.below : band.upTo !== undefined ? value <= band.upTo : true) return band.words;
  }
  return scale[scale.length - 1].words;
}

// ——— Tempo ——————————————————————————————————————————————————————————————————————————————————————

/**
 * Tempo words by BPM, after the metronome ranges of the Italian markings (as tabulated e.g. by BBC Music
 * Magazine's "What is tempo in music?": Adagio 66–76, Andante 76–108, Moderato 108–120, Allegro 120–156).
 * One scale for captions, summary and site (the site once had its own: slow < 66, walking < 108, brisk < 156).
 */
export const TEMPO_WORDS = [
  /** Up to Adagio's top (76): the markings a listener calls slow. */
  { below: 76, words: 'slow' },
  /** Andante, "at a walking pace" (76–108). */
  { below: 108, words: 'moderate' },
  /** Moderato into the lower Allegro (108–140): where most pop, house and techno sit. */
  { below: 140, words: 'upbeat' },
  /** Upper Allegro, Vivace and Presto (140 and up): drum & bass, punk, hardcore read as fast. */
  { words: 'fast' },
] as const satisfies WordScale;

export type TempoWord = (typeof TEMPO_WORDS)[number]['words'];

/** The word of a tempo as it is printed, in whole BPM (so "about 76 BPM" is never called slow in one place and moderate in another). */
export function tempoWord(bpm: number): TempoWord {
  return wordFor(TEMPO_WORDS, Math.round(bpm));
}

/** A tempo that differs by less than this share is the same tempo told again (the beat grid's own jitter: beats.ts reports no tempo change under 8 %). */
export const SAME_TEMPO_SHARE = 0.08;

/** Beat intervals the opening tempo is read from before a track's first tempo change (fewer: that change's own starting tempo). */
export const OPENING_TEMPO_MIN_INTERVALS = 8;
/**
 * The opening tempo is read over the beats of the track's first this many seconds (the span over which beats.ts reads
 * the tempo a step lands on, 2 × MIN_SECTION_SEC): everything before the first change, where that is longer, holds
 * whatever the grid drifted to on the way (Wesnoth's Silvan Sanctuary runs 45 s at 180 BPM, then 95 s at 160 that no
 * change the tempo states bear out divides from it, then steps up to 182: it "started at about 162").
 */
export const OPENING_TEMPO_SEC = 16;

// ——— Brightness ——————————————————————————————————————————————————————————————————————————————————

/**
 * Colour words by spectral centroid (Hz, of the 16 kHz mono mix): perceived brightness tracks the centroid
 * (Grey & Gordon 1978; Schubert & Wolfe 2006). Cut-offs placed on our real-music corpus (697 windows of 65
 * pieces: 10th percentile 1150 Hz, median 1560 Hz, 90th 2500 Hz), so that all four words occur; the site's
 * old 800/1600/3000 Hz scale never said "very bright" there.
 */
export const BRIGHTNESS_WORDS = [
  /** Under 700 Hz: bass, low voices and pads with little top end (1 % of the corpus' windows). */
  { below: 700, words: 'dark and warm' },
  /** 700–1500 Hz: the darker half of ordinary mixes (42 %). */
  { below: 1500, words: 'mellow' },
  /** 1500–2500 Hz: the brighter half (46 %). */
  { below: 2500, words: 'bright' },
  /** 2500 Hz and up: cymbals, distortion and hiss on top (the brightest tenth). */
  { words: 'very bright' },
] as const satisfies WordScale;

export function colourWord(hz: number): string {
  return wordFor(BRIGHTNESS_WORDS, hz);
}

// ——— Percussion and attacks ——————————————————————————————————————————————————————————————————————

/**
 * A beat over at least this percussive share is a groove; a beat carried by tones under it, a pulse. The same line
 * is where "driven by percussion" begins (PERCUSSION_WORDS).
 */
export const GROOVE_MIN_PERCUSSIVE = 0.35;
/**
 * Half a noticeable change of percussive share (NOTICEABLE_CHANGE.percussion): a caption's beat turns from a groove
 * into a pulse, or back, only when the share crosses GROOVE_MIN_PERCUSSIVE by this much.
 */
export const GROOVE_HYSTERESIS = 0.075;

/**
 * Words by percussive share: the part of the energy in the percussive half of a harmonic–percussive
 * separation (median filtering, Fitzgerald, DAFx 2010). One scale for captions, summary and site (the site
 * once had its own at 0.35 / 0.6).
 *
 * The lines are where real music falls on this measure (`npm run bench:descriptors`, "percussion words"; truth
 * from the sources: the MIDI files' drum channel, Hydrogen's drum-machine songs). Energy-weighted, the kick's
 * low, ringing body counts partly as held tone, so a drum machine alone measures 0.35-0.45 per 10 s window,
 * and music with no drum at all 0.03-0.36 (median 0.23). The old line of 0.55, chosen on synthesized clicks,
 * called the drum machine "in balance" and almost every song the same.
 */
export const PERCUSSION_WORDS = [
  /** A quarter or less: held tones (pads, strings, voice, organ) carry the sound. */
  { upTo: 0.25, words: 'mostly sustained tones' },
  /** Between: attacks and held tones share it. */
  { below: GROOVE_MIN_PERCUSSIVE, words: 'percussion and tones in balance' },
  /** From the groove line up: as percussive as a drum machine alone reads (drums, plucks, hits). */
  { words: 'driven by percussion' },
] as const satisfies WordScale;

export type PercussionWords = (typeof PERCUSSION_WORDS)[number]['words'];

/**
 * Percussive sound over no steady beat: "driven" would claim a propulsion the beat tracker did not find (Lugaru's
 * desert ambience and three of Colobot's beatless pieces read "no steady beat … driven by percussion").
 */
export const BEATLESS_PERCUSSIVE_WORDS = 'mostly percussive sounds';

export function percussionWords(ratio: number, steadyBeat = true): PercussionWords | typeof BEATLESS_PERCUSSIVE_WORDS {
  return !steadyBeat && ratio >= GROOVE_MIN_PERCUSSIVE ? BEATLESS_PERCUSSIVE_WORDS : wordFor(PERCUSSION_WORDS, ratio);
}


/** How dense the attacks are, by onsets per second. */
export const ATTACK_WORDS = [
  /** Fewer than 2 a second: slower than one per beat at 120 BPM. */
  { below: 2, words: 'sparse' },
  /**
   * 2–5 a second: beats to eighth notes at common tempi. Over the tuned MIDI renders' 10 s windows: 4 % sparse,
   * 55 % steady, 41 % busy (bench/lib/eval-onsets.ts; the onsets counted are 0.86 of the notes' own rate).
   */
  { below: 5, words: 'steady' },
  /** 5 and more: sixteenths, rolls, fast strumming. */
  { words: 'busy' },
] as const satisfies WordScale;

export function textureWords(tags: { percussiveRatio: number; onsetsPerSec: number; bpm: number | null; bpmConfidence: number }): string {
  return `${percussionWords(tags.percussiveRatio, beatStated(tags))}, with ${wordFor(ATTACK_WORDS, tags.onsetsPerSec)} attacks`;
}

// ——— Beat, key and meter: when they are stated ————————————————————————————————————————————————

/** A window's beat under this confidence is not stated: the grid's periodicity is too weak to call steady (the track-level gate in beats.ts is 0.25). */
export const MIN_BEAT_CONFIDENCE = 0.15;

/** Whether a window's or track's beat is stated: a tempo, with the confidence to say so. */
export function beatStated<T extends { bpm: number | null; bpmConfidence: number }>(tags: T): tags is T & { bpm: number } {
  return tags.bpm !== null && tags.bpmConfidence >= MIN_BEAT_CONFIDENCE;
}
/** A key under this confidence (key.ts: profile correlation and margin over the runner-up, scaled by how tonal the chroma is) is not named: too ambiguous or barely tonal. */
export const MIN_KEY_CONFIDENCE = 0.2;
/** A meter under this confidence is not named: meter.ts gives its 4/4 default, when no bar structure was heard, at most 0.2. */
export const MIN_METER_CONFIDENCE = 0.3;
/** Without a steady beat, fewer onsets than this a second is free-flowing sound; more is a loose rhythm. */
export const FREE_FLOWING_BELOW_ONSETS = 1;

export const NO_STEADY_BEAT = 'no steady beat';
export const NO_CLEAR_KEY = 'no clear key';
/**
 * A key path longer than this is shown by its first two keys, an ellipsis and its last, with the count beside it: a
 * 14-minute orchestral suite read twelve keys, a line no one reads (the summary tells every change with its time).
 */
export const KEY_PATH_SHOWN = 4;
export const NEAR_SILENCE = 'near silence';
/** A meter not stated, in a prompt's facts. */
export const NO_METER = 'not determined';

// ——— Level against the streaming reference ——————————————————————————————————————————————————————

/** Streaming services play music back at about −14 LUFS (Spotify, YouTube, Tidal); masters are loud or quiet against that. */
export const STREAMING_REFERENCE_LUFS = -14;

/** How a master's integrated loudness (ITU-R BS.1770, LUFS) sits against the reference, in a listener's words. */
export const MASTER_LEVEL_WORDS = [
  /** More than 13 LU under the reference: quieter than even EBU R 128's −23 LUFS broadcast target by 4 LU. */
  { upTo: -27, words: 'very quiet for a release' },
  /** −27 … −20.5: under the −16 … −18 LUFS that Apple Music and AES TD1008 target; classical and film releases. */
  { upTo: -20.5, words: 'quiet for a release' },
  /** −20.5 … −17.5: 3.5–6.5 LU under the reference; a streaming service turns it up. */
  { upTo: -17.5, words: 'well below the usual streaming level' },
  /** −17.5 … −15.5: 1.5–3.5 LU under. */
  { upTo: -15.5, words: 'a little below the usual streaming level' },
  /** Within 1.5 LU of −14: at it. */
  { upTo: -12.5, words: 'at the usual streaming level' },
  /** −12.5 … −9: louder than the reference; streaming turns it down. */
  { upTo: -9, words: 'loud, mastered hot' },
  /** Over −9 LUFS: the loudness-war masters (many 2000s CDs sit at −8 … −6). */
  { words: 'very loud, mastered hot' },
] as const satisfies WordScale;

/** How the track's level sits against the streaming reference; a quiet master is called dynamic only when its loudness range shows it. */
export function masterLevel(lufs: number | null, rangeLu?: number): string {
  if (lufs === null) return NEAR_SILENCE;
  const words = wordFor(MASTER_LEVEL_WORDS, lufs);
  if (words === 'quiet for a release' && rangeLu !== undefined && rangeLu >= DYNAMIC_RANGE_LU) return 'quiet for a release, a dynamic classical-style master';
  return words;
}

/** "3 LU above the −14 LUFS streaming reference", or "right at" it (within 1 LU, which rounds to 0 or 1). */
export function againstReference(lufs: number): string {
  const difference = lufs - STREAMING_REFERENCE_LUFS;
  if (Math.abs(difference) < 1) return `right at the ${STREAMING_REFERENCE_LUFS} LUFS streaming reference`;
  return `${Math.abs(difference).toFixed(0)} LU ${difference > 0 ? 'above' : 'below'} the ${STREAMING_REFERENCE_LUFS} LUFS streaming reference`;
}

/**
 * Under this loudness range a track's level is even throughout: the only band in which the summary may say its
 * level "stays even" (above it, the site's own tag speaks of loud and soft passages).
 */
export const EVEN_LEVEL_RANGE_LU = 4;

/** Loudness range (EBU Tech 3342, LU) in words: pop masters sit near 4–8 LU, orchestral music 15 LU or more. */
export const LOUDNESS_RANGE_WORDS = [
  /** Under 4 LU: compressed to one level (much dance and pop). */
  { below: EVEN_LEVEL_RANGE_LU, words: 'even level throughout' },
  /** 4–8 LU: the usual pop and rock master. */
  { below: 8, words: 'some loud and soft passages' },
  /** 8–15 LU: jazz, acoustic, film music. */
  { below: 15, words: 'wide swings of level' },
  /** 15 LU and up: orchestral and other wide-dynamic music. */
  { words: 'very wide swings of level' },
] as const satisfies WordScale;

/** A loudness range this wide is a dynamic master: the start of "wide swings of level". */
export const DYNAMIC_RANGE_LU = 8;

export function rangeWords(lu: number): string {
  return wordFor(LOUDNESS_RANGE_WORDS, lu);
}

/** Streaming services ask for true peaks at or below −1 dBTP (Spotify's loudness guide, AES TD1008), to leave room for their lossy encoders. */
export const STREAMING_MAX_TRUE_PEAK_DBTP = -1;

/** True peak (ITU-R BS.1770 oversampled, dBTP) in words. */
export const TRUE_PEAK_WORDS = [
  /** At or under −1 dBTP: what streaming services ask for. */
  { upTo: STREAMING_MAX_TRUE_PEAK_DBTP, words: 'headroom left at the peaks' },
  /** −1 … 0 dBTP: at the very top, over the streaming ceiling. */
  { upTo: 0, words: 'peaks at the very top' },
  /** Over 0 dBTP: a D/A converter or a lossy decoder clips. */
  { words: 'peaks clip' },
] as const satisfies WordScale;

/**
 * True peak as it is shown, to a tenth of a dB: the word goes with the number beside it, so "-1.0 dBTP" (a
 * measured -0.98) leaves headroom, as the summary says, and is not "at the very top".
 */
const shownTruePeak = (dbtp: number) => Math.round(dbtp * 10) / 10;

export function peakWords(dbtp: number): string {
  return wordFor(TRUE_PEAK_WORDS, shownTruePeak(dbtp));
}

/** Over the streaming ceiling as shown (the summary's "above the -1 dBTP that streaming services ask for"). */
export const overStreamingPeak = (dbtp: number) => shownTruePeak(dbtp) > STREAMING_MAX_TRUE_PEAK_DBTP;

// ——— Level within the track ————————————————————————————————————————————————————————————————————

/** Thresholds of the track's own level words (against its integrated loudness, which is gated and so sits near the body of the song). */
export const TRACK_LEVEL = {
  /** A window this far (LU) below the track is a quiet passage: clearly softer, past two noticeable level changes. */
  quietBelowLu: 5,
  /** This far below: very quiet (a break down to a lone instrument, a fade's tail). */
  veryQuietBelowLu: 12,
  /** The loudest window must stand this far above the track for a loudest stretch to stand out at all. */
  peakStandsOutLu: 3,
  /** A peak window lies within this of the loudest window… */
  peakWithinLoudestLu: 1.5,
  /** …and at least this far above the track. */
  peakAboveTrackLu: 2,
  /** A rise this large over consecutive windows, without falling back, is a build. */
  buildRiseLu: 4,
  /** A window with this share of silent frames is silence. */
  silentShare: 0.9,
  /** A window with this share of silent frames says how much of it is silent. */
  partlySilentShare: 0.3,
  /** A part of the song this far above or below the main part is a louder or quieter part. */
  partLu: 3,
} as const;

export type LevelClass = 'silent' | 'very quiet' | 'quiet' | 'body' | 'peak';

/** A window's level class as a fact for an LLM prompt (the summary's and the audio captioner's alike). */
export const LEVEL_FACTS: Record<LevelClass, string> = {
  silent: NEAR_SILENCE,
  'very quiet': 'very quiet for this track',
  quiet: 'a quiet part of this track',
  body: 'the body of this track',
  peak: 'the loudest part of this track',
};

// ——— Change from one measurement to another ————————————————————————————————————————————————————

/**
 * One noticeable change of each measurement: a caption mentions a change of at least half a unit and calls
 * one unit or more plainly "louder", "brighter", "busier"; the similar-songs reasons call songs one unit
 * apart "louder", "brighter", "more percussive".
 */
export const NOTICEABLE_CHANGE = {
  /** 2.5 LU: about twice the ~1–1.5 dB just-noticeable level difference for music (Zwicker & Fastl, Psychoacoustics, ch. 7). */
  levelLu: 2.5,
  /** A level change this large (LU) is "much" louder or "well down" (and the caption gives the new level). */
  largeLevelLu: 6,
  /** Under this (LU) a louder window is only "a little louder". */
  plainLevelLu: 2,
  /** A centroid 25 % higher or lower (about a third of an octave, roughly a critical band's width above 500 Hz). */
  brightnessRatio: 1.25,
  /** 30 % more or fewer onsets a second (a change of rate is heard as a ratio), and at least 1.5 a second. */
  activityShare: 0.3,
  activityMinPerSec: 1.5,
  /** 0.15 of percussive share: most of the way from music without a drum (median 0.23 a window) to a drum machine alone (0.38). */
  percussion: 0.15,
} as const;

/** Level change in noticeable units (positive: louder). */
export function levelChange(beforeLufs: number, nowLufs: number): number {
  return (nowLufs - beforeLufs) / NOTICEABLE_CHANGE.levelLu;
}

/** Brightness change in noticeable units (positive: brighter), on the log scale brightness is heard on. */
export function brightnessChange(beforeHz: number, nowHz: number): number {
  return Math.log(Math.max(1, nowHz) / Math.max(1, beforeHz)) / Math.log(NOTICEABLE_CHANGE.brightnessRatio);
}

/** Activity change in noticeable units (positive: busier). */
export function activityChange(beforeOnsetsPerSec: number, nowOnsetsPerSec: number): number {
  const unit = Math.max(NOTICEABLE_CHANGE.activityMinPerSec, NOTICEABLE_CHANGE.activityShare * beforeOnsetsPerSec);
  return (nowOnsetsPerSec - beforeOnsetsPerSec) / unit;
}

/** Percussive-share change in noticeable units (positive: more percussion). */
export function percussionChange(beforeRatio: number, nowRatio: number): number {
  return (nowRatio - beforeRatio) / NOTICEABLE_CHANGE.percussion;
}

/** The comparatives, each by how clear the change is: `plain` from one unit, `slight` from half a unit. */
export const CHANGE_WORDS = {
  brighter: { plain: 'brighter', slight: 'a shade brighter' },
  darker: { plain: 'darker', slight: 'a shade darker' },
  busier: { plain: 'busier', slight: 'slightly busier' },
  sparser: { plain: 'sparser', slight: 'slightly sparser' },
  louder: { much: 'much louder', plain: 'louder', slight: 'a little louder' },
  quieter: { much: 'stepping well down in level', plain: 'pulling back in level', slight: 'a little quieter' },
  morePercussion: 'with more percussion',
  lessPercussion: 'with the percussion thinning out',
} as const;

/**
 * A part that begins this far into a window's own time or later is announced by the next window instead: the window it
 * begins in holds mostly the part before, so its level and texture words would describe that one beside the
 * announcement ("the loudest part begins at 2:19. A little quieter.").
 */
export const PART_LATE_IN_WINDOW = 0.7;

/**
 * How far apart two windows sound for "back to the music of …": level, brightness, activity and percussion,
 * each in these units (coarser than NOTICEABLE_CHANGE in level and a little finer in brightness, so that music
 * heard again counts as the same under its own jitter), plus a beat that comes or goes and a key change.
 */
export const SAME_MUSIC_UNITS = {
  levelLu: 3,
  brightnessOctaves: 0.3,
  activityPerSec: 1.5,
  percussion: 0.15,
  beat: 2,
  key: 1,
} as const;

// ——— Notes and keys ——————————————————————————————————————————————————————————————————————————————

/** The twelve pitch classes from C, spelled as key names usually are (sharps for C#, F#; flats for Eb, Ab, Bb). */
export const PITCH_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'] as const;

export type Mode = 'major' | 'minor';

export interface KeyOf {
  pitchClass: number;
  mode: Mode;
}

/** "A minor": the key of a tonic pitch class and mode, as the analysis names it. */
export function keyName(pitchClass: number, mode: Mode): string {
  return `${PITCH_NAMES[((pitchClass % 12) + 12) % 12]} ${mode}`;
}

const NATURALS: Record<string, number> = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };

/** "F# minor", "Gb minor", "f♯ Minor" → the tonic's pitch class and mode; undefined for anything else. */
export function parseKeyName(name: string | null | undefined): KeyOf | undefined {
  const match = name?.trim().match(/^([A-Ga-g])\s*([#b♯♭]?)\s+(major|minor)$/i);
  if (!match) return undefined;
  const accidental = match[2] === '#' || match[2] === '♯' ? 1 : match[2] ? -1 : 0;
  return { pitchClass: (NATURALS[match[1].toUpperCase()] + accidental + 12) % 12, mode: match[3].toLowerCase() as Mode };
}

/** The same key spelled one way ("Gb minor" → "F# minor"), so that spellings compare. */
export function normalizeKeyName(name: string | null | undefined): string | undefined {
  const key = parseKeyName(name);
  return key && keyName(key.pitchClass, key.mode);
}

export type KeyRelation = 'same' | 'relative minor' | 'relative major' | 'parallel minor' | 'parallel major' | 'dominant' | 'subdominant';

/** How key `to` stands to key `from` (Piston, Harmony: the closely related keys); undefined for other relations or an unreadable name. */
export function keyRelation(from: string | null | undefined, to: string | null | undefined): KeyRelation | undefined {
  const a = parseKeyName(from);
  const b = parseKeyName(to);
  if (!a || !b) return undefined;
  const up = (b.pitchClass - a.pitchClass + 12) % 12;
  if (up === 0 && a.mode === b.mode) return 'same';
  if (a.mode === 'major' && b.mode === 'minor' && up === 9) return 'relative minor';
  if (a.mode === 'minor' && b.mode === 'major' && up === 3) return 'relative major';
  if (up === 0) return b.mode === 'minor' ? 'parallel minor' : 'parallel major';
  if (a.mode === b.mode && up === 7) return 'dominant';
  if (a.mode === b.mode && up === 5) return 'subdominant';
  return undefined;
}

/** A key relation in a story ("in C major (the relative major)") and in the similar-songs reasons ("relative major"). */
export const KEY_RELATION_WORDS: Record<KeyRelation, { story: string | null; reason: string }> = {
  same: { story: null, reason: 'same key' },
  'relative minor': { story: 'the relative minor', reason: 'relative minor' },
  'relative major': { story: 'the relative major', reason: 'relative major' },
  'parallel minor': { story: 'the parallel minor', reason: 'parallel minor' },
  'parallel major': { story: 'the parallel major', reason: 'parallel major' },
  dominant: { story: 'the dominant', reason: 'neighbouring key (a fifth apart)' },
  subdominant: { story: 'the subdominant', reason: 'neighbouring key (a fifth apart)' },
};

/** "the relative major", for a story; null where the keys are not closely related (or are the same). */
export function keyRelationStory(from: string, to: string): string | null {
  const relation = keyRelation(from, to);
  return relation ? KEY_RELATION_WORDS[relation].story : null;
}

// ——— Meter ——————————————————————————————————————————————————————————————————————————————————————

export type MeterName = '2/4' | '3/4' | '4/4' | '6/8' | '12/8';

/** The meter as the captions and the summary say it. */
export function meterWords(meter: MeterName): string {
  switch (meter) {
    case '3/4':
      return 'in 3/4, a waltz-like three';
    case '6/8':
      return 'in a lilting 6/8';
    case '12/8':
      return 'in a rolling 12/8';
    case '2/4':
      return 'in a march-like 2/4';
    default:
      return 'in 4/4';
  }
}

/** The meter as the site's tag says it: "4 beats to the bar", "2 swinging beats to the bar" for 6/8. */
export function beatsToTheBar(meter: MeterName): string {
  const [count] = meter.split('/');
  const compound = meter === '6/8' || meter === '12/8';
  return compound ? `${Number(count) / 3} swinging beats to the bar` : `${count} beats to the bar`;
}

// ——— Similar songs ———————————————————————————————————————————————————————————————————————————————

/** The reasons' tempo words: closer than this many BPM is "the same tempo"; otherwise the difference is given in BPM. */
export const SAME_TEMPO_BPM = 1.5;
/** A tempo within this share of double or half reads as "double time" / "half time" (the ±4 % of Gouyon et al.'s tempo accuracy, IEEE TASLP 2006). */
export const OCTAVE_TEMPO_TOLERANCE = 0.04;

export interface ComparedSong {
  key: string | null;
  bpm: number | null;
  meter: string | null;
  loudnessLufs: number | null;
  percussiveRatio: number;
  spectralCentroidHz: number;
}

/** Why `other` is like `song`, in a few plain words: "same key, 4 BPM slower, similar energy". */
export function comparisonWords(song: ComparedSong, other: ComparedSong, silentLufs = -70): string {
  const relation = keyRelation(song.key, other.key);
  const parts = [relation && KEY_RELATION_WORDS[relation].reason, tempoComparison(song.bpm, other.bpm), energyComparison(song, other, silentLufs)];
  if (song.meter && other.meter && song.meter === other.meter && song.meter !== '4/4') parts.push(`also in ${other.meter}`);
  else if (other.meter && song.meter && other.meter !== song.meter && other.meter !== '4/4') parts.push(`in ${other.meter}`);
  const brightness = brightnessChange(song.spectralCentroidHz, other.spectralCentroidHz);
  if (brightness >= 1) parts.push(CHANGE_WORDS.brighter.plain);
  else if (brightness <= -1) parts.push(CHANGE_WORDS.darker.plain);
  return parts.filter(Boolean).join(', ');
}

function tempoComparison(a: number | null, b: number | null): string | undefined {
  if (!a || !b) return undefined;
  const difference = b - a;
  if (Math.abs(difference) < SAME_TEMPO_BPM) return 'same tempo';
  const ratio = b / a;
  if (Math.abs(ratio / 2 - 1) <= OCTAVE_TEMPO_TOLERANCE) return 'double time';
  if (Math.abs(ratio * 2 - 1) <= OCTAVE_TEMPO_TOLERANCE) return 'half time';
  return `${Math.round(Math.abs(difference))} BPM ${difference < 0 ? 'slower' : 'faster'}`;
}

/** Within one noticeable change of level and of percussion: similar energy; otherwise the larger difference. */
function energyComparison(a: ComparedSong, b: ComparedSong, silentLufs: number): string {
  const level = levelChange(a.loudnessLufs ?? silentLufs, b.loudnessLufs ?? silentLufs);
  const percussion = percussionChange(a.percussiveRatio, b.percussiveRatio);
  if (Math.abs(level) <= 1 && Math.abs(percussion) <= 1) return 'similar energy';
  if (Math.abs(level) > 1) return level > 0 ? 'louder' : 'quieter';
  return percussion > 0 ? 'more percussive' : 'less percussive';
}
