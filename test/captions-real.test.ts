/**
 * Built-in captions and the local summary on manifests shaped like real music: a 3-minute song with a
 * modulation and a quiet break, a constant piece, a piece with a tempo change, a classical-style quiet master,
 * an ambient pad with no beat and no key, and silence.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { captionWindows } from '#core/builtin-captioner';
import { createBuiltinCaptioner } from '#runtime/captioners/builtin';
import type { CaptionEntry, Manifest, ManifestWindow, ResultChunk } from '#core/contract';
import type { KeySection, SongSection, TempoChange, TrackAnalysis, TrackTags, WindowTags } from '#core/descriptors/types';
import { repeatRate, withoutNumbers } from '#core/song-shape';
import { findContradictions, localSummary, summaryPrompt } from '#core/summary';

/** A small seeded generator, so that the jitter of "the same music" is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const base: WindowTags = {
  bpm: 95,
  bpmConfidence: 0.8,
  key: 'D major',
  keyConfidence: 0.7,
  loudnessLufs: -11,
  shortTermMaxLufs: -10,
  rmsDbfs: -13,
  peakDbfs: -0.5,
  crestDb: 12,
  spectralCentroidHz: 1800,
  onsetsPerSec: 3.2,
  silenceRatio: 0,
  percussiveRatio: 0.5,
};

interface Piece {
  name: string;
  durationSec: number;
  track: Partial<TrackTags>;
  keySections: KeySection[];
  tempoChanges?: TempoChange[];
  /** The beat grid (none by default). */
  beats?: number[];
  /** The song's sections as preprocess finds them: [start, label, name] from 0; the last runs to the end. */
  sections?: Array<[number, string, SongSection['name']]>;
  /** The window's tags before jitter, from its start time. */
  at: (startSec: number) => Partial<WindowTags>;
  seed?: number;
  /** The whole piece played more than once (analysis.loop). */
  loop?: TrackAnalysis['loop'];
}

/** A manifest as preprocess writes it: 10 s windows, a tail-aligned last one, small natural jitter on every measurement. */
function manifestOf(piece: Piece): Manifest {
  const next = random(piece.seed ?? 7);
  const jitter = (spread: number) => (next() * 2 - 1) * spread;
  const starts: number[] = [];
  for (let start = 0; start + 10 <= piece.durationSec; start += 10) starts.push(start);
  if (starts.length === 0) starts.push(0);
  else if (piece.durationSec - (starts.at(-1)! + 10) >= 1) starts.push(piece.durationSec - 10);
  const windows: ManifestWindow[] = starts.map((startSec, index) => {
    const tags: WindowTags = { ...base, key: piece.keySections.find((s) => startSec + 5 >= s.startSec && startSec + 5 < s.endSec)?.key ?? null, ...piece.at(startSec) };
    const audible = tags.loudnessLufs !== null;
    return {
      index,
      file: `${String(index).padStart(5, '0')}.npy`,
      startSec,
      endSec: Math.min(startSec + 10, piece.durationSec),
      tags: {
        ...tags,
        bpm: tags.bpm === null ? null : tags.bpm + jitter(0.4),
        loudnessLufs: audible ? tags.loudnessLufs! + jitter(0.5) : null,
        spectralCentroidHz: tags.spectralCentroidHz * (1 + jitter(0.05)),
        onsetsPerSec: Math.max(0, tags.onsetsPerSec + jitter(0.25)),
        percussiveRatio: Math.min(1, Math.max(0, tags.percussiveRatio + jitter(0.03))),
      },
    };
  });
  const audible = windows.filter((w) => w.tags.loudnessLufs !== null);
  const track: TrackTags = {
    ...base,
    key: piece.keySections[0]?.key ?? null,
    loudnessLufs: audible.length ? -11 : null,
    loudnessRangeLu: 6,
    truePeakDbtp: -0.4,
    meter: '4/4',
    meterConfidence: 0.7,
    ...piece.track,
  };
  const analysis: TrackAnalysis = {
    beats: piece.beats ?? [],
    downbeats: [],
    tempoChanges: piece.tempoChanges ?? [],
    keySections: piece.keySections,
    loudnessCurve: windows.flatMap((w) => Array.from({ length: 10 }, () => w.tags.loudnessLufs ?? -70)),
    ...(piece.loop ? { loop: piece.loop } : {}),
  };
  return {
    version: 1,
    id: piece.name,
    upload: { bucket: 'b', key: `uploads/x/${piece.name}` },
    file: { name: piece.name, sizeBytes: 1, durationSec: piece.durationSec, sampleRate: 44100, channels: 2, codec: 'mp3' },
    sampleRate: 16000,
    windowSamples: 160000,
    windows,
    tags: track,
    analysis,
    ...(piece.sections ? { sections: sectionsOf(piece, windows) } : {}),
  };
}

/** Sections with tags read off the windows they cover, as preprocess measures them. */
function sectionsOf(piece: Piece, windows: ManifestWindow[]): SongSection[] {
  const spans = piece.sections!;
  return spans.map(([startSec, label, name], index) => {
    const endSec = index + 1 < spans.length ? spans[index + 1][0] : piece.durationSec;
    const inside = windows.filter((w) => w.startSec >= startSec && w.startSec < endSec).map((w) => w.tags);
    const lufs = inside.map((t) => t.loudnessLufs).filter((v): v is number => v !== null);
    return {
      index, startSec, endSec, label, name,
      tags: {
        bpm: inside.some((t) => t.bpm !== null) ? 95 : null,
        key: piece.keySections.find((k) => (startSec + endSec) / 2 >= k.startSec && (startSec + endSec) / 2 < k.endSec)?.key ?? null,
        loudnessLufs: lufs.length ? lufs.reduce((a, b) => a + b, 0) / lufs.length : null,
        energy: 1,
        spectralCentroidHz: 1800,
      },
    };
  });
}

function caption(manifest: Manifest): CaptionEntry[] {
  return captionWindows(manifest.windows, { track: manifest.tags, analysis: manifest.analysis, sections: manifest.sections });
}

function chunksOf(manifest: Manifest, captions: CaptionEntry[]): ResultChunk[] {
  return manifest.windows.map((w, i) => ({ index: w.index, startSec: w.startSec, endSec: w.endSec, caption: captions[i].caption, quality: 'ok', tags: w.tags }));
}

/** The local summary of a manifest, written from its built-in captions. */
function summaryOf(manifest: Manifest, captions: CaptionEntry[] = caption(manifest)): string {
  return localSummary(manifest, chunksOf(manifest, captions), { backend: 'builtin', model: 'measurements-v2' });
}

/** A 3:10 rock song at 95 BPM mastered at -11 LUFS: a quieter intro that builds, a quiet break without the beat at 1:00–1:20, D major until 1:32 then E major, a loudest stretch at 2:20–2:50, a fade. */
const song: Piece = {
  name: 'song.mp3',
  durationSec: 190,
  track: { loudnessLufs: -11.2, loudnessRangeLu: 7 },
  keySections: [
    { startSec: 0, endSec: 92, key: 'D major', confidence: 0.8 },
    { startSec: 92, endSec: 190, key: 'E major', confidence: 0.75 },
  ],
  at: (start) => {
    if (start === 0) return { loudnessLufs: -18, onsetsPerSec: 2, percussiveRatio: 0.35 };
    if (start === 10) return { loudnessLufs: -14 };
    if (start === 20) return { loudnessLufs: -12 };
    if (start >= 60 && start < 80) return { bpm: null, bpmConfidence: 0, loudnessLufs: -24, onsetsPerSec: 0.8, percussiveRatio: 0.15, spectralCentroidHz: 900 };
    if (start >= 140 && start < 170) return { loudnessLufs: -8, spectralCentroidHz: 2300, onsetsPerSec: 4.5 };
    if (start >= 180) return { loudnessLufs: -20, onsetsPerSec: 1.5 };
    return {};
  },
};

