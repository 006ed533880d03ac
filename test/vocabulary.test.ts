/**
 * One vocabulary (core/vocabulary.ts): the site's tags, the built-in captions, the local summary and the
 * similar-songs reasons call one measurement by one word; every word scale is ordered and covers its whole
 * range; note and key names round-trip with the key detector's.
 */
import type { Manifest, ManifestWindow, ResultChunk } from '#core/contract';
import type { TrackAnalysis, TrackTags, WindowTags } from '#core/descriptors/types';
import { captionWindows } from '#core/builtin-captioner';
import { estimateKey, KEY_PROFILE, KEY_PROFILES, PITCH_NAMES as KEY_TS_PITCH_NAMES } from '#core/descriptors/key';
import { similarityReason, type LibraryEntry } from '#core/library';
import { localSummary } from '#core/summary';
import {
  ATTACK_WORDS,
  BRIGHTNESS_WORDS,
  keyName,
  keyRelation,
  keyRelationStory,
  KEY_RELATION_WORDS,
  LOUDNESS_RANGE_WORDS,
  MASTER_LEVEL_WORDS,
  masterLevel,
  normalizeKeyName,
  parseKeyName,
  PERCUSSION_WORDS,
  PITCH_NAMES,
  TEMPO_WORDS,
  TRUE_PEAK_WORDS,
  wordFor,
  type WordScale,
} from '#core/vocabulary';
import { trackTagWords } from '../frontend/lib/words.ts';
import { windowTags } from './helpers/tags.ts';

const tags = windowTags;

/** A 30-second song whose every window and whole track measure `over`: one measurement, read by three readers. */
function readings(over: Partial<WindowTags>, trackOver: Partial<TrackTags> = {}): { tags: string[]; level: string | undefined; caption: string; summary: string } {
  const trackTags: TrackTags = { ...tags(over), loudnessRangeLu: 6, truePeakDbtp: -1.5, meter: '4/4', meterConfidence: 0.7, ...trackOver };
  const analysis: TrackAnalysis = { beats: [], downbeats: [], tempoChanges: [], keySections: [{ startSec: 0, endSec: 30, key: 'A minor', confidence: 0.7 }], loudnessCurve: [] };
  const windows: ManifestWindow[] = [0, 1, 2].map((index) => ({ index, file: `${index}.npy`, startSec: index * 10, endSec: index * 10 + 10, tags: tags(over) }));
  const captions = captionWindows(windows, { track: trackTags, analysis });
  const manifest: Manifest = {
    version: 1,
    id: 'song',
    upload: { bucket: 'b', key: 'uploads/song/song.mp3' },
    file: { name: 'song.mp3', sizeBytes: 1, durationSec: 30, sampleRate: 44100, channels: 2, codec: 'mp3' },
    sampleRate: 16000,
    windowSamples: 160000,
    windows,
    tags: trackTags,
    analysis,
  };
  const chunks: ResultChunk[] = windows.map((w, i) => ({ ...w, caption: captions[i].caption, quality: 'ok' }));
  const summary = localSummary(manifest, chunks, { backend: 'builtin', model: 'measurements-v2', windows: 3, seconds: 0 });
  const site = trackTagWords({ tags: trackTags, analysis });
  return { tags: site.map((t) => t.words), level: site.find((t) => t.number.endsWith(' LUFS'))?.words, caption: captions[0].caption, summary };
}

