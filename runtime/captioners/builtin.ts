/**
 * The built-in captioner behind the container's contract: reads the manifest and the windows it was given
 * (a shard may hold only some), writes captions.json and captioner.json. Its captions come from each
 * window's measurements in the context of the whole track (core/builtin-captioner.ts).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUILTIN_CAPTIONER, captionWindows } from '#core/builtin-captioner';
import type { CaptionRunInfo, Manifest } from '#core/contract';
import { analysisOrFallback } from '#core/song-shape';
import type { LocalCaptioner } from './types.ts';

export function createBuiltinCaptioner(): LocalCaptioner {
  return {
    backend: BUILTIN_CAPTIONER.backend,
    readsAudio: false,
    async run(job) {
      const started = Date.now();
      const manifest = JSON.parse(await readFile(job.manifestPath, 'utf8')) as Manifest;
      const present = new Set((await readdir(job.windowsDir)).filter((name) => name.endsWith('.npy')));
      const mine = manifest.windows.filter((window) => present.has(window.file));
      if (mine.length === 0) throw new Error(`no window files from the manifest were found in ${job.windowsDir}`);
      // Every window is captioned against the one before it and the whole track, so a shard's first window
      // reads the same as in an unsharded run; only this shard's windows are written.
      const analysis = analysisOrFallback(manifest.analysis, manifest.tags, manifest.file.durationSec);
      const mineIndices = new Set(mine.map((window) => window.index));
      const captions = captionWindows(manifest.windows, { track: manifest.tags, analysis, sections: manifest.sections }).filter((entry) => mineIndices.has(entry.index));
      await writeFile(path.join(job.outputDir, 'captions.json'), JSON.stringify(captions, null, 2));
      const info: CaptionRunInfo = { ...BUILTIN_CAPTIONER, windows: captions.length, seconds: (Date.now() - started) / 1000 };
      await writeFile(path.join(job.outputDir, 'captioner.json'), JSON.stringify(info, null, 2));
      job.log?.(`captioned ${captions.length}/${manifest.windows.length} windows from their measurements`);
      return { backend: info.backend, model: info.model };
    },
  };
}
