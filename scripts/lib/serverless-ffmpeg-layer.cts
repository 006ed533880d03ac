/**
 * Serverless plugin: builds layers/ffmpeg/bin/ffmpeg (bundled into the preprocess function) before `sls package`
 * and `sls deploy` package anything, so a plain `npx sls deploy` ships a checked Linux x86-64 ffmpeg, and a missing
 * or foreign binary stops packaging with a sentence that says what to do.
 *
 * CommonJS TypeScript that Node loads by stripping types (Node ≥ 22.18); the work itself runs in
 * scripts/ffmpeg-layer.ts under tsx, the way every other script here runs.
 */
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

interface ServerlessLike {
  serviceDir: string;
  classes: { Error: new (message: string) => Error };
}
interface PluginUtils {
  log: { notice: (message: string) => void; warning: (message: string) => void };
}

class FfmpegLayerPlugin {
  hooks: Record<string, () => void>;

  constructor(serverless: ServerlessLike, _options: unknown, { log }: PluginUtils) {
    const build = () => {
      const tsx = require.resolve('tsx/cli', { paths: [serverless.serviceDir] });
      const run = spawnSync(process.execPath, [tsx, join('scripts', 'ffmpeg-layer.ts')], {
        cwd: serverless.serviceDir,
        encoding: 'utf8',
      });
      const said = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim();
      // serverless prints its own Error class as a plain message, without a stack trace.
      if (run.status !== 0) throw new serverless.classes.Error(said || `ffmpeg layer: ${run.error ?? 'failed'}`);
      for (const line of said.split('\n')) {
        if (line.startsWith('Warning: ')) log.warning(line.slice('Warning: '.length));
        else log.notice(`ffmpeg: ${line}`);
      }
    };
    this.hooks = { 'before:package:initialize': build };
  }
}

module.exports = FfmpegLayerPlugin;