/** The same song with the sections preprocess finds in it: an intro, the main part A, a quiet break, A again (into E major), the loudest part, an outro. */
const songWithSections: Piece = {
  ...song,
  sections: [[0, 'A', 'intro'], [20, 'B', null], [60, 'C', 'break'], [80, 'B', null], [140, 'D', 'peak'], [170, 'B', null], [180, 'E', 'outro']],
};

/** Three minutes of one groove at 120 BPM in A minor, at the streaming level. */
const constant: Piece = {
  name: 'constant.wav',
  durationSec: 180,
  track: { loudnessLufs: -14, bpm: 120, key: 'A minor', loudnessRangeLu: 2 },
  keySections: [{ startSec: 0, endSec: 180, key: 'A minor', confidence: 0.8 }],
  at: () => ({ bpm: 120, loudnessLufs: -14 }),
  seed: 11,
};

/** `constant` with a key path: each window reads its key section's key, or no key where the section is unclear (confidence under 0.2). */
function withKeyPath(name: string, keySections: KeySection[]): Piece {
  return {
    ...constant,
    name,
    keySections,
    at: (start) => {
      const section = keySections.find((k) => start >= k.startSec && start < k.endSec)!;
      return { bpm: 120, loudnessLufs: -14, ...(section.confidence < 0.2 ? { key: null, keyConfidence: 0.05 } : { key: section.key }) };
    },
  };
}

/** Two minutes at 100 BPM stepping up to 120 BPM at 1:01.5. */
const tempoStep: Piece = {
  name: 'step.flac',
  durationSec: 120,
  track: { bpm: 100 },
  keySections: [{ startSec: 0, endSec: 120, key: 'G major', confidence: 0.7 }],
  tempoChanges: [{ atSec: 61.5, fromBpm: 100, toBpm: 120, kind: 'step' }],
  at: (start) => ({ bpm: start + 10 <= 61.5 ? 100 : 120, key: 'G major' }),
  seed: 3,
};

/** 30 s at 120 BPM, a slowing to 108 the beat grid lists no change for (under 8 % a stretch), then a step up to 135 at 1:00. */
const driftThenStep: Piece = {
  ...tempoStep,
  name: 'drift.flac',
  // The whole track's tempo lies between its stretches'.
  track: { bpm: 131 },
  beats: (() => {
    const beats: number[] = [];
    for (let t = 0; t < 30; t += 0.5) beats.push(t);
    for (let t = 30; t < 60; t += 60 / (120 - (12 * (t - 30)) / 30)) beats.push(t);
    for (let t = 60; t < 120; t += 60 / 135) beats.push(t);
    return beats;
  })(),
  tempoChanges: [{ atSec: 60, fromBpm: 108, toBpm: 135, kind: 'step' }],
  at: (start) => ({ bpm: start < 30 ? 120 : start < 60 ? 112 : 135, key: 'G major' }),
};