describe('one measurement, one word', () => {
  it.each([
    [-1.5, '-1.5', 'headroom left at the peaks', false],
    [-0.98, '-1.0', 'headroom left at the peaks', false],
    [-0.94, '-0.9', 'peaks at the very top', true],
  ])('calls a true peak of %d dBTP, shown as %s, "%s" in the site\'s tag, as the summary does', (dbtp, shown, word, above) => {
    const { tags: tagWords, summary } = readings({}, { truePeakDbtp: dbtp });
    expect(tagWords).toContain(word);
    expect(summary).toContain(`true peaks at ${shown} dBTP`);
    expect(summary.includes('above the -1 dBTP that streaming services ask for')).toBe(above);
  });

  it.each([
    [650, 'dark and warm'],
    [699, 'dark and warm'],
    [700, 'mellow'],
    [1100, 'mellow'],
    [1800, 'bright'],
    [3000, 'very bright'],
  ])('calls a %d Hz centroid "%s" in the site\'s tag, the opening caption and the summary', (hz, word) => {
    const { tags: tagWords, caption, summary } = readings({ spectralCentroidHz: hz });
    expect(tagWords).toContain(word);
    expect(caption).toContain(`; ${word}, `);
    expect(summary).toContain(`Its sound is ${word}: `);
  });

  it.each([
    [0.1, 'mostly sustained tones'],
    [0.25, 'mostly sustained tones'],
    [0.3, 'percussion and tones in balance'],
    [0.4, 'driven by percussion'],
    [0.55, 'driven by percussion'],
    [0.9, 'driven by percussion'],
  ])('calls a percussive share of %d "%s" in the site\'s tag, the opening caption and the summary', (ratio, word) => {
    const { tags: tagWords, caption, summary } = readings({ percussiveRatio: ratio });
    expect(tagWords).toContain(word);
    expect(caption).toContain(`${word}, with steady attacks.`);
    expect(summary).toContain(`: ${word}, with steady attacks.`);
  });

  it.each([
    [0.3, 'percussion and tones in balance'],
    [0.46, 'mostly percussive sounds'],
  ])('calls a percussive share of %d without a steady beat "%s", never "driven", in the tag, the caption and the summary', (ratio, word) => {
    const { tags: tagWords, caption, summary } = readings({ percussiveRatio: ratio, bpm: null, bpmConfidence: 0 });
    expect(caption).toContain('no steady beat');
    expect(tagWords).toContain(word);
    expect(caption).toContain(`${word}, with steady attacks.`);
    expect(summary).toContain(`: ${word}, with steady attacks.`);
    expect(caption + summary + tagWords.join(' ')).not.toContain('driven');
  });

  it.each([
    [60, 'slow'],
    [75.6, 'moderate'],
    [97, 'moderate'],
    [124, 'upbeat'],
    [139.4, 'upbeat'],
    [150, 'fast'],
  ])('calls %d BPM by the same tempo word in the site\'s tag and the opening caption', (bpm, word) => {
    const { tags: tagWords, caption } = readings({ bpm });
    expect(tagWords).toContain(`${word} tempo`);
    expect(caption).toMatch(new RegExp(`^Opens with an? ${word} (beat|pulse|groove) at about ${Math.round(bpm)} BPM`));
  });

  it('calls the master by the same level words in the site\'s tag, the opening caption and the summary', () => {
    for (const lufs of [-7, -11, -14, -16.5, -19, -23, -30]) {
      const { level, caption, summary } = readings({ loudnessLufs: lufs });
      expect(level).toBeDefined();
      expect(caption.toLowerCase()).toContain(`${level} (about ${Math.round(lufs)} lufs overall)`);
      expect(summary).toContain(`The master is ${level}: `);
    }
  });

  it('calls a 30 % brighter window "brighter" in a caption and a 30 % brighter song "brighter" in the similar-songs reason; 20 % is a shade in a caption and nothing in a reason', () => {
    const captionAfter = (ratio: number) => {
      const windows: ManifestWindow[] = [1, 1, ratio].map((r, index) => ({ index, file: `${index}.npy`, startSec: index * 10, endSec: index * 10 + 10, tags: tags({ spectralCentroidHz: 1200 * r }) }));
      const track: TrackTags = { ...tags(), loudnessRangeLu: 6, truePeakDbtp: -1.5, meter: '4/4', meterConfidence: 0.7 };
      const analysis: TrackAnalysis = { beats: [], downbeats: [], tempoChanges: [], keySections: [{ startSec: 0, endSec: 30, key: 'A minor', confidence: 0.7 }], loudnessCurve: [] };
      return captionWindows(windows, { track, analysis })[2].caption;
    };
    const song = (hz: number): LibraryEntry => ({
      version: 1, id: `s${hz}`, fileName: 's.mp3', createdAt: '2026-11-27T00:00:00Z', durationSec: 30, bpm: 120, key: 'A minor', meter: '4/4', loudnessLufs: -14,
      percussiveRatio: 0.4, spectralCentroidHz: hz, onsetsPerSec: 3, crestDb: 12, loudnessRangeLu: 6, centroidSpreadOctaves: 0, summary: '', captionText: '',
    });
    expect(captionAfter(1.3)).toMatch(/\bbrighter\b/);
    expect(captionAfter(1.3)).not.toMatch(/a shade brighter/);
    expect(similarityReason(song(1200), song(1560))).toMatch(/, brighter$/);
    expect(captionAfter(1.2)).toMatch(/a shade brighter/);
    expect(similarityReason(song(1200), song(1440))).not.toMatch(/brighter/);
    expect(similarityReason(song(1560), song(1200))).toMatch(/, darker$/);
  });
});

/** Every value a scale can be asked about, from far below its first bound to far above its last. */
function sweep(scale: WordScale): number[] {
  const bounds = scale.flatMap((band) => [band.below, band.upTo]).filter((v): v is number => v !== undefined);
  const low = Math.min(...bounds);
  const high = Math.max(...bounds);
  const span = high - low || 1;
  const values = [-Infinity, Infinity];
  for (let v = low - span; v <= high + span; v += span / 2000) values.push(v);
  for (const bound of bounds) values.push(bound, bound - 1e-9, bound + 1e-9);
  return values.sort((a, b) => a - b);
}

