/**
 * Measurements of the music, per 10-second window and per track.
 *
 * Every number is finite (JSON has no -Infinity): levels have a floor of -100 dB(FS), and a value that
 * cannot be measured (no beat in a window of silence, no pitch in noise) is `null` with confidence 0.
 *
 * Loudness comes from the file's own channels at its own rate (ITU-R BS.1770-4, measured by ffmpeg's ebur128
 * in the same pass that decodes the 16 kHz mono windows); everything else from the 16 kHz mono signal.
 * Tempo and key of a window are read off the whole track's beat grid and key sections, not estimated from
 * 10 s alone.
 */
export interface WindowTags {
  /** Tempo in beats per minute at the track's metrical level, from the beat grid; null when no steady beat. */
  bpm: number | null;
  /** 0..1: how sure the tempo estimate is. */
  bpmConfidence: number;
  /** Key and mode, e.g. "F# minor": the key of the section the window lies in; null when no tonal centre. */
  key: string | null;
  /** 0..1: how sure the key estimate is. */
  keyConfidence: number;
  /** Integrated loudness (ITU-R BS.1770-4, gated) of the file's channels over the window, in LUFS; null below the absolute gate (-70 LUFS). */
  loudnessLufs: number | null;
  /** Highest short-term (3 s) loudness inside the window, LUFS; null below -70. */
  shortTermMaxLufs: number | null;
  /** RMS level in dBFS (floor -100), of the 16 kHz mono signal. */
  rmsDbfs: number;
  /** Sample peak in dBFS (floor -100), of the 16 kHz mono signal. */
  peakDbfs: number;
  /** Peak-to-RMS ratio in dB: how dynamic (punchy) versus compressed the audio is. */
  crestDb: number;
  /** Spectral centroid in Hz: brightness. */
  spectralCentroidHz: number;
  /** Onsets (note or drum attacks) per second: rhythmic activity. */
  onsetsPerSec: number;
  /** 0..1: share of the window that is silent. */
  silenceRatio: number;
  /** 0..1: share of the energy that is percussive rather than tonal. */
  percussiveRatio: number;
}

/** Meters the beat tracker tells apart; compound meters (6/8, 12/8) count dotted-quarter beats. */
export type Meter = '2/4' | '3/4' | '4/4' | '6/8' | '12/8';

/** Track-level measurements: the window measurements over the whole track, plus range, true peak and meter. */
export interface TrackTags extends WindowTags {
  /** EBU Tech 3342 loudness range of the file in LU. */
  loudnessRangeLu: number;
  /** True peak of the file's channels (ITU-R BS.1770-4, 4× oversampled) in dBTP (floor -100). */
  truePeakDbtp: number;
  /** Meter felt over the track; null without a steady beat. */
  meter: Meter | null;
  /** 0..1: how sure the meter is. */
  meterConfidence: number;
}

/** A change of tempo the beat grid shows: a step (a new section at a new tempo) or gradual (accelerando, ritardando). */
export interface TempoChange {
  atSec: number;
  fromBpm: number;
  toBpm: number;
  kind: 'step' | 'gradual';
}

/** A stretch of the track in one key (a Viterbi path over the 24 keys with a cost for modulating). */
export interface KeySection {
  startSec: number;
  endSec: number;
  /** e.g. "A minor"; null for a stretch with no tonal centre. */
  key: string | null;
  confidence: number;
}

/** What is measured over the whole track beyond its tags: the beat grid, tempo changes and key sections. */
export interface TrackAnalysis {
  /** Beat times in seconds (3 decimals), in order; empty without a steady beat. */
  beats: number[];
  /** Indices into `beats` of the first beat of each bar; empty without a meter. */
  downbeats: number[];
  tempoChanges: TempoChange[];
  /** Key sections covering the track from 0 to its end, without gaps or overlaps. */
  keySections: KeySection[];
  /** Short-term loudness (3 s window, LUFS, floor -70) of the file, one value per second: the track's level curve. */
  loudnessCurve: number[];
  /** Present where the whole piece (after any intro) plays more than once: a game track looped in the file, a rip
   * with two loops and a fade (sections.ts, findLoop). */
  loop?: PieceLoop;
}

/** The music repeating as a whole: from `startSec` on, the same `periodSec` of music plays `passes` times to the end. */
export interface PieceLoop {
  startSec: number;
  periodSec: number;
  /** How many times it is heard from `startSec` to the end; the last time may be cut short (2.4). */
  passes: number;
}

/** A listener's plain word for a section, given only where the evidence is good. */
export type SectionName = 'intro' | 'outro' | 'break' | 'peak';

/**
 * A part of the song found from the music itself (self-similarity of harmony and timbre over beat-synchronous
 * frames, novelty peaks, repeated material clustered). Sections cover the track from 0 to its end without gaps
 * or overlaps.
 */
export interface SongSection {
  index: number;
  startSec: number;
  endSec: number;
  /** "A", "B", …: sections with the same label hold the same (repeated) material. */
  label: string;
  /** Plain name where the evidence is good (a quiet start is an intro, the loudest stretch the peak); else null. */
  name: SectionName | null;
  tags: {
    /** At the track's metrical level, from the beat grid; null without a steady beat. */
    bpm: number | null;
    /** The key section's key over most of the section; null without a tonal centre. */
    key: string | null;
    /** Integrated loudness (BS.1770-4) of the file over the section; null below -70 LUFS. */
    loudnessLufs: number | null;
    /** 0..1: the section's energy relative to the track's loudest section. */
    energy: number;
    /** Mean spectral centroid in Hz: brightness. */
    spectralCentroidHz: number;
  };
}