describe('built-in captions on songs', () => {
  it('say what changed and never repeat the window before once numbers are removed', () => {
    // Prepare
    const pieces = [song, constant, tempoStep].map(manifestOf);
    // Act
    const captions = pieces.map((manifest) => caption(manifest).map((c) => c.caption));
    // Assess
    for (const list of captions) expect(repeatRate(list)).toBeLessThanOrEqual(0.05);
    expect(captions.flat().length).toBeGreaterThanOrEqual(49);
  });

  it('give the numbers once, in the first window, and narrate neither tempo nor key where nothing changed', () => {
    // Act
    const captions = caption(manifestOf(constant)).map((c) => c.caption);
    // Assess
    expect(captions[0]).toMatch(/about 120 BPM in 4\/4, in A minor/);
    expect(captions[0]).toMatch(/at the usual streaming level/i);
    for (const later of captions.slice(1)) {
      expect(later).not.toMatch(/BPM|LUFS|minor|major|tempo/);
      expect(later.split(/\s+/).length).toBeLessThanOrEqual(14);
    }
  });

  it('never calls a -11 LUFS master soft or quiet where it plays at its own level', () => {
    // Prepare
    const loud = manifestOf({ ...constant, name: 'loud.mp3', track: { ...constant.track, loudnessLufs: -11 }, at: () => ({ bpm: 120, loudnessLufs: -11 }) });
    const manifest = manifestOf(song);
    // Act
    const loudCaptions = caption(loud);
    const songCaptions = caption(manifest);
    // Assess
    expect(loudCaptions[0].caption).toMatch(/loud, mastered hot/i);
    for (const c of loudCaptions) expect(c.caption).not.toMatch(/soft|quiet/i);
    expect(songCaptions[0].caption).toMatch(/quiet start .* loud, mastered hot/i);
    manifest.windows.forEach((w, i) => {
      if (w.tags.loudnessLufs! > -15) expect(songCaptions[i].caption).not.toMatch(/soft|quiet/i);
    });
  });

  it('mentions the modulation and the quiet break where the analysis puts them', () => {
    // Act
    const captions = caption(manifestOf(song));
    // Assess
    const at = (sec: number) => captions.find((c) => c.startSec === sec)!.caption;
    expect(at(90)).toContain('modulates from D major to E major');
    expect(captions.filter((c) => /modulates/.test(c.caption))).toHaveLength(1);
    expect(at(60)).toMatch(/beat drops out.*quiet passage/);
    expect(at(80)).toMatch(/beat comes back|full sound comes back/);
    expect(at(140)).toMatch(/the track reaches its loudest/i);
    expect(at(170)).toMatch(/loudest stretch ends/);
    expect(at(180)).toMatch(/fades/);
  });

  it('mentions a tempo change in the window it falls in, and no tempo anywhere else after the opening', () => {
    // Act
    const captions = caption(manifestOf(tempoStep)).map((c) => c.caption);
    // Assess
    expect(captions[6]).toMatch(/the tempo steps up from about 100 to 120 BPM/i);
    captions.forEach((text, i) => {
      if (i !== 0 && i !== 6) expect(text).not.toMatch(/tempo|BPM|faster|slower/i);
    });
  });

  it('does not call a key that differs from the window before a modulation unless the sections change there', () => {
    // Prepare: a window's own key flips to the relative minor, but the key sections hold one key.
    const manifest = manifestOf({ ...constant, at: (start) => ({ bpm: 120, loudnessLufs: -14, key: start === 50 ? 'C major' : 'A minor' }) });
    // Act
    const captions = caption(manifest).map((c) => c.caption);
    // Assess
    for (const text of captions) expect(text).not.toMatch(/modulat|harmony|C major/);
  });

  it('open with the track tempo at its metrical level and the key of the section, whatever the window alone suggests', () => {
    // Prepare: the first window alone reads double time and the relative minor.
    const manifest = manifestOf({ ...constant, at: (start) => (start === 0 ? { bpm: 240, key: 'C major', loudnessLufs: -14 } : { bpm: 120, loudnessLufs: -14 }) });
    // Act
    const [first, ...rest] = caption(manifest);
    // Assess: a percussive beat is the groove from the first window on.
    expect(first.caption).toMatch(/^Opens with an upbeat groove at about 120 BPM in 4\/4, in A minor\./);
    expect(rest.some((c) => /the groove/i.test(c.caption))).toBe(true);
    expect(rest.some((c) => /the pulse/i.test(c.caption))).toBe(false);
  });

  it('name no tempo where a beat opens or comes in off the told tempo with no change to tell, and the told one where the window agrees', () => {
    // Prepare: a track told at 118 BPM whose beat opens at 107 (Wesnoth's Knolls: no tempo change the states bear out).
    const track = { ...constant.track, bpm: 118 };
    const opensOff = manifestOf({ ...constant, track, at: (start) => ({ bpm: start < 90 ? 107 : 120, loudnessLufs: -14 }) });
    // … and one whose first 30 s have no beat, the beat coming in at 107, or at 117.
    const comesIn = (bpm: number) => manifestOf({ ...constant, track, at: (start) => ({ bpm: start < 30 ? null : start < 90 ? bpm : 120, loudnessLufs: -14 }) });
    // Act
    const [opening] = caption(opensOff);
    const offTempo = caption(comesIn(107))[3].caption;
    const onTempo = caption(comesIn(117))[3].caption;
    // Assess
    expect(opening.caption).toMatch(/^Opens with a steady groove in 4\/4, in A minor\./);
    expect(opening.caption).not.toMatch(/BPM/);
    expect(offTempo).toMatch(/a steady beat comes in\b/i);
    expect(offTempo).not.toMatch(/BPM/);
    expect(onTempo).toMatch(/a steady beat comes in at about 118 BPM/i);
  });

  it('speak honestly of silence, of no beat and of no key, without numbers that were not measured', () => {
    // Prepare
    const silence = manifestOf({
      name: 'silence.wav', durationSec: 40, track: { bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0, meter: null, meterConfidence: 0, loudnessLufs: null },
      keySections: [{ startSec: 0, endSec: 40, key: null, confidence: 0 }],
      at: () => ({ bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0, loudnessLufs: null, shortTermMaxLufs: null, silenceRatio: 1, onsetsPerSec: 0 }),
    });
    const pad = manifestOf({
      name: 'pad.ogg', durationSec: 60, track: { bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0, meter: null, meterConfidence: 0, loudnessLufs: -19 },
      keySections: [{ startSec: 0, endSec: 60, key: null, confidence: 0.05 }],
      at: () => ({ bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0.05, loudnessLufs: -19, onsetsPerSec: 0.3, percussiveRatio: 0.1, spectralCentroidHz: 600 }),
    });
    // Act
    const silent = caption(silence).map((c) => c.caption);
    const padCaptions = caption(pad).map((c) => c.caption);
    const silentSummary = localSummary(silence, chunksOf(silence, caption(silence)), { backend: 'builtin', model: 'measurements-v2' });
    const padSummary = localSummary(pad, chunksOf(pad, caption(pad)), { backend: 'builtin', model: 'measurements-v2' });
    // Assess
    expect(silent[0]).toBe('Near silence, with no music to speak of.');
    for (const text of silent) expect(text).not.toMatch(/\d|BPM|LUFS|major|minor/);
    expect(repeatRate(silent)).toBeLessThanOrEqual(0.05);
    expect(padCaptions[0]).toMatch(/no steady beat, with no clear key/);
    expect(padCaptions[0]).toMatch(/well below the usual streaming level/i);
    for (const text of padCaptions) expect(text).not.toMatch(/BPM|major|minor|4\/4/);
    expect(repeatRate(padCaptions)).toBeLessThanOrEqual(0.05);
    expect(silentSummary).toMatch(/almost entirely silent/);
    expect(silentSummary).not.toMatch(/BPM|LUFS|major|minor/);
    expect(padSummary).toMatch(/with no steady beat and no clear key\./);
    expect(padSummary).not.toMatch(/BPM|major|minor|4\/4/);
  });

  it('say that a file whose channels cancel in mono holds music, rather than calling it silence', () => {
    // Prepare: left = -right: the file plays at -16 LUFS, its mono mix (what is analysed) is near silence.
    const inverted = manifestOf({
      name: 'inverted.flac', durationSec: 50,
      track: { bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0, meter: null, meterConfidence: 0, loudnessLufs: -16 },
      keySections: [{ startSec: 0, endSec: 50, key: null, confidence: 0 }],
      at: () => ({ bpm: null, bpmConfidence: 0, key: null, keyConfidence: 0, loudnessLufs: -16, rmsDbfs: -100, silenceRatio: 1, onsetsPerSec: 0 }),
    });
    // Act
    const captions = caption(inverted).map((c) => c.caption);
    const summary = localSummary(inverted, chunksOf(inverted, caption(inverted)), { backend: 'builtin', model: 'measurements-v2' });
    // Assess
    expect(captions[0]).toMatch(/channels cancel when mixed to mono/);
    expect(captions[0]).toMatch(/-16 LUFS/);
    for (const text of captions) expect(text).not.toMatch(/silence, with no music|BPM|major|minor/);
    expect(repeatRate(captions)).toBeLessThanOrEqual(0.05);
    expect(summary).toMatch(/-16\.0 LUFS in stereo/);
    expect(summary).toMatch(/cancel when mixed to mono/);
    expect(summary).not.toMatch(/almost entirely silent/);
  });

  it('say where the music stops and comes back, without comparing the music to the silence', () => {
    // Prepare
    const gap = manifestOf({
      ...constant,
      at: (start) => (start >= 60 && start < 80 ? { bpm: null, bpmConfidence: 0, loudnessLufs: null, silenceRatio: 1, onsetsPerSec: 0, spectralCentroidHz: 0 } : { bpm: 120, loudnessLufs: -14 }),
    });
    // Act
    const captions = caption(gap);
    const text = localSummary(gap, chunksOf(gap, captions), { backend: 'builtin', model: 'measurements-v2' });
    // Assess
    expect(captions[6].caption).toBe('The music stops: near silence.');
    expect(captions[7].caption).toMatch(/silence/i);
    expect(captions[8].caption).toBe('The music comes back in with the beat.');
    expect(text).toContain('stops at 1:00 and comes back in at 1:20');
  });

  it('tell a hard stop into silence from a fade', () => {
    const stop = manifestOf({ ...constant, at: (start) => (start >= 150 ? { bpm: null, bpmConfidence: 0, loudnessLufs: null, silenceRatio: 1, onsetsPerSec: 0 } : { bpm: 120, loudnessLufs: -14 }) });
    const captions = caption(stop);
    const text = localSummary(stop, chunksOf(stop, captions), { backend: 'builtin', model: 'measurements-v2' });
    expect(captions.slice(15).map((c) => c.caption)).toEqual(['The music ends: near silence.', expect.stringMatching(/silen/i), expect.stringMatching(/to the end/)]);
    expect(text).toContain('stops at 2:30, with silence to the end');
    expect(text).not.toContain('fades');
  });

  it('call a -23 LUFS master quiet for a release, dynamic only when its loudness range is wide, never the music soft', () => {
    const classical = manifestOf({ ...constant, name: 'adagio.flac', track: { ...constant.track, loudnessLufs: -23, loudnessRangeLu: 14 }, at: () => ({ bpm: 120, loudnessLufs: -23 }) });
    expect(caption(classical)[0].caption).toMatch(/quiet for a release, a dynamic classical-style master/i);
    for (const c of caption(classical)) expect(c.caption).not.toMatch(/soft/i);
    const flat = manifestOf({ ...constant, name: 'drone.flac', track: { ...constant.track, loudnessLufs: -23, loudnessRangeLu: 1 }, at: () => ({ bpm: 120, loudnessLufs: -23 }) });
    expect(caption(flat)[0].caption).toMatch(/Quiet for a release \(about -23 LUFS overall\)/);
  });
});

