/**
 * The captioner that stands in where no BART weights are present: each window's caption is written from
 * that window's measurements, and says what changed from the window before. Every clause comes from a
 * number measured in the audio; nothing is said that was not measured.
 */
import type { CaptionEntry, ManifestWindow } from './contract.ts';
import type { WindowTags } from './descriptors/types.ts';

export const BUILTIN_CAPTIONER = { backend: 'builtin', model: 'measurements-v1' } as const;

export function captionWindows(windows: readonly ManifestWindow[]): CaptionEntry[] {
  return windows.map((window, i) => ({
    index: window.index,
    startSec: window.startSec,
    endSec: window.endSec,
    caption: captionWindow(window.tags, i > 0 ? windows[i - 1].tags : undefined),
    quality: 'ok',
  }));
}

/** Describes one window, and how it differs from the one before when there is one. */
export function captionWindow(tags: WindowTags, before?: WindowTags): string {
  if (tags.silenceRatio >= 0.9 || tags.loudnessLufs === null) {
    return before && before.silenceRatio < 0.9 ? 'The music stops: near silence.' : 'Near silence, with no music to speak of.';
  }
  const sentences: string[] = [];
  if (!before) {
    sentences.push(capitalize(`${pulse(tags)}${tonality(tags)}`) + '.');
    sentences.push(capitalize(`${level(tags)} and ${colour(tags)}, ${texture(tags)}`) + '.');
  } else {
    sentences.push(capitalize(`${pulseChange(before, tags)}${keyChange(before, tags)}`) + '.');
    const changes = contrasts(before, tags);
    sentences.push(
      changes.length > 0
        ? capitalize(`${joinList(changes)} than before, ${texture(tags)}`) + '.'
        : capitalize(`the sound stays ${level(tags).replace(/^(a |an )/, '')} and ${colour(tags)}, ${texture(tags)}`) + '.',
    );
  }
  if (tags.silenceRatio >= 0.3) sentences.push(`About ${percent(tags.silenceRatio)} of it is silent.`);
  return sentences.join(' ');
}

function tempoWord(bpm: number): string {
  if (bpm < 76) return 'slow';
  if (bpm < 108) return 'moderate';
  if (bpm < 140) return 'upbeat';
  return 'fast';
}

function pulse(tags: WindowTags): string {
  if (tags.bpm === null || tags.bpmConfidence < 0.15) {
    return tags.onsetsPerSec < 1 ? 'free-flowing, with no steady beat' : 'a loose rhythm without a steady beat';
  }
  const bpm = Math.round(tags.bpm);
  const word = tempoWord(bpm);
  return tags.bpmConfidence >= 0.4 ? `${article(word)} ${word} beat at about ${bpm} BPM` : `${article(word)} ${word} pulse, roughly ${bpm} BPM`;
}

function tonality(tags: WindowTags): string {
  if (!tags.key || tags.keyConfidence < 0.2) return ', with no clear key';
  return tags.keyConfidence >= 0.5 ? ` in ${tags.key}` : `, leaning towards ${tags.key}`;
}

function level(tags: WindowTags): string {
  const lufs = tags.loudnessLufs ?? -70;
  const value = `${Math.round(lufs)} LUFS`;
  if (lufs > -10) return `loud (${value})`;
  if (lufs > -18) return `moderately loud (${value})`;
  if (lufs > -28) return `soft (${value})`;
  return `very quiet (${value})`;
}

function colour(tags: WindowTags): string {
  const hz = tags.spectralCentroidHz;
  if (hz < 700) return 'dark and warm';
  if (hz < 1500) return 'mellow';
  if (hz < 2500) return 'bright';
  return 'very bright, with a lot of high end';
}

function texture(tags: WindowTags): string {
  const drive = tags.percussiveRatio >= 0.55 ? 'driven by percussion' : tags.percussiveRatio <= 0.25 ? 'mostly sustained tones' : 'with percussion and tones in balance';
  const activity = tags.onsetsPerSec >= 5 ? 'busy' : tags.onsetsPerSec >= 2 ? 'steady' : 'sparse';
  const dynamics = tags.crestDb >= 18 ? 'punchy' : tags.crestDb <= 9 ? 'dense and compressed' : '';
  return [drive, `${activity} attacks (${tags.onsetsPerSec.toFixed(1)} per second)`, dynamics].filter(Boolean).join(', ');
}

function pulseChange(before: WindowTags, now: WindowTags): string {
  const had = before.bpm !== null && before.bpmConfidence >= 0.15;
  const has = now.bpm !== null && now.bpmConfidence >= 0.15;
  if (!has) return had ? 'the steady beat drops away' : pulse(now);
  const bpm = Math.round(now.bpm!);
  if (!had) return `a beat comes in at about ${bpm} BPM`;
  const change = (now.bpm! - before.bpm!) / before.bpm!;
  if (Math.abs(change) <= 0.04) return `the beat holds at about ${bpm} BPM`;
  return `the tempo ${change > 0 ? 'picks up' : 'eases back'} from about ${Math.round(before.bpm!)} to ${bpm} BPM`;
}

function keyChange(before: WindowTags, now: WindowTags): string {
  const confident = (tags: WindowTags) => (tags.key && tags.keyConfidence >= 0.35 ? tags.key : null);
  const was = confident(before);
  const is = confident(now);
  if (is && was && is !== was) return `; the harmony moves from ${was} to ${is}`;
  if (is && !was) return `; the harmony settles in ${is}`;
  if (is) return `, still in ${is}`;
  return '';
}

function contrasts(before: WindowTags, now: WindowTags): string[] {
  const out: string[] = [];
  const lufsBefore = before.loudnessLufs ?? -70;
  const lufsNow = now.loudnessLufs ?? -70;
  const loudness = lufsNow - lufsBefore;
  if (loudness >= 2) out.push(`${loudness >= 6 ? 'much ' : ''}louder (${Math.round(lufsNow)} LUFS)`);
  if (loudness <= -2) out.push(`${loudness <= -6 ? 'much ' : ''}quieter (${Math.round(lufsNow)} LUFS)`);
  const brightness = now.spectralCentroidHz / Math.max(1, before.spectralCentroidHz);
  if (brightness >= 1.2) out.push('brighter');
  if (brightness <= 1 / 1.2) out.push('darker');
  const activity = now.onsetsPerSec - before.onsetsPerSec;
  if (activity >= 1.5) out.push('busier');
  if (activity <= -1.5) out.push('sparser');
  return out;
}

function joinList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
