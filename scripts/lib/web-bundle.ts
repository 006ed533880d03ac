/**
 * The Beanstalk source bundle of the site: Next.js's standalone server (`output: 'standalone'`) with the static
 * assets it does not copy itself (.next/static, public/), and a Procfile that starts it. The Node.js platform runs
 * the Procfile's `web` process behind nginx, which proxies to 127.0.0.1:8080 (PORT/HOSTNAME: serverless.yml).
 *
 * The bundle holds no symbolic links: Next's standalone output links external modules
 * (.next/node_modules/@aws-sdk/client-s3-<hash> → node_modules/@aws-sdk/client-s3), and a copied link ends up
 * pointing into the build machine's tree, which Beanstalk's instance does not have. Each link is replaced by a copy
 * of what it points to, and the staged folder is checked for links before it is zipped.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ensureSiteBuild, frontendDir } from '../../runtime/site.ts';
import type { StackOutputs } from './stack.ts';

export class FrontendBuildFailed extends Error {
  readonly name = 'FrontendBuildFailed';
}

export class StandaloneOutputMissing extends Error {
  readonly name = 'StandaloneOutputMissing';
}

export class BundleNotSelfContained extends Error {
  readonly name = 'BundleNotSelfContained';
}

/** `next build` of the app in `appDir`, with the Next.js the project installed. */
export function buildNextApp(rootDir: string, appDir: string): void {
  const next = createRequire(join(rootDir, 'package.json')).resolve('next/dist/bin/next');
  const run = spawnSync(process.execPath, [next, 'build', appDir], {
    cwd: rootDir,
    stdio: 'inherit',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (run.status !== 0) {
    throw new FrontendBuildFailed(`\`next build ${relative(rootDir, appDir)}\` failed (exit ${run.status ?? run.signal}).`);
  }
}

/**
 * Where server.js sits inside .next/standalone, relative to it, with "/" separators. Next puts it at the top, or
 * under the app's path from the tracing root (e.g. frontend/server.js) when the app lives in a subfolder.
 */
export function findStandaloneServer(standaloneDir: string): string {
  const queue = [''];
  while (queue.length > 0) {
    const folder = queue.shift() as string;
    const entries = readdirSync(join(standaloneDir, folder), { withFileTypes: true });
    if (entries.some((entry) => entry.isFile() && entry.name === 'server.js')) {
      return folder ? `${folder.split(sep).join('/')}/server.js` : 'server.js';
    }
    for (const entry of entries) {
      if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) {
        queue.push(join(folder, entry.name));
      }
    }
  }
  throw new StandaloneOutputMissing(`No server.js under ${standaloneDir}.`);
}

/**
 * Copies `source` to `destination` with every symbolic link replaced by a copy of its target (a folder's content or
 * a file, with its mode). (Node's cpSync with `dereference` recreates the links it finds inside the tree, as absolute ones.)
 * A link to one of its own parent folders would copy forever: that stops with BundleNotSelfContained.
 */
export function copyWithoutLinks(source: string, destination: string, ancestors: ReadonlySet<string> = new Set()): void {
  const real = realpathSync(source);
  const stats = statSync(real);
  if (!stats.isDirectory()) {
    copyFileSync(real, destination);
    chmodSync(destination, stats.mode & 0o777);
    return;
  }
  if (ancestors.has(real)) throw new BundleNotSelfContained(`${source} links back to its own parent folder ${real}.`);
  mkdirSync(destination, { recursive: true });
  const inside = new Set(ancestors).add(real);
  for (const entry of readdirSync(real)) copyWithoutLinks(join(real, entry), join(destination, entry), inside);
}

/** Every symbolic link under `dir` whose target lies outside `dir`, as "link -> target" (relative to `dir`). */
export function linksLeaving(dir: string): string[] {
  const root = resolve(dir);
  const leaving: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isSymbolicLink()) {
        const target = resolve(folder, readlinkSync(path));
        if (target !== root && !target.startsWith(`${root}${sep}`)) leaving.push(`${relative(root, path)} -> ${readlinkSync(path)}`);
      } else if (entry.isDirectory()) {
        walk(path);
      }
    }
  };
  walk(root);
  return leaving;
}

