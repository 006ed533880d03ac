/**
 * Built-in caption figures on the real-music corpus (and on any other files named): the track analysed as preprocess
 * does (TrackAnalyzer over the 10 s windows), the windows captioned as the built-in captioner does.
 *
 *   npx tsx bench/lib/eval-captions.ts [--held-out | --held-out-b | --all] [--print] [--json out.json] [FILE ...]
 *
 * A tuning tool like eval-rhythm.ts: the held-out groups only when asked (--all: every piece), to look at.
 *
 * Figures (issue 9 §4):
 *   repeats:     window captions equal to the one before once numbers are removed (target ≤ 5 %)
 *   beat told:   sentences saying the beat drops out or comes back (narrated beat flicker shows up here)
 *   level words: captions that announce the loudest part or a quiet break beside a level change of the window's own
 *                ("the loudest part begins … Louder" / "… A little quieter"; should be 0)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { TrackAnalyzer } from '../../core/descriptors/index.ts';
import { captionWindows } from '../../core/builtin-captioner.ts';
import { withoutNumbers } from '../../core/song-shape.ts';
import { planWindows } from '../../core/windows.ts';
import { decode } from './descriptor-corpus.ts';
import { tuningToolPieces, type HeldOutGroup } from './real-corpus.ts';

interface TruthPiece {
  id: string;
  file: string;
  heldOut?: boolean;
  heldOutGroup?: HeldOutGroup;
}

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const jsonOut = flag('--json');
const extraFiles = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--json');

/** The captions of one file, as preprocess and the built-in captioner make them. */
async function captionsOf(file: string): Promise<string[]> {
  const { samples } = await decode(file);
  const analyzer = new TrackAnalyzer(16_000);
  for (let i = 0; i < samples.length; i += 16_384) analyzer.push(samples.subarray(i, i + 16_384));
  const plan = planWindows(samples.length);
  const measured = analyzer.finish(plan);
  const windows = plan.map((w, index) => ({ index, file: '', startSec: w.startSec, endSec: w.endSec, tags: measured.windows[index] }));
  return captionWindows(windows, { track: measured.track, analysis: measured.analysis, sections: measured.sections }).map((c) => c.caption);
}

async function main() {
  const truth = JSON.parse(readFileSync('bench/real-corpus/truth.json', 'utf8')) as { pieces: TruthPiece[] };
  const chosen = args.includes('--all') ? { pieces: truth.pieces } : tuningToolPieces(truth.pieces, args);
  if ('note' in chosen && chosen.note) console.log(chosen.note);
  const files = [...chosen.pieces.map((p) => `.corpus/real/${p.file}`).filter((f) => existsSync(f)), ...extraFiles];
  if (files.length === 0) throw new Error('No audio: build the corpus first (npm run corpus:real) or name files.');
  const all: Record<string, string[]> = {};
  let captions = 0;
  let pairs = 0;
  let repeats = 0;
  let beatTold = 0;
  let levelBesidePart = 0;
  for (const file of files) {
    const text = await captionsOf(file);
    all[file] = text;
    captions += text.length;
    for (let i = 1; i < text.length; i++) {
      pairs++;
      if (withoutNumbers(text[i]) === withoutNumbers(text[i - 1])) repeats++;
    }
    beatTold += text.filter((c) => /beat drops out|beat comes back/.test(c)).length;
    levelBesidePart += text.filter((c) => /(loudest part \(|now at its loudest|quiet break)[^.]*\. (.*(louder|quieter|pulling back in level))/i.test(c)).length;
    if (args.includes('--print')) console.log(`\n${file}\n${text.map((c, i) => `  ${i}: ${c}`).join('\n')}`);
  }
  const pct = (a: number, b: number) => `${((100 * a) / Math.max(1, b)).toFixed(1)} %`;
  console.log(`${files.length} files, ${captions} window captions`);
  console.log(`repeats (equal to the one before but for numbers)  ${repeats}/${pairs} ${pct(repeats, pairs)}   target ≤ 5 %`);
  console.log(`sentences telling the beat drop out or come back    ${beatTold}`);
  console.log(`loudest part / break announced beside a level word  ${levelBesidePart}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(all, null, 1));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