describe('the built-in caption job', () => {
  it('captions a shard exactly as a whole run captions those windows, and names model measurements-v2', async () => {
    // Prepare: a shard holding windows 8 to 12 of the song.
    const manifest = manifestOf(song);
    const root = mkdtempSync(path.join(tmpdir(), 'builtin-shard-'));
    const [windowsDir, outputDir] = ['windows', 'out'].map((name) => path.join(root, name));
    mkdirSync(windowsDir);
    mkdirSync(outputDir);
    for (const w of manifest.windows.slice(8, 13)) writeFileSync(path.join(windowsDir, w.file), '');
    writeFileSync(path.join(root, 'manifest.json'), JSON.stringify(manifest));
    // Act
    const info = await createBuiltinCaptioner().run({ windowsDir, outputDir, manifestPath: path.join(root, 'manifest.json') });
    // Assess
    const written = JSON.parse(readFileSync(path.join(outputDir, 'captions.json'), 'utf8')) as CaptionEntry[];
    expect(info).toEqual({ backend: 'builtin', model: 'measurements-v2' });
    expect(written).toEqual(caption(manifest).slice(8, 13));
  });
});

describe('built-in captions with the song\'s sections', () => {
  it('say where a new part begins and when a part heard before returns, and still never repeat the window before', () => {
    // Act
    const captions = caption(manifestOf(songWithSections)).map((c) => c.caption);
    // Assess
    expect(captions[2]).toMatch(/a new part \(B\) begins at 0:20/i);
    expect(captions[6]).toMatch(/a quiet break \(C\) begins at 1:00/i);
    expect(captions[8]).toMatch(/part B returns at 1:20, first heard at 0:20/i);
    expect(captions[14]).toMatch(/the loudest part \(D\) begins at 2:20/i);
    expect(captions[18]).toMatch(/the outro begins at 3:00/i);
    expect(captions.filter((c) => /through (the return of )?part B/.test(c)).length).toBeGreaterThan(0);
    expect(captions.some((c) => /through the return of part B/.test(c))).toBe(true);
    expect(repeatRate(captions)).toBeLessThanOrEqual(0.05);
  });
});

describe('built-in captions of a long intro and a long outro', () => {
  it('call them the intro and the outro, never by a letter no caption has introduced', () => {
    // Prepare: three minutes of one groove whose first 30 s are an intro (A) and last 40 s an outro (C); the captions
    // name them "the intro" and "the outro", so "part A" or "part C" would be letters a reader was never given.
    const piece: Piece = { ...constant, name: 'intro-outro.flac', sections: [[0, 'A', 'intro'], [30, 'B', null], [140, 'C', 'outro']] };
    // Act
    const captions = caption(manifestOf(piece)).map((c) => c.caption);
    // Assess
    expect(captions.filter((c) => /\bpart [AC]\b/.test(c))).toEqual([]);
    expect(captions.some((c) => /through the (intro|outro)/.test(c))).toBe(true);
    expect(captions[14]).toMatch(/the outro begins at 2:20/i);
  });
});

describe('built-in captions and summary on a beat whose window measurement wavers', () => {
  /** 2 minutes at 96 BPM whose window 0:40–0:50 measures no beat of its own; the beat grid runs through it or breaks off there. */
  const wavering = (gridBreaks: boolean): Piece => ({
    name: gridBreaks ? 'stop.flac' : 'swell.flac', durationSec: 120, track: {},
    keySections: [{ startSec: 0, endSec: 120, key: 'D minor', confidence: 0.8 }],
    beats: Array.from({ length: 192 }, (_, k) => k * 0.625).filter((t) => !gridBreaks || t < 40 || t >= 50),
    at: (start) => (start === 40 ? { bpm: null, bpmConfidence: 0, onsetsPerSec: 0.4 } : { bpm: 96 }),
  });
  const told = (piece: Piece) => {
    const manifest = manifestOf(piece);
    const captions = caption(manifest);
    return { captions: captions.map((c) => c.caption), summary: summaryOf(manifest, captions) };
  };

  it('say nothing of the beat dropping out and coming back where the beat grid runs on through one window', () => {
    // Act
    const { captions, summary } = told(wavering(false));
    // Assess
    expect(captions.join(' ')).not.toMatch(/drops out|comes back/);
    expect(captions[4]).not.toMatch(/groove|pulse/i);
    expect(summary).not.toMatch(/drops the beat/);
  });

  it('still tell a stop where the beat grid itself breaks off for a window', () => {
    // Act
    const { captions, summary } = told(wavering(true));
    // Assess
    expect(captions[4]).toMatch(/the steady beat drops out/i);
    expect(captions[5]).toMatch(/the beat comes back/i);
    expect(summary).toMatch(/drops the beat at 0:40/);
  });
});

describe('a part heard before that comes back at its loudest', () => {
  it('is told as that part returning, not as "the loudest part" under the same letter', () => {
    // Prepare: B, the main part, first at 0:20; B again at 1:20, now the loudest stretch of the track.
    const piece: Piece = {
      name: 'return-loud.flac', durationSec: 140, track: { loudnessLufs: -14 },
      keySections: [{ startSec: 0, endSec: 140, key: 'C minor', confidence: 0.8 }],
      at: (start) => ({ loudnessLufs: start >= 80 && start < 110 ? -9 : -14 }),
      sections: [[0, 'A', null], [20, 'B', null], [60, 'C', null], [80, 'B', 'peak'], [110, 'A', null]],
    };
    const manifest = manifestOf(piece);
    // Act
    const captions = caption(manifest).map((c) => c.caption);
    const summary = summaryOf(manifest);
    // Assess
    expect(captions[8]).toMatch(/part B returns at 1:20, first heard at 0:20, now at its loudest/i);
    expect(summary).toContain('B returns at 1:20, at its loudest');
    expect(summary).not.toContain('the loudest part (B)');
  });
});

describe('built-in captions of a build that starts from a quiet passage', () => {
  it('say "it starts to build" where the first step was told as the full sound coming back, never "still building" first', () => {
    // Prepare: a quiet passage at 0:30, then three steps up to the loudest window.
    const rising: Piece = {
      name: 'rising.flac', durationSec: 90, track: { loudnessLufs: -13 },
      keySections: [{ startSec: 0, endSec: 90, key: 'F minor', confidence: 0.8 }],
      at: (start) => ({ loudnessLufs: ({ 30: -21, 40: -17, 50: -14, 60: -11 } as Record<number, number>)[start] ?? -14 }),
    };
    // Act
    const captions = caption(manifestOf(rising)).map((c) => c.caption);
    // Assess
    expect(captions[4]).toMatch(/^The full sound comes back/);
    expect(captions[5]).toMatch(/^It starts to build/);
    expect(captions[6]).toMatch(/^The build tops out/);
  });
});

describe('built-in captions where a named part begins inside a window', () => {
  const piece = (name: string, peakAt: number, at: Piece['at']): Piece => ({
    name, durationSec: 120, track: {},
    keySections: [{ startSec: 0, endSec: 120, key: 'A minor', confidence: 0.8 }],
    at,
    sections: [[0, 'A', null], [peakAt, 'B', 'peak'], [peakAt + 40, 'C', 'break']],
  });

  it('announce a part that begins late in a window in the next one, where its level words describe that part', () => {
    // Prepare: the loudest part begins at 0:39, one second before its first window; a quiet break at 1:19.
    const late = piece('late.flac', 39, (start) => ({ loudnessLufs: start === 30 ? -16 : start < 40 ? -14 : start === 70 ? -8 : start < 80 ? -10 : -24 }));
    // Act
    const captions = caption(manifestOf(late)).map((c) => c.caption);
    // Assess
    expect(captions[3]).not.toMatch(/loudest part/);
    expect(captions[4]).toMatch(/the full sound comes back \(-10 LUFS\); the loudest part \(B\) begins at 0:39/i);
    expect(captions[7]).not.toMatch(/quiet break/);
    expect(captions[8]).toMatch(/the music fades \(-24 LUFS\); a quiet break \(C\) begins at 1:19/i);
  });

  it('do not call a window quieter in the sentence that says the loudest part begins in it', () => {
    // Prepare: the loudest part begins at 0:35, halfway through a window a little softer than the one before.
    const middle = piece('middle.flac', 35, (start) => ({ loudnessLufs: start === 30 ? -12.5 : start < 30 ? -11 : start < 75 ? -8 : -24 }));
    // Act
    const captions = caption(manifestOf(middle)).map((c) => c.caption);
    // Assess
    expect(captions[3]).toMatch(/the loudest part \(B\) begins at 0:35/i);
    expect(captions[3]).not.toMatch(/quieter|pulling back|down in level/i);
  });
});