/** Lays the bundle out in `stagingDir` (emptied first); returns server.js's path inside it. */
export function stageWebBundle(appDir: string, stagingDir: string): string {
  const standalone = join(appDir, '.next', 'standalone');
  if (!existsSync(standalone)) {
    throw new StandaloneOutputMissing(
      `${standalone} does not exist: the app's next.config must set \`output: 'standalone'\`, and \`next build\` must have run.`,
    );
  }
  rmSync(stagingDir, { recursive: true, force: true });
  mkdirSync(stagingDir, { recursive: true });
  copyWithoutLinks(standalone, stagingDir);
  const serverEntry = findStandaloneServer(stagingDir);
  const serverDir = join(stagingDir, dirname(serverEntry));
  copyWithoutLinks(join(appDir, '.next', 'static'), join(serverDir, '.next', 'static'));
  if (existsSync(join(appDir, 'public'))) copyWithoutLinks(join(appDir, 'public'), join(serverDir, 'public'));
  writeFileSync(join(stagingDir, 'Procfile'), `web: node ${serverEntry}\n`);
  const leaving = linksLeaving(stagingDir);
  if (leaving.length > 0) {
    throw new BundleNotSelfContained(`The site bundle would link outside itself: ${leaving.slice(0, 5).join(', ')}.`);
  }
  return serverEntry;
}

/** Zips a folder's contents (dot-folders such as .next included, file modes kept). */
export async function zipDirectory(dir: string, zipPath: string): Promise<number> {
  // archiver is ESM-only: loaded when a zip is made.
  const { ZipArchive } = await import('archiver');
  mkdirSync(dirname(zipPath), { recursive: true });
  const archive = new ZipArchive({ zlib: { level: 6 } });
  const output = createWriteStream(zipPath);
  const written = new Promise<void>((resolve, reject) => {
    output.on('close', resolve);
    archive.on('error', reject);
  });
  archive.pipe(output);
  archive.directory(dir, false);
  await archive.finalize();
  await written;
  return statSync(zipPath).size;
}

export interface WebBundle {
  zipPath: string;
  bytes: number;
  /** server.js inside the bundle, as the Procfile starts it. */
  serverEntry: string;
}

export interface WebBundleOptions {
  rootDir: string;
  appDir: string;
  zipPath: string;
  /** false reuses the app's existing .next build. */
  build?: boolean;
}

export async function buildWebBundle({ rootDir, appDir, zipPath, build = true }: WebBundleOptions): Promise<WebBundle> {
  if (build) {
    // The site's own build goes through the lock `npm start` uses, and is skipped when up to date: a second
    // `next build` in place would wipe .next under a running site (another test worker's, say).
    if (resolve(appDir) === frontendDir) await ensureSiteBuild();
    else buildNextApp(rootDir, appDir);
  }
  const stagingDir = `${zipPath}.d`;
  const serverEntry = stageWebBundle(appDir, stagingDir);
  const bytes = await zipDirectory(stagingDir, zipPath);
  rmSync(stagingDir, { recursive: true, force: true });
  return { zipPath, bytes, serverEntry };
}

export interface OptionSetting {
  Namespace: string;
  OptionName: string;
  Value: string;
}

/**
 * The site's environment, from the stack's outputs. ACCESS_TOKEN (optional) gates the site; it is passed here from
 * the deploying shell and never written into the template.
 */
export function siteEnvironment(outputs: StackOutputs, region: string, accessToken?: string): OptionSetting[] {
  const variables: Record<string, string> = {
    BUCKET: outputs.UploadBucketName,
    AWS_REGION: region,
    STATE_MACHINE_ARN: outputs.StateMachineArn,
  };
  if (accessToken) variables.ACCESS_TOKEN = accessToken;
  return Object.entries(variables).map(([OptionName, Value]) => ({
    Namespace: 'aws:elasticbeanstalk:application:environment',
    OptionName,
    Value,
  }));
}
