/**
 * `npm run bench:descriptors`: accuracy and speed of the music descriptors against a labelled corpus that
 * ffmpeg synthesises in this run, and against ffmpeg's own ebur128 meter on the same files.
 *
 *   tempo:    share within ±3 % of the labelled BPM (so no octave errors), target ≥ 95 %
 *   key:      share exactly right, mode included, target ≥ 90 %
 *   loudness: largest |ours − ffmpeg ebur128| in LU, target ≤ 1 LU
 *   speed:    all descriptors for a 3-minute track, × real time on one core, and vs. ffmpeg's decode
 *
 * Options: --quick (a smaller corpus), --keep (keep the generated files), --json <file>.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrackAnalyzer } from '../core/descriptors/index.ts';
import {
  DRUM_PATTERNS, PITCH_CLASS_NAMES, TIMBRES, decode, ffmpegEbur128, makeKeyItem, makeLevelItem, makeTempoItem, runFfmpeg,
  synthesize, chordExpression, PROGRESSIONS, tempoCorrect, tenSecondWindows,
  type KeyItem, type TempoItem,
} from './lib/descriptor-corpus.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const keep = args.includes('--keep');
const jsonIndex = args.indexOf('--json');
const jsonFile = jsonIndex >= 0 ? args[jsonIndex + 1] : undefined;

const TEMPOS = quick ? [60, 85, 116, 143, 180] : [60, 66, 72, 78, 85, 92, 100, 108, 116, 125, 134, 143, 152, 162, 171, 180];
const LEVELS = [-30, -24, -18, -12, -6];

async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  }));
  return results;
}

function analyze(samples: Float32Array) {
  const analyzer = new TrackAnalyzer(16_000);
  for (let i = 0; i < samples.length; i += 16_384) analyzer.push(samples.subarray(i, i + 16_384));
  return analyzer.finish(tenSecondWindows(samples.length / 16_000));
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'descriptor-bench-'));
  const concurrency = Math.max(1, Math.min(4, os.availableParallelism()));
  const report: Record<string, unknown> = {};
  try {
    // ---------------------------------------------------------------- tempo
    const tempoSpecs = DRUM_PATTERNS.flatMap((pattern) => TEMPOS.map((bpm) => ({ pattern, bpm })));
    const tempoItems = await inParallel(tempoSpecs, concurrency, ({ pattern, bpm }) => makeTempoItem(dir, pattern, bpm, 20));
    let tempoRight = 0;
    let windowRight = 0;
    let windowCount = 0;
    const tempoMisses: string[] = [];
    for (const item of tempoItems) {
      const { samples } = await decode(item.file);
      const { track, windows } = analyze(samples);
      if (tempoCorrect(track.bpm, item.bpm)) tempoRight++;
      else tempoMisses.push(`${item.pattern} @ ${item.bpm}: measured ${track.bpm} (confidence ${track.bpmConfidence})`);
      for (const w of windows) {
        windowCount++;
        if (tempoCorrect(w.bpm, item.bpm)) windowRight++;
      }
    }
    const tempoShare = tempoRight / tempoItems.length;
    console.log(`tempo: ${tempoRight}/${tempoItems.length} tracks within ±3 % with no octave error = ${pct(tempoShare)} (target ≥ 95 %); `
      + `10-s windows: ${pct(windowRight / windowCount)}`);
    for (const miss of tempoMisses) console.log(`  miss: ${miss}`);
    report.tempo = { tracks: tempoItems.length, right: tempoRight, share: tempoShare, windowShare: windowRight / windowCount, misses: tempoMisses };

    // ---------------------------------------------------------------- key
    const keySpecs: Array<{ tonic: number; mode: 'major' | 'minor'; variant: number }> = [];
    for (let tonic = 0; tonic < 12; tonic++) {
      for (const mode of ['major', 'minor'] as const) {
        for (let variant = 0; variant < (quick ? 1 : 2); variant++) keySpecs.push({ tonic, mode, variant });
      }
    }
    const keyItems: KeyItem[] = await inParallel(keySpecs, concurrency, ({ tonic, mode, variant }) => {
      const index = tonic * 2 + variant + (mode === 'minor' ? 1 : 0);
      const drums = variant === 1 && tonic % 2 === 0 ? 90 + 4 * tonic : undefined;
      return makeKeyItem(dir, tonic, mode, index, TIMBRES[index % TIMBRES.length], 16, drums);
    });
    let keyRight = 0;
    const keyMisses: string[] = [];
    for (const item of keyItems) {
      const { samples } = await decode(item.file);
      const { track } = analyze(samples);
      const truth = `${PITCH_CLASS_NAMES[item.tonic]} ${item.mode}`;
      if (track.key === truth) keyRight++;
      else keyMisses.push(`${item.label}: measured ${track.key} (confidence ${track.keyConfidence})`);
    }
    const keyShare = keyRight / keyItems.length;
    console.log(`key: ${keyRight}/${keyItems.length} exactly right, mode included = ${pct(keyShare)} (target ≥ 90 %)`);
    for (const miss of keyMisses) console.log(`  miss: ${miss}`);
    report.key = { tracks: keyItems.length, right: keyRight, share: keyShare, misses: keyMisses };

    // ---------------------------------------------------------------- loudness
    const sources = [tempoItems[0], tempoItems[Math.floor(tempoItems.length / 2)], keyItems[0], keyItems[keyItems.length - 1]];
    const levelSpecs: Array<{ source: TempoItem | KeyItem; peak: number; sourcePeak: number }> = [];
    for (const source of sources) {
      const { samples } = await decode(source.file);
      let peak = 0;
      for (const s of samples) peak = Math.max(peak, Math.abs(s));
      for (const level of LEVELS) levelSpecs.push({ source, peak: level, sourcePeak: 20 * Math.log10(peak) });
    }
    const levelItems = await inParallel(levelSpecs, concurrency, (s) => makeLevelItem(dir, s.source.file, s.sourcePeak, s.peak));
    let worst = 0;
    let worstRange = 0;
    const loudnessRows: string[] = [];
    const references = await inParallel(levelItems, concurrency, (item) => ffmpegEbur128(item.file));
    for (const [i, item] of levelItems.entries()) {
      const { samples } = await decode(item.file);
      const { track } = analyze(samples);
      const reference = references[i];
      const difference = track.loudnessLufs === null ? Infinity : Math.abs(track.loudnessLufs - reference.integrated);
      worst = Math.max(worst, difference);
      worstRange = Math.max(worstRange, Math.abs(track.loudnessRangeLu - reference.range));
      loudnessRows.push(`${path.basename(item.file)}: ours ${track.loudnessLufs} LUFS, ffmpeg ${reference.integrated} LUFS; peak ${track.peakDbfs} dBFS`);
    }
    console.log(`loudness: largest |ours − ffmpeg ebur128| = ${worst.toFixed(2)} LU over ${levelItems.length} files at ${LEVELS.join(', ')} dBFS peak `
      + `(target ≤ 1 LU); loudness range: largest difference ${worstRange.toFixed(2)} LU`);
    if (args.includes('--verbose')) for (const row of loudnessRows) console.log(`  ${row}`);
    report.loudness = { files: levelItems.length, worstDifferenceLu: worst, worstRangeDifferenceLu: worstRange };

    // ---------------------------------------------------------------- speed
    const song = path.join(dir, 'song-3min.wav');
    const drums = DRUM_PATTERNS[0].expression(60 / 112);
    const chords = chordExpression(9, PROGRESSIONS.minor[1].chords, TIMBRES[3], 60 / 112 * 4);
    await synthesize(song, `0.6*(${drums})+${chords}`, 180);
    const mp3 = path.join(dir, 'song-3min.mp3');
    await runFfmpeg(['-y', '-i', song, '-ar', '44100', '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '192k', mp3]);
    const decoded = await decode(mp3);
    const duration = decoded.samples.length / 16_000;
    const runs: number[] = [];
    for (let run = 0; run < 5; run++) {
      const started = process.hrtime.bigint();
      const analyzer = new TrackAnalyzer(16_000);
      for (let i = 0; i < decoded.samples.length; i += 65_536) analyzer.push(decoded.samples.subarray(i, i + 65_536));
      analyzer.finish(tenSecondWindows(duration));
      runs.push(Number(process.hrtime.bigint() - started) / 1e9);
    }
    const best = Math.min(...runs);
    const median = runs.slice().sort((a, b) => a - b)[2];
    const decodeRuns: number[] = [];
    for (let run = 0; run < 3; run++) decodeRuns.push((await runFfmpeg(['-threads', '1', '-i', mp3, '-ac', '1', '-ar', '16000', '-f', 's16le', '-'])).seconds);
    const decodeSeconds = Math.min(...decodeRuns);
    console.log(`speed: ${duration.toFixed(0)} s track (${tenSecondWindows(duration).length} windows) in ${(median * 1000).toFixed(0)} ms median `
      + `(best ${(best * 1000).toFixed(0)} ms, first ${(runs[0] * 1000).toFixed(0)} ms) = ${(duration / median).toFixed(0)}× real time on one core `
      + `(target ≥ 500×); ffmpeg's MP3 decode of the same file: ${(decodeSeconds * 1000).toFixed(0)} ms, so descriptors cost `
      + `${(median / decodeSeconds).toFixed(2)}× the decode`);
    report.speed = { durationSec: duration, medianSec: median, bestSec: best, realTimeFactor: duration / median, decodeSec: decodeSeconds };

    const pass = tempoShare >= 0.95 && keyShare >= 0.9 && worst <= 1 && duration / median >= 500;
    console.log(pass ? 'all targets met' : 'some targets missed');
    if (jsonFile) await writeFile(jsonFile, JSON.stringify(report, null, 2));
    process.exitCode = pass ? 0 : 1;
  } finally {
    if (keep) console.log(`corpus kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