describe('the local summary', () => {
  it('says "an 18 s intro", and tells an eleventh section rather than counting "1 more section"', () => {
    // Prepare: one groove in eleven sections, the first an 18 s intro; then the same with thirteen.
    const starts = [0, 18, 30, 45, 60, 75, 90, 105, 120, 135, 150, 160, 170];
    const labels = ['A', 'B', 'C', 'B', 'D', 'B', 'C', 'E', 'B', 'F', 'B', 'G', 'B'];
    const inSections = (count: number): Piece => ({
      ...constant,
      name: `sections-${count}.flac`,
      sections: starts.slice(0, count).map((start, i): [number, string, SongSection['name']] => [start, labels[i], i === 0 ? 'intro' : null]),
    });
    const summaryOfPiece = (piece: Piece) => summaryOf(manifestOf(piece));
    // Act
    const eleven = summaryOfPiece(inSections(11));
    const thirteen = summaryOfPiece(inSections(13));
    // Assess
    expect(eleven).toContain('After an 18 s intro, ');
    expect(eleven).not.toMatch(/more section/);
    expect(eleven).toContain('B returns at 2:30');
    expect(thirteen).toContain('3 more sections follow, 2 of them bringing back earlier parts');
  });

  it('does not say a track opens in a key its first minute has no clear sense of, where the shape says when it settles there', () => {
    // Prepare: no clear key for the first 57 s, then G minor, then C major from 2:20.
    const manifest = manifestOf(withKeyPath('unclear-start.flac', [
      { startSec: 0, endSec: 57, key: 'C major', confidence: 0.05 },
      { startSec: 57, endSec: 140, key: 'G minor', confidence: 0.7 },
      { startSec: 140, endSec: 180, key: 'C major', confidence: 0.7 },
    ]));
    // Act
    const text = summaryOf(manifest);
    // Assess
    expect(text).toMatch(/runs 3:00 at about 120 BPM in 4\/4, with no clear key at first\./);
    expect(text).not.toMatch(/opening in/);
    expect(text).toMatch(/settles in G minor at 0:5\d/);
  });

  it('does not say a track opens in the one key it settles in after an opening without a clear key', () => {
    // Prepare: as Colobot's Humanitarian: no clear key for 2:09, then E minor, and no clear key again for the end.
    const manifest = manifestOf(withKeyPath('unclear-then-one-key.ogg', [
      { startSec: 0, endSec: 129, key: 'G major', confidence: 0.05 },
      { startSec: 129, endSec: 170, key: 'E minor', confidence: 0.7 },
      { startSec: 170, endSec: 180, key: 'E minor', confidence: 0.05 },
    ]));
    // Act
    const text = summaryOf(manifest);
    // Assess
    expect(text).toMatch(/runs 3:00 at about 120 BPM in 4\/4, with no clear key at first\./);
    expect(text).toMatch(/settles in E minor at 2:09/);
  });

  it('tells a track that repeats as a whole once, with where the music comes round again, and still its closing fade', () => {
    // Prepare: after a 10 s opening, a 60 s piece played three times (A, a quiet break B, A again), fading over the last 20 s.
    const piece: Piece = {
      ...constant,
      name: 'looped.ogg',
      durationSec: 190,
      sections: [[0, 'A', 'intro'], [10, 'B', null], [40, 'C', 'break'], [50, 'B', null], [70, 'B', null], [100, 'C', 'break'], [110, 'B', null], [130, 'B', null], [160, 'C', 'break'], [170, 'B', null]],
      at: (start) => ({ bpm: 120, loudnessLufs: start >= 170 ? -24 - (start - 170) / 2 : start === 0 || (start - 10) % 60 === 30 ? -26 : -14 }),
      loop: { startSec: 10, periodSec: 60, passes: 3 },
    };
    const manifest = manifestOf(piece);
    // Act
    const captions = caption(manifest);
    const text = summaryOf(manifest, captions);
    // Assess
    expect(text).toContain('After a 10 s opening, the music repeats as a whole every 60 seconds (3 times in all); it is told here once.');
    expect(text.match(/goes quiet at/g)).toHaveLength(1);
    expect(text).toMatch(/fades out from 2:40/);
    expect(text).not.toContain('1:40');
    expect(captions.find((c) => c.startSec === 70)?.caption).toMatch(/^The music comes round again, the second time through/);
    expect(captions.find((c) => c.startSec === 130)?.caption).toMatch(/^The music comes round again, the third time through/);
    expect(captions.filter((c) => /comes round again/.test(c.caption))).toHaveLength(2);
  });

  it('does not announce the part a pass opens with again, where the sections place it a few seconds from the loop\'s restart', () => {
    // Prepare: as Verbose's daytime theme: a 38 s piece played twice from 0:03 (restart at 0:41), its sections A at 0:00
    // and 0:48, B at 0:23 and 1:01.
    const piece: Piece = {
      ...constant,
      name: 'daytime.ogg',
      durationSec: 78,
      sections: [[0, 'A', null], [23, 'B', null], [48, 'A', null], [61, 'B', null]],
      loop: { startSec: 3, periodSec: 38, passes: 1.97 },
    };
    // Act
    const captions = caption(manifestOf(piece)).map((c) => c.caption);
    // Assess
    expect(captions[4]).toMatch(/^The music comes round again, the second time through/);
    expect(captions.join(' ')).not.toMatch(/Part A returns/);
    expect(captions.join(' ')).toMatch(/Part B returns at 1:01/);
  });

  it('tells the first sixteen changes of a long loop and counts the rest by kind, with the closing fade', () => {
    // Prepare: 20 minutes of a 100-second loop: 70 s of the groove, 30 s quiet; A major for 15:00–16:40; a fade over the last 30 s.
    const piece: Piece = {
      ...constant,
      name: 'loop.ogg',
      durationSec: 1200,
      track: { ...constant.track, key: 'Ab major', loudnessRangeLu: 12 },
      keySections: [
        { startSec: 0, endSec: 900, key: 'Ab major', confidence: 0.8 },
        { startSec: 900, endSec: 1000, key: 'A major', confidence: 0.8 },
        { startSec: 1000, endSec: 1200, key: 'Ab major', confidence: 0.8 },
      ],
      at: (start) => ({ bpm: 120, loudnessLufs: start >= 1170 ? -14 - (start - 1160) : start % 100 >= 70 ? -26 : -14 }),
    };
    const manifest = manifestOf(piece);
    // Act
    const text = summaryOf(manifest);
    // Assess: 8 quiet passages and their returns told, up to 13:20; from 14:30, 3 more quiet passages and 2 key changes counted
    expect(text.match(/goes quiet at/g)).toHaveLength(8);
    expect(text).toContain('comes back in at 13:20. From 14:30 on, it goes quiet 3 more times and changes key 2 times, and fades out from 19:30.');
    expect(text).not.toContain('A major');
  });

  it('tells a key heard before as a return after a stretch without a clear key, not as settling in it', () => {
    // Prepare: Planet Blupi's loop: Ab major, A major from 1:17, no clear key from 2:00, back in Ab major at 2:32.
    const piece: Piece = {
      ...constant,
      name: 'loop.ogg',
      keySections: [
        { startSec: 0, endSec: 77, key: 'Ab major', confidence: 0.7 },
        { startSec: 77, endSec: 120, key: 'A major', confidence: 0.7 },
        { startSec: 120, endSec: 152, key: 'C major', confidence: 0.05 },
        { startSec: 152, endSec: 180, key: 'Ab major', confidence: 0.7 },
      ],
      at: (start) => ({ bpm: 120, loudnessLufs: -14, ...(start >= 120 && start < 150 ? { key: null, keyConfidence: 0.05 } : { key: start < 77 || start >= 150 ? 'Ab major' : 'A major' }) }),
    };
    const manifest = manifestOf(piece);
    // Act
    const captions = caption(manifest);
    const text = summaryOf(manifest, captions);
    // Assess
    expect(text).toMatch(/opening in Ab major\./);
    expect(text).toContain('loses its clear key at 2:00');
    expect(text).toContain('returns to Ab major at 2:32');
    expect(text).not.toContain('settles in');
    expect(captions.find((c) => c.startSec === 150)?.caption).toMatch(/^The music returns to Ab major/);
    expect(captions.map((c) => c.caption).join(' ')).not.toContain('settles in Ab major');
  });

  it('tells the song in its sections: the intro, the main part, the break, the returns, the peak and the outro', () => {
    // Prepare
    const manifest = manifestOf(songWithSections);
    const chunks = chunksOf(manifest, caption(manifest));
    // Act
    const text = localSummary(manifest, chunks, { backend: 'builtin', model: 'measurements-v2' });
    // Assess
    expect(text).toContain('After a 20 s intro, the main part (B) enters at 0:20. A quiet break (C) comes at 1:00; B returns at 1:20, now in E major.');
    expect(text).toContain('The loudest part (D) arrives at 2:20; B returns at 2:50. It ends with a 10 s outro from 3:00.');
    expect(text.match(/BPM/g)).toHaveLength(1);
  });

  it('does not say the level stays even when it tells a louder part, and says only the level stays even when the parts differ in texture alone', () => {
    // Prepare: the same song twice, its middle part 3 LU above the rest (short of a build or a loudest stretch), then level throughout.
    const parts: Piece['sections'] = [[0, 'A', null], [40, 'B', null], [80, 'A', null]];
    const louderMiddle: Piece = {
      name: 'middle.flac', durationSec: 120, track: { loudnessLufs: -13 },
      keySections: [{ startSec: 0, endSec: 120, key: 'G major', confidence: 0.8 }],
      at: (start) => ({ loudnessLufs: start >= 40 && start < 80 ? -11 : -14 }),
      sections: parts,
    };
    // (an even master: under 4 LU of loudness range, as the level's evenness needs)
    const level: Piece = { ...louderMiddle, name: 'level.flac', track: { loudnessLufs: -14, loudnessRangeLu: 2 }, at: () => ({ loudnessLufs: -14 }) };
    // Act
    const louder = summaryOf(manifestOf(louderMiddle));
    const even = summaryOf(manifestOf(level));
    // Assess
    expect(louder).toContain('a louder part B follows at 0:40');
    expect(louder).not.toMatch(/stays? even/);
    expect(even).toContain('Its level stays even from start to end.');
    expect(even).not.toContain('texture');
  });

  it('calls a part quieter or louder only against a main part it has named: not after a soft opening, not against the loudest part', () => {
    // Prepare: an orchestral piece that opens softly (-24 LUFS) and grows part by part; the longest part is the loudest.
    const growing: Piece = {
      name: 'growing.flac', durationSec: 160, track: { bpm: null, bpmConfidence: 0, loudnessLufs: -16 },
      keySections: [{ startSec: 0, endSec: 160, key: 'D minor', confidence: 0.8 }],
      at: (start) => ({ bpm: null, loudnessLufs: start < 20 ? -24 : start < 50 ? -20 : start < 90 ? -17 : -12 }),
      sections: [[0, 'A', null], [20, 'B', null], [50, 'C', null], [90, 'D', 'peak']],
    };
    // … and the same levels where the longest part comes first: then the others are told against it.
    const mainFirst: Piece = {
      ...growing, name: 'main-first.flac',
      at: (start) => ({ bpm: null, loudnessLufs: start < 70 ? -14 : start < 100 ? -20 : -13 }),
      sections: [[0, 'A', null], [70, 'B', null], [100, 'A', null]],
    };
    // Act
    const grows = summaryOf(manifestOf(growing));
    const told = summaryOf(manifestOf(mainFirst));
    // Assess
    expect(grows).toContain('It opens with part A; a part B follows at 0:20. A part C follows at 0:50; the loudest part (D) arrives at 1:30.');
    expect(grows).not.toMatch(/quieter part|louder part/);
    expect(told).toContain('It opens with the main part (A); a quieter part B follows at 1:10');
  });

  it('brings a part back "back in" the key it had when first heard, and "now in" a new one', () => {
    // Prepare: A in D major, B in E major, A again in D major, B again now in F major.
    const returning: Piece = {
      name: 'returning.flac',
      durationSec: 240,
      track: {},
      keySections: [
        { startSec: 0, endSec: 60, key: 'D major', confidence: 0.8 },
        { startSec: 60, endSec: 120, key: 'E major', confidence: 0.8 },
        { startSec: 120, endSec: 180, key: 'D major', confidence: 0.8 },
        { startSec: 180, endSec: 240, key: 'F major', confidence: 0.8 },
      ],
      at: () => ({}),
      sections: [[0, 'A', null], [60, 'B', null], [120, 'A', null], [180, 'B', null]],
    };
    const manifest = manifestOf(returning);
    // Act
    const text = summaryOf(manifest);
    // Assess
    expect(text).toContain('A returns at 2:00, back in D major');
    expect(text).toContain('B returns at 3:00, now in F major');
  });

  it('brings a new part "back in" a key the story has told, and tells the key a track without a clear opening key settles in', () => {
    // Prepare: FreeOrion's ambient theme: no clear key at first, Ab major from 1:00, Eb major from 2:00, Ab major again
    // from 3:00, each with a new part; and the same keys where the opening is already in Ab major.
    const keySections = [
      { startSec: 0, endSec: 60, key: 'C major', confidence: 0.05 },
      { startSec: 60, endSec: 120, key: 'Ab major', confidence: 0.8 },
      { startSec: 120, endSec: 180, key: 'Eb major', confidence: 0.8 },
      { startSec: 180, endSec: 240, key: 'Ab major', confidence: 0.8 },
    ];
    const drifting: Piece = {
      name: 'drifting.ogg', durationSec: 240, track: { bpm: null, bpmConfidence: 0 }, keySections,
      at: () => ({ bpm: null }),
      sections: [[0, 'A', null], [60, 'B', null], [120, 'C', null], [180, 'D', null]],
    };
    const clearOpening: Piece = { ...drifting, name: 'clear.ogg', keySections: [{ ...keySections[1], startSec: 0 }, ...keySections.slice(2)], sections: [[0, 'A', null], [120, 'C', null], [180, 'D', null]] };
    // Act
    const unclear = summaryOf(manifestOf(drifting));
    const clear = summaryOf(manifestOf(clearOpening));
    // Assess
    expect(unclear).toContain('no clear key at first');
    expect(unclear).toMatch(/a part B follows at 1:00, in Ab major\b/i);
    expect(unclear).toMatch(/a part D follows at 3:00, back in Ab major\b/i);
    expect(clear).toMatch(/a part C follows at 2:00, in Eb major \(the dominant\)/i);
    expect(clear).toMatch(/a part D follows at 3:00, back in Ab major\b/i);
    expect(unclear + clear).not.toContain('subdominant');
  });

  it('gives the LLM the sections as facts, with their letters, names, keys and levels', () => {
    // Act
    const prompt = summaryPrompt(manifestOf(songWithSections), chunksOf(manifestOf(songWithSections), caption(manifestOf(songWithSections))));
    // Assess
    expect(prompt.user).toMatch(/Sections \(the same letter is the same music\): 0:00–0:20 A \(intro, 95 BPM, D major, -1\d LUFS\); 0:20–1:00 B \(95 BPM, D major/);
    expect(prompt.user).toContain('3:00–3:10 E (outro');
    expect(prompt.system).toContain('sections with the same letter hold the same music');
  });

  it('describes the shape of the song with times, and its facts once', () => {
    // Prepare
    const manifest = manifestOf(song);
    const chunks = chunksOf(manifest, caption(manifest));
    // Act
    const text = localSummary(manifest, chunks, { backend: 'builtin', model: 'measurements-v2' });
    // Assess
    expect(text).toMatch(/^"song\.mp3" runs 3:10 at about 95 BPM in 4\/4, opening in D major\./);
    expect(text).toContain('The master is loud, mastered hot: -11.2 LUFS integrated, 3 LU above the -14 LUFS streaming reference');
    expect(text).toContain('true peaks at -0.4 dBTP (above the -1 dBTP');
    expect(text).toContain('opens quietly');
    expect(text).toMatch(/builds from 0:\d0/);
    expect(text).toContain('breaks down to a quiet passage without the beat at 1:00');
    expect(text).toContain('modulates from D major to E major at 1:32');
    expect(text).toContain('is at its loudest from 2:20 to 2:50');
    expect(text).toContain('fades out from 3:00');
    expect(text.match(/BPM/g)).toHaveLength(1);
    expect(text).not.toMatch(/soft/);
  });

  it('says a constant piece stays even rather than stitching its captions together', () => {
    const manifest = manifestOf(constant);
    const text = summaryOf(manifest);
    expect(text).toContain('Its level and texture stay even from start to end.');
    expect(text).not.toMatch(/carries on|keeps going/);
  });

  it('says the level stays even only where the loudness range says so too', () => {
    // Arrange: the same constant piece with the usual pop master's 6 LU range ("some loud and soft passages" on the
    // site), and with sections of one level
    const ranged = manifestOf({ ...constant, track: { ...constant.track, loudnessRangeLu: 6 } });
    const sectioned = manifestOf({ ...constant, track: { ...constant.track, loudnessRangeLu: 6 }, sections: [[0, 'A', null], [90, 'B', null]] });

    // Act
    const text = summaryOf(ranged);
    const sectionedText = summaryOf(sectioned);

    // Assert
    expect(text).toContain('Its texture stays even from start to end, and no part of it is louder or quieter than the rest.');
    expect(text).not.toMatch(/level (and texture )?stays? even/);
    expect(sectionedText).toContain('No part of it is louder or quieter than the rest.');
    expect(sectionedText).not.toMatch(/level (and texture )?stays? even/);
  });

  it('does not call a 9-second sting with a 12 LU loudness range even', () => {
    // Arrange: Drascula's track12 in one window: a stab, two near-silent seconds, then a loud hit that fades
    const sting = manifestOf({
      name: 'sting.ogg', durationSec: 9, track: { loudnessLufs: -14.2, loudnessRangeLu: 12.1, bpm: 135, key: 'Bb major' },
      keySections: [{ startSec: 0, endSec: 9, key: 'Bb major', confidence: 0.7 }],
      at: () => ({ bpm: 135, loudnessLufs: -14 }),
    });
    const quiet = manifestOf({
      name: 'jingle.ogg', durationSec: 9, track: { loudnessLufs: -18, loudnessRangeLu: 3, bpm: 135, key: 'Bb major' },
      keySections: [{ startSec: 0, endSec: 9, key: 'Bb major', confidence: 0.7 }],
      at: () => ({ bpm: 135, loudnessLufs: -18 }),
    });

    // Act
    const text = summaryOf(sting);
    const evenText = summaryOf(quiet);

    // Assert
    expect(sting.windows).toHaveLength(1);
    expect(text).toContain('with a loudness range of 12.1 LU');
    expect(text).not.toMatch(/even|no part/);
    // One window compares no texture: only the level, which the range vouches for
    expect(evenText).toContain('Its level stays even from start to end.');
    expect(evenText).not.toMatch(/texture stays? even/);
  });

  it('tells a return to the home key from a move to a new one', () => {
    // Prepare
    const manifest = manifestOf({
      ...constant,
      keySections: [
        { startSec: 0, endSec: 36.9, key: 'C major', confidence: 0.9 },
        { startSec: 36.9, endSec: 133, key: 'G major', confidence: 0.5 },
        { startSec: 133, endSec: 186, key: 'C major', confidence: 0.9 },
        { startSec: 186, endSec: 240, key: 'G major', confidence: 0.5 },
      ],
      durationSec: 240,
    });
    // Act
    const captions = caption(manifest);
    const text = localSummary(manifest, chunksOf(manifest, captions), { backend: 'builtin', model: 'measurements-v2' });
    // Assess
    expect(captions[3].caption).toBe('The music modulates from C major to G major.');
    expect(captions[13].caption).toBe('The music returns to C major.');
    expect(text).toContain('modulates from C major to G major at 0:36, returns to C major at 2:13 and returns to G major at 3:06');
  });

  it('states the tempo a piece opens at from its beat grid, not the tempo it drifted to before its first change', () => {
    // Prepare
    const manifest = manifestOf(driftThenStep);
    // Act
    const captions = caption(manifest);
    const text = localSummary(manifest, chunksOf(manifest, captions), { backend: 'builtin', model: 'measurements-v2' });
    // Assess
    expect(text).toMatch(/starting at about 120 BPM/);
    expect(text).toContain('steps up from about 108 to 135 BPM at 1:00');
    expect(captions[0].caption).toMatch(/about 120 BPM/);
  });

  it('states the tempo a piece opens at from its first seconds, where the grid later drifted for longer than it opened', () => {
    // Prepare: Wesnoth's Silvan Sanctuary: 45 s at 180 BPM, 100 s at 160 that no listed change divides from it, then a
    // step up to 182 at 2:25.
    const manifest = manifestOf({
      ...tempoStep,
      name: 'silvan.ogg',
      durationSec: 210,
      track: { bpm: 176 },
      beats: (() => {
        const beats: number[] = [];
        for (let t = 0; t < 45; t += 60 / 180) beats.push(t);
        for (let t = 45; t < 145; t += 60 / 160) beats.push(t);
        for (let t = 145; t < 210; t += 60 / 182) beats.push(t);
        return beats;
      })(),
      tempoChanges: [{ atSec: 145, fromBpm: 160, toBpm: 182, kind: 'step' }],
      at: (start) => ({ bpm: start < 45 ? 180 : start < 145 ? 160 : 182, key: 'G major' }),
    });
    // Act
    const captions = caption(manifest);
    const text = summaryOf(manifest, captions);
    // Assess
    expect(text).toMatch(/starting at about 180 BPM/);
    expect(text).toContain('steps up from about 160 to 182 BPM at 2:25');
    expect(captions[0].caption).toMatch(/about 180 BPM/);
  });

  it('tells one opening tempo where the grid opens within the same tempo of the first step\'s start', () => {
    // Prepare: Hedgewars' City: the grid's first minute at 102 BPM, a step told from the 98 it settles at to 111.
    const manifest = manifestOf({
      ...tempoStep,
      name: 'city.ogg',
      track: { bpm: 104 },
      beats: (() => {
        const beats: number[] = [];
        for (let t = 0; t < 61.5; t += 60 / 102) beats.push(t);
        for (let t = 61.5; t < 120; t += 60 / 111) beats.push(t);
        return beats;
      })(),
      tempoChanges: [{ atSec: 61.5, fromBpm: 98, toBpm: 111, kind: 'step' }],
    });
    // Act
    const captions = caption(manifest);
    const text = summaryOf(manifest, captions);
    const { user } = summaryPrompt(manifest, chunksOf(manifest, captions));
    // Assess
    expect(text).toMatch(/starting at about 98 BPM/);
    expect(text).toContain('steps up from about 98 to 111 BPM at 1:01');
    expect(text).not.toContain('102');
    expect(captions[0].caption).toMatch(/about 98 BPM/);
    expect(user).toContain('opening at about 98 BPM');
  });

  it('tells a step that came while the beat was out with the beat coming back, not a window before it', () => {
    // Prepare: Colobot's Humanitarian: a beat at 104 BPM, 50 s of held pad at full level, the beat back at 130 from
    // 1:19.5 (the grid's first beats back fall a little before the window that hears the beat again).
    const beats: number[] = [];
    for (let t = 0; t < 30; t += 60 / 104) beats.push(t);
    for (let t = 79.5; t < 120; t += 60 / 130) beats.push(t);
    const piece: Piece = {
      ...tempoStep,
      name: 'pad.ogg',
      track: { bpm: 130 },
      beats,
      tempoChanges: [{ atSec: 79.7, fromBpm: 104, toBpm: 130, kind: 'step' }],
      at: (start) => ({ bpm: start < 30 ? 104 : start < 80 ? null : 130, bpmConfidence: start >= 30 && start < 80 ? 0 : 0.9, key: 'G major' }),
    };
    const manifest = manifestOf(piece);
    // Act
    const captions = caption(manifest);
    const text = summaryOf(manifest, captions);
    // Assess
    expect(captions.find((c) => c.startSec === 70)?.caption).not.toMatch(/tempo|BPM/);
    expect(captions.find((c) => c.startSec === 80)?.caption).toMatch(/^The beat comes back, now at about 130 BPM \(up from 104\)/);
    expect(text).toContain('drops the beat at 0:30');
    expect(text).toContain('comes back in at 1:20, now at about 130 BPM (up from 104)');
    expect(text).not.toContain('steps up');
  });

  it('names a tempo change with its time', () => {
    const manifest = manifestOf(tempoStep);
    const text = summaryOf(manifest);
    expect(text).toMatch(/starting at about 100 BPM/);
    expect(text).toContain('steps up from about 100 to 120 BPM at 1:01');
  });
});

describe('the LLM prompt and its contradiction check', () => {
  it('tells the LLM where a track repeats as a whole, and nothing of the kind where it does not', () => {
    // Prepare
    const looped = manifestOf({ ...constant, loop: { startSec: 0.5, periodSec: 45.2, passes: 3.98 } });
    const plain = manifestOf(constant);
    // Act
    const { user } = summaryPrompt(looped, chunksOf(looped, caption(looped)));
    const plainUser = summaryPrompt(plain, chunksOf(plain, caption(plain))).user;
    // Assess
    expect(user).toContain('Repeats as a whole: It repeats as a whole every 45 seconds (4 times in all). Tell the piece once and say how often it comes round.');
    expect(plainUser).not.toContain('Repeats as a whole');
  });

  it('gives the LLM the track tempo and meter, key sections and tempo changes with times, and the file loudness against -14 LUFS', () => {
    // Prepare
    const manifest = manifestOf(song);
    // Act
    const { user, system } = summaryPrompt(manifest, chunksOf(manifest, caption(manifest)));
    // Assess
    expect(user).toMatch(/tempo 95 BPM \(confidence 0\.80\); meter 4\/4 \(confidence 0\.70\)/);
    expect(user).toContain('Key sections: 0:00–1:32 D major (confidence 0.80); 1:32–3:10 E major (confidence 0.75).');
    expect(user).toContain('Tempo changes: none (one tempo throughout).');
    expect(user).toContain('integrated -11.2 LUFS (3 LU above the -14 LUFS streaming reference: loud, mastered hot), loudness range 7.0 LU, true peak -0.4 dBTP');
    expect(user).toContain('[0:00–0:10] Opens with');
    expect(system).toMatch(/never soft/);
  });

  it('rejects a meter, a key or a tempo that was not measured, and accepts those that were', () => {
    // Prepare
    const manifest = manifestOf({ ...song, tempoChanges: [{ atSec: 120, fromBpm: 95, toBpm: 110, kind: 'gradual' }] });
    const check = (text: string) => findContradictions(text, manifest.tags, manifest.analysis);
    // Act + Assess
    expect(check('A 95 BPM rocker in 4/4, D major, that lifts to E major and pushes to 110 BPM.')).toEqual([]);
    expect(check('In common time at 101 bpm, in D-major.')).toEqual([]);
    expect(check('A waltz in 3/4.')).toEqual(['states 3/4 but the measured meter is 4/4']);
    expect(check('It swings in 12/8 and waltz time.')).toHaveLength(2);
    expect(check('It opens in B minor.')).toEqual(['states B minor but the measured keys are D major, E major']);
    expect(check('A major change comes at 1:00. A minor key colours the bridge.')).toEqual(['states A minor but the measured keys are D major, E major']);
    expect(check('Driving at 190 BPM.')).toEqual(['states 190 BPM but the measured tempo is 95 BPM']);
    expect(check('Around 104 BPM on the way up.')).toEqual([]);
    expect(check('Around 125 BPM.')).toHaveLength(1);
    expect(check('It starts at 1:30 and ends at 3/4 of its length... 24/7.')).toEqual(['states 3/4 but the measured meter is 4/4']);
  });

  it('gives the LLM the tempo a piece opens at beside its tempo changes, and accepts it', () => {
    // Prepare
    const manifest = manifestOf(driftThenStep);
    // Act
    const { user } = summaryPrompt(manifest, chunksOf(manifest, caption(manifest)));
    const check = (text: string) => findContradictions(text, manifest.tags, manifest.analysis);
    // Assess
    expect(user).toContain('Tempo changes: opening at about 120 BPM, then at 1:00 a step from 108 to 135 BPM.');
    expect(check('It opens at 120 BPM, sags to 108 BPM and jumps to 135 BPM.')).toEqual([]);
    expect(check('It opens at 96 BPM.')).toHaveLength(1);
  });

  it('rejects any meter when the meter was heard with too little confidence to state', () => {
    const manifest = manifestOf({ ...song, track: { meter: '4/4', meterConfidence: 0.1 } });
    expect(findContradictions('Steady 4/4 throughout.', manifest.tags, manifest.analysis)).toEqual(['states 4/4 but the measured meter is not determined']);
    expect(summaryPrompt(manifest, chunksOf(manifest, caption(manifest))).user).toContain('meter not determined');
  });

  it('rejects any meter when none was measured', () => {
    const manifest = manifestOf({ ...song, track: { meter: null, meterConfidence: 0 } });
    expect(findContradictions('A lilting 6/8.', manifest.tags, manifest.analysis)).toEqual(['states 6/8 but the measured meter is not determined']);
  });
});

/** Prints the captions when CAPTIONS_PRINT is set: for reading them as a person would. */
if (process.env.CAPTIONS_PRINT) {
  for (const piece of [song, constant, tempoStep]) {
    const manifest = manifestOf(piece);
    const captions = caption(manifest);
    console.log(
      [piece.name, ...captions.map((c) => `${c.startSec}s ${c.caption}`), localSummary(manifest, chunksOf(manifest, captions), { backend: 'builtin', model: 'x' }), `repeat ${repeatRate(captions.map((c) => c.caption))}`, withoutNumbers('')].join('\n'),
    );
  }
}
