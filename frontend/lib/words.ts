/**
 * The result page in plain words: each measurement said the way a listener would say it, with the number and
 * a one-line explanation kept for hover and focus; a failed run in one sentence; download names after the song.
 * The words are core/vocabulary.ts's, as the captions and the summary use them. Browser-safe and pure.
 */
import type { ResultDocument } from '#core/contract';
import type { WindowTags } from '#core/descriptors/types';
import { keyPathWords, loopPeriodWords, sectionKeys, statedKey, statedMeter, timesWords } from '#core/song-shape';
import { beatStated, beatsToTheBar, colourWord, masterLevel, peakWords, percussionWords, rangeWords, STREAMING_REFERENCE_LUFS, tempoWord } from '#core/vocabulary';

export interface PlainTag {
  /** What a listener would say: "upbeat tempo", "loud, mastered hot". */
  words: string;
  /** The measurement behind it: "124 BPM". */
  number: string;
  /** One line on what the number is. */
  explanation: string;
}

export function trackTagWords(result: Pick<ResultDocument, 'tags' | 'analysis'>): PlainTag[] {
  const { tags } = result;
  const out: PlainTag[] = [];
  if (tags.bpm !== null) {
    out.push({ words: `${tempoWord(tags.bpm)} tempo`, number: `${Math.round(tags.bpm)} BPM`, explanation: 'Beats per minute, read off the beat grid of the whole track.' });
  }
  const meter = statedMeter(tags);
  if (meter) out.push({ words: beatsToTheBar(meter), number: meter, explanation: 'The meter: how the beats group into bars.' });
  const keys = result.analysis ? sectionKeys(result.analysis) : [];
  if (keys.length > 1) out.push({ words: `changes key: ${keyPathWords(keys)}`, number: `${keys.length} keys`, explanation: 'The keys of the song, in the order they are heard.' });
  else if (statedKey(tags.key, tags.keyConfidence)) out.push({ words: tags.key!, number: `${Math.round(tags.keyConfidence * 100)}% sure`, explanation: 'The key the harmony centres on, matched against key profiles.' });
  const loop = result.analysis?.loop;
  if (loop) {
    out.push({
      words: `repeats as a whole, ${timesWords(loop.passes)}`,
      number: `every ${loopPeriodWords(loop.periodSec, 's')}`,
      explanation: 'The music comes round again as a whole (its harmony and sound repeat unit for unit), as a game track looped in the file does.',
    });
  }
  if (tags.loudnessLufs !== null) {
    out.push({
      words: masterLevel(tags.loudnessLufs, tags.loudnessRangeLu),
      number: `${tags.loudnessLufs.toFixed(1)} LUFS`,
      explanation: `Integrated loudness (ITU-R BS.1770); streaming services play music at about ${STREAMING_REFERENCE_LUFS} LUFS.`,
    });
  }
  if (Number.isFinite(tags.loudnessRangeLu)) {
    out.push({ words: rangeWords(tags.loudnessRangeLu), number: `${tags.loudnessRangeLu.toFixed(1)} LU range`, explanation: 'Loudness range (EBU Tech 3342): how far the loud and soft passages lie apart.' });
  }
  if (Number.isFinite(tags.truePeakDbtp)) {
    out.push({ words: peakWords(tags.truePeakDbtp), number: `${tags.truePeakDbtp.toFixed(1)} dBTP`, explanation: 'True peak: the highest level between samples; above 0 dBTP it distorts.' });
  }
  out.push({
    words: percussionWords(tags.percussiveRatio, beatStated(tags)),
    number: `${Math.round(tags.percussiveRatio * 100)}% percussive`,
    explanation: 'The share of the sound’s energy in short attacks (drums, plucks) rather than held tones.',
  });
  out.push({
    words: colourWord(tags.spectralCentroidHz),
    number: `${(tags.spectralCentroidHz / 1000).toFixed(1)} kHz`,
    explanation: 'Spectral centroid: the frequency the sound’s energy centres on; higher sounds brighter.',
  });
  return out;
}

/** Who wrote the captions, in words: the built-in captioner is named for what it does, not its version tag. */
export function captionerWords(captioner: ResultDocument['captioner']): string {
  const why = captioner.fallbackReason ? ` (${captioner.fallbackReason.replace(/\.$/, '')})` : '';
  // A configured backend that gave nothing usable leaves the built-in captions standing, with its reason.
  if (captioner.backend === 'builtin') return `written from the measurements${why}`;
  const fallbacks = captioner.fallbacks ?? 0;
  if (fallbacks === 0) return `written by ${captioner.model}`;
  const some = fallbacks === 1 ? '1 window' : `${fallbacks} windows`;
  return `written by ${captioner.model}; ${some} from the measurements instead${why}`;
}

/** A failed run in one plain sentence, by what happened to the file. */
const FAILURE_SENTENCES: Record<string, string> = {
  InvalidAudio: 'This file could not be read as audio.',
  NoAudioStream: 'This file has no sound in it to caption.',
  AudioTooShort: 'This recording is too short to caption.',
  AudioTooLong: 'This recording is longer than the captioner takes.',
  FileTooLarge: 'This file is larger than the captioner takes.',
  UploadNotFound: 'The upload could not be found in storage.',
  CaptionsMissing: 'The captioner finished without writing captions.',
  SummaryAuthFailed: 'The summary service refused this site’s key.',
  SummaryQuotaExceeded: 'The summary service has no quota left.',
  SummaryRequestRejected: 'The summary service rejected the request.',
  ConfigError: 'The pipeline is not set up correctly.',
};

export function failureSentence(error: { name: string; step: string } | undefined): string {
  if (error && FAILURE_SENTENCES[error.name]) return FAILURE_SENTENCES[error.name];
  if (error && error.step !== 'Pipeline') return `Something went wrong while the song was at the ${error.step} step.`;
  return 'Something went wrong and the run stopped.';
}

/** "Evening-Song.mp3" → "Evening-Song": downloads are named after the song, so players pair song.vtt with song.mp3. */
export function songBaseName(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  const stem = (dot > 0 ? base.slice(0, dot) : base).replace(/["\\\u0000-\u001f]/g, '').trim();
  return stem || 'song';
}

/**
 * A window's facts under its caption ("171 BPM · E major · -12 LUFS"): its key only where the caption could state
 * it (a window the caption says has lost its clear key shows none).
 */
export function windowFacts(tags: Pick<WindowTags, 'bpm' | 'key' | 'keyConfidence' | 'loudnessLufs'>): string {
  return tempoKeyLevel(tags.bpm, statedKey(tags.key, tags.keyConfidence), tags.loudnessLufs).join(' · ');
}

/** "171 BPM", "E major", "-12 LUFS" where each is known: the facts a window and a section show alike. */
export function tempoKeyLevel(bpm: number | null, key: string | null, lufs: number | null): string[] {
  return [bpm !== null ? `${Math.round(bpm)} BPM` : null, key, lufs !== null ? `${lufs.toFixed(0)} LUFS` : null].filter((fact): fact is string => fact !== null);
}
