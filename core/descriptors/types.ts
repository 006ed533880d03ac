/**
 * Measurements of the music, per 10-second window and per track.
 *
 * Every number is finite (JSON has no -Infinity): levels have a floor of -100 dB(FS), and a value that
 * cannot be measured (no beat in a window of silence, no pitch in noise) is `null` with confidence 0.
 */
export interface WindowTags {
  /** Tempo in beats per minute, free of octave errors; null when no steady beat is found. */
  bpm: number | null;
  /** 0..1: how sure the tempo estimate is. */
  bpmConfidence: number;
  /** Key and mode, e.g. "F# minor"; null when no tonal centre is found. */
  key: string | null;
  /** 0..1: how sure the key estimate is. */
  keyConfidence: number;
  /** Integrated loudness (ITU-R BS.1770) in LUFS; null when the audio is below the absolute gate (-70 LUFS). */
  loudnessLufs: number | null;
  /** RMS level in dBFS (floor -100). */
  rmsDbfs: number;
  /** Sample peak in dBFS (floor -100). */
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

/** Track-level measurements: the window measurements aggregated over the whole track, plus range. */
export interface TrackTags extends WindowTags {
  /** EBU R128 loudness range in LU. */
  loudnessRangeLu: number;
}
