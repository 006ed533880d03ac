/**
 * Rhythm figures on the real-music corpus: the beat tracker (core/descriptors/beats.ts) and, with
 * --librosa, librosa.beat.beat_track on the same files as a yardstick (never a dependency of the product).
 *
 *   npx tsx bench/lib/eval-rhythm.ts [truth.json] [--librosa PYTHON] [--verbose] [--json out.json] [--held-out | --held-out-b] [--gain-db DB]
 *
 * --gain-db plays every file DB decibels softer or louder (the decoded samples scaled, unclipped): the same music at
 * another level must give the same figures.
 *
 * A tuning tool: it leaves out the held-out pieces ("heldOut": true, see bench/real-corpus/README.md) unless
 * --held-out asks for group A alone or --held-out-b for group B alone, to look at, never to choose a setting on.
 *
 * Definitions (as mir_eval's tempo and the field use them):
 *   tempo exact:   |ours / truth − 1| ≤ 4 %, truth = the written tempo, or for 6/8 and 12/8 the dotted quarter too
 *                  (real-corpus.ts's tempoScore, the bench's own rule)
 *   tempo ×2/×½:   exact, or exact against 2× or ½× a truth
 *   meter exact:   the same label ('2/4', '3/4', '4/4', '6/8', '12/8')
 *   window jumps:  adjacent 10 s windows (hop 10 s), both with a tempo, whose tempi differ by more than 25 %
 * Tempo counts constant-tempo pieces whose notes are on the written grid (tempo.onGrid ≥ ON_GRID_MIN, see
 * scripts/lib/midi-truth.ts); window jumps count constant-tempo pieces; meter counts pieces with a meter we name.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { TrackAnalyzer } from '../../core/descriptors/index.ts';
import { analyzeRhythm, tempoBetween, type RhythmAnalysis } from '../../core/descriptors/beats.ts';
import { decode } from './descriptor-corpus.ts';
import { type HeldOutGroup, scoresTempo, tempoScore, tuningToolPieces } from './real-corpus.ts';
import { ON_GRID_MIN } from '../../scripts/lib/midi-truth.ts';

interface TruthPiece {
  id: string;
  file: string;
  kind?: string;
  durationSec?: number;
  tempo: { bpm: number; constant: boolean; map?: Array<{ atSec: number; bpm: number }>; beatBpm?: number; onGrid?: number } | null;
  meter: string | null;
  heldOut?: boolean;
  heldOutGroup?: HeldOutGroup;
}

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const truthFile = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--') && !['--verbose', '--held-out', '--held-out-b'].includes(args[i - 1])))
  ?? 'bench/real-corpus/truth.json';
const python = flag('--librosa');
const verbose = args.includes('--verbose');
const jsonOut = flag('--json');
const gain = 10 ** (Number(flag('--gain-db') ?? 0) / 20);
const METERS = new Set(['2/4', '3/4', '4/4', '6/8', '12/8']);

function resolveAudio(file: string): string {
  if (path.isAbsolute(file)) return file;
  for (const base of [path.dirname(truthFile), '.corpus/real', '.']) {
    const p = path.resolve(base, file);
    if (existsSync(p)) return p;
  }
  return path.resolve('.corpus/real', file);
}


function windowJumps(bpms: Array<number | null>): { pairs: number; jumps: number } {
  let pairs = 0;
  let jumps = 0;
  for (let i = 1; i < bpms.length; i++) {
    const a = bpms[i - 1];
    const b = bpms[i];
    if (a === null || b === null) continue;
    pairs++;
    if (Math.max(a, b) / Math.min(a, b) > 1.25) jumps++;
  }
  return { pairs, jumps };
}

const LIBROSA_SCRIPT = `
import sys, json, warnings
warnings.filterwarnings('ignore')
import numpy as np, librosa
out = {}
for f in sys.argv[1:]:
    y, sr = librosa.load(f, sr=22050, mono=True)
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units='time')
    out[f] = {'bpm': float(np.atleast_1d(tempo)[0]), 'beats': [float(b) for b in beats]}
print(json.dumps(out))
`;

function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
}

/** Window tempi from a bare beat list (for the yardstick): median inter-beat interval per window. */
function windowsFromBeats(beats: number[], duration: number): Array<number | null> {
  const out: Array<number | null> = [];
  for (let s = 0; s + 10 <= duration + 1e-6; s += 10) {
    const inside = beats.filter((b) => b >= s && b < s + 10);
    const d: number[] = [];
    for (let i = 1; i < inside.length; i++) d.push(inside[i] - inside[i - 1]);
    out.push(d.length >= 3 ? 60 / medianOf(d) : null);
  }
  return out;
}