describe('the word scales', () => {
  const scales: Record<string, WordScale> = {
    tempo: TEMPO_WORDS,
    brightness: BRIGHTNESS_WORDS,
    percussion: PERCUSSION_WORDS,
    attacks: ATTACK_WORDS,
    'master level': MASTER_LEVEL_WORDS,
    'loudness range': LOUDNESS_RANGE_WORDS,
    'true peak': TRUE_PEAK_WORDS,
  };

  it.each(Object.entries(scales))('%s: bounds rise, words differ, and a sweep from -∞ to ∞ meets every band once, in order', (_, scale) => {
    const bounds = scale.slice(0, -1).map((band) => band.below ?? band.upTo);
    expect(bounds.every((b) => typeof b === 'number')).toBe(true);
    for (let i = 1; i < bounds.length; i++) expect(bounds[i]!).toBeGreaterThan(bounds[i - 1]!);
    expect(scale.at(-1)!.below ?? scale.at(-1)!.upTo).toBeUndefined();
    expect(new Set(scale.map((band) => band.words)).size).toBe(scale.length);
    const seen = sweep(scale).map((v) => scale.findIndex((band) => band.words === wordFor(scale, v)));
    const visited = seen.filter((band, i) => i === 0 || band !== seen[i - 1]);
    expect(visited).toEqual(scale.map((_, i) => i));
  });

  it('puts each bound on the side its band says: below is exclusive, upTo inclusive', () => {
    expect(wordFor(TEMPO_WORDS, 75.99)).toBe('slow');
    expect(wordFor(TEMPO_WORDS, 76)).toBe('moderate');
    expect(wordFor(PERCUSSION_WORDS, 0.25)).toBe('mostly sustained tones');
    expect(wordFor(PERCUSSION_WORDS, 0.2501)).toBe('percussion and tones in balance');
    expect(wordFor(PERCUSSION_WORDS, 0.3499)).toBe('percussion and tones in balance');
    expect(wordFor(PERCUSSION_WORDS, 0.35)).toBe('driven by percussion');
    expect(wordFor(TRUE_PEAK_WORDS, -1)).toBe('headroom left at the peaks');
    expect(wordFor(TRUE_PEAK_WORDS, 0.01)).toBe('peaks clip');
  });

  it('calls a quiet master dynamic only when its loudness range is wide, and near silence when it has no level', () => {
    expect(masterLevel(-23, 12)).toBe('quiet for a release, a dynamic classical-style master');
    expect(masterLevel(-23, 5)).toBe('quiet for a release');
    expect(masterLevel(null)).toBe('near silence');
  });
});

describe('note and key names', () => {
  it('are the key detector\'s own: each of the 24 key profiles is found, named, and read back to its tonic and mode', () => {
    expect(KEY_TS_PITCH_NAMES).toBe(PITCH_NAMES);
    const profile = KEY_PROFILES[KEY_PROFILE];
    for (const mode of ['major', 'minor'] as const) {
      for (let tonic = 0; tonic < 12; tonic++) {
        const chroma = Array.from({ length: 12 }, (_, pc) => profile[mode][(pc - tonic + 12) % 12]);
        const found = estimateKey(chroma);
        expect(found.key).toBe(keyName(tonic, mode));
        expect(parseKeyName(found.key)).toEqual({ pitchClass: tonic, mode });
        expect(normalizeKeyName(found.key)).toBe(found.key);
      }
    }
  });

  it('reads either spelling of a black key, and unicode accidentals, as the one key', () => {
    expect(normalizeKeyName('Gb minor')).toBe('F# minor');
    expect(normalizeKeyName('D♯ major')).toBe('Eb major');
    expect(normalizeKeyName('a# Minor')).toBe('Bb minor');
    expect(normalizeKeyName('H major')).toBeUndefined();
    expect(parseKeyName('Cb major')).toEqual({ pitchClass: 11, mode: 'major' });
  });

  it('names the relation of two keys the same way in a story and in a similar-songs reason', () => {
    expect(keyRelation('C major', 'A minor')).toBe('relative minor');
    expect(keyRelationStory('C major', 'A minor')).toBe('the relative minor');
    expect(KEY_RELATION_WORDS[keyRelation('A minor', 'E minor')!].reason).toBe('neighbouring key (a fifth apart)');
    expect(keyRelationStory('A minor', 'E minor')).toBe('the dominant');
    expect(keyRelation('C major', 'C minor')).toBe('parallel minor');
    expect(keyRelation('Gb major', 'F# major')).toBe('same');
    expect(keyRelationStory('C major', 'F# major')).toBeNull();
  });
});