async function main() {
  const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as { pieces: TruthPiece[] };
  const chosen = tuningToolPieces(truth.pieces, args);
  if (chosen.note) console.log(chosen.note);
  const listed = chosen.pieces.filter((p) => p.tempo || p.meter);
  // Pieces whose audio is not (yet) built are left out, and said so.
  const pieces = listed.filter((p) => existsSync(resolveAudio(p.file)));
  if (pieces.length < listed.length) console.log(`(${listed.length - pieces.length} of ${listed.length} pieces have no audio yet: left out)`);
  const rows: Array<Record<string, unknown>> = [];
  let analysisMs = 0;
  let audioSec = 0;
  const ours = { n: 0, exact: 0, octave: 0, meterN: 0, meterExact: 0, pairs: 0, jumps: 0, spurious: 0, varying: 0, varyingFound: 0, noBeat: 0, constant: 0, offGrid: [] as string[] };
  const lib = { n: 0, exact: 0, octave: 0, pairs: 0, jumps: 0 };
  const confusion = new Map<string, number>();
  // The same figures per kind of audio (truth.json's kind: MIDI render, LMMS render, recording with chart).
  const byKind = new Map<string, { n: number; exact: number; octave: number; meterN: number; meterExact: number }>();
  const files = pieces.map((p) => resolveAudio(p.file));

  let librosa: Record<string, { bpm: number; beats: number[] }> = {};
  if (python) {
    const cache = '/tmp/eval-rhythm-librosa.json';
    const cached = existsSync(cache) ? JSON.parse(readFileSync(cache, 'utf8')) : {};
    const missing = files.filter((f) => !(f in cached));
    if (missing.length) {
      const out = execFileSync(python, ['-c', LIBROSA_SCRIPT, ...missing], { maxBuffer: 1 << 28, encoding: 'utf8' });
      Object.assign(cached, JSON.parse(out));
      writeFileSync(cache, JSON.stringify(cached));
    }
    librosa = cached;
  }

  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k];
    const file = files[k];
    const decoded = (await decode(file)).samples;
    const samples = gain === 1 ? decoded : decoded.map((x) => x * gain);
    const analyzer = new TrackAnalyzer(16_000);
    for (let i = 0; i < samples.length; i += 16_384) analyzer.push(samples.subarray(i, i + 16_384));
    analyzer.finish([]);
    const duration = samples.length / 16_000;
    // CPU time of this process (user + system), less disturbed than wall time on a shared machine.
    const started = process.cpuUsage();
    const rhythm: RhythmAnalysis = analyzeRhythm(analyzer.frames.short, duration);
    const used = process.cpuUsage(started);
    analysisMs += (used.user + used.system) / 1000;
    audioSec += duration;
    const windows: Array<number | null> = [];
    for (let s = 0; s + 10 <= duration + 1e-6; s += 10) windows.push(tempoBetween(rhythm, s, s + 10).bpm);

    const kind = piece.kind ?? '?';
    if (!byKind.has(kind)) byKind.set(kind, { n: 0, exact: 0, octave: 0, meterN: 0, meterExact: 0 });
    const perKind = byKind.get(kind)!;
    const row: Record<string, unknown> = { id: piece.id, kind, truthBpm: null, bpm: rhythm.bpm && +rhythm.bpm.toFixed(1), conf: +rhythm.confidence.toFixed(2), meter: rhythm.meter, truthMeter: piece.meter };
    // The written tempo is the truth only where the notes follow its grid (a part played in live is not).
    const onGrid = !piece.tempo?.constant || scoresTempo(piece);
    if (piece.tempo?.constant && !onGrid) ours.offGrid.push(`${piece.id} (${piece.tempo.onGrid})`);
    if (piece.tempo?.constant) {
      ours.constant++;
      const t = piece.tempo.beatBpm ?? piece.tempo.bpm;
      if (onGrid) {
        row.truthBpm = +t.toFixed(1);
        ours.n++;
        const score = tempoScore(rhythm.bpm, piece.tempo);
        if (score.exact) ours.exact++;
        if (score.octave) ours.octave++;
        perKind.n++;
        if (score.exact) perKind.exact++;
        if (score.octave) perKind.octave++;
      }
      const j = windowJumps(windows);
      ours.pairs += j.pairs;
      ours.jumps += j.jumps;
      row.jumps = `${j.jumps}/${j.pairs}`;
      const l = librosa[file];
      if (l) {
        if (onGrid) {
          lib.n++;
          const score = tempoScore(l.bpm, piece.tempo);
          if (score.exact) lib.exact++;
          if (score.octave) lib.octave++;
        }
        const lj = windowJumps(windowsFromBeats(l.beats, duration));
        lib.pairs += lj.pairs;
        lib.jumps += lj.jumps;
        row.librosa = +l.bpm.toFixed(1);
      }
    }
    if (piece.meter && METERS.has(piece.meter)) {
      ours.meterN++;
      if (rhythm.meter === piece.meter) ours.meterExact++;
      perKind.meterN++;
      if (rhythm.meter === piece.meter) perKind.meterExact++;
      const key = `${piece.meter}→${rhythm.meter}`;
      confusion.set(key, (confusion.get(key) ?? 0) + 1);
    }
    if (piece.tempo?.constant && rhythm.tempoChanges.length > 0) ours.spurious++;
    if (piece.tempo?.constant && rhythm.bpm === null) ours.noBeat++;
    if (piece.tempo && !piece.tempo.constant) {
      ours.varying++;
      if (rhythm.tempoChanges.length > 0) ours.varyingFound++;
      row.truthMap = piece.tempo.map?.slice(0, 8).map((m) => `${m.atSec.toFixed(0)}s:${m.bpm.toFixed(0)}`).join(' ');
    }
    row.changes = rhythm.tempoChanges.map((c) => `${c.kind}@${c.atSec.toFixed(0)}:${c.fromBpm}→${c.toBpm}`).join(' ');
    rows.push(row);
    if (verbose) console.log(JSON.stringify(row));
  }
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : '—');
  console.log(`\nrhythm on ${truthFile}: ${pieces.length} pieces, ${ours.n} at constant tempo on the written grid, ${ours.meterN} with a meter`);
  if (ours.offGrid.length) console.log(`tempo not scored (onGrid < ${ON_GRID_MIN}: notes off the written grid): ${ours.offGrid.join(', ')}`);
  console.log(`                       ours            librosa.beat.beat_track`);
  console.log(`tempo exact ±4 %       ${`${ours.exact}/${ours.n} ${pct(ours.exact, ours.n)}`.padEnd(16)}${python ? `${lib.exact}/${lib.n} ${pct(lib.exact, lib.n)}` : '(--librosa PY)'}`);
  console.log(`tempo with ×2/×½       ${`${ours.octave}/${ours.n} ${pct(ours.octave, ours.n)}`.padEnd(16)}${python ? `${lib.octave}/${lib.n} ${pct(lib.octave, lib.n)}` : ''}`);
  console.log(`window jumps > 25 %    ${`${ours.jumps}/${ours.pairs} ${pct(ours.jumps, ours.pairs)}`.padEnd(16)}${python ? `${lib.jumps}/${lib.pairs} ${pct(lib.jumps, lib.pairs)}` : ''}`);
  console.log(`no beat found          ${ours.noBeat} of ${ours.constant} constant-tempo pieces`);
  console.log(`tempo changes claimed  on ${ours.spurious} of ${ours.constant} constant-tempo pieces; on ${ours.varyingFound} of ${ours.varying} pieces whose tempo map changes`);
  console.log(`meter exact            ${ours.meterExact}/${ours.meterN} ${pct(ours.meterExact, ours.meterN)}   (librosa has no meter)`);
  console.log(`meter truth→ours       ${[...confusion].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  if (byKind.size > 1) {
    for (const [kind, k] of [...byKind].sort()) {
      console.log(`${kind.padEnd(22)} tempo exact ${k.exact}/${k.n} ${pct(k.exact, k.n)}, ×2/×½ ${k.octave}/${k.n} ${pct(k.octave, k.n)}, meter exact ${k.meterExact}/${k.meterN} ${pct(k.meterExact, k.meterN)}`);
    }
  }
  console.log(`analysis CPU time      ${(analysisMs / (audioSec / 60)).toFixed(2)} ms per minute of audio (first call includes JIT warm-up)`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ ours, byKind: Object.fromEntries(byKind), librosa: python ? lib : null, rows }, null, 1));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
