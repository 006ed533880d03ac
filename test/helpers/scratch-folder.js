/**
 * One scratch folder per `npm test` run, removed when the run ends: every temporary folder a test makes
 * (tempDir, mkdtemp under os.tmpdir()), and those of what the tests spawn (ffmpeg, serverless packaging,
 * the Python captioner), lands under it, because TMPDIR points there. Test files run in workers forked after
 * this global setup, so they inherit the variable. Without it each run left some 200 MB of songs, windows and
 * bundles in /tmp, and a day of runs filled the disk. KEEP_TEST_TMP=1 keeps the folder to look at (its path is
 * printed).
 */
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

async function setup() {
  const folder = mkdtempSync(path.join(tmpdir(), 'captioner-tests-'));
  process.env.CAPTIONER_TEST_TMP = folder;
  process.env.TMPDIR = folder;
}

async function teardown() {
  const folder = process.env.CAPTIONER_TEST_TMP;
  if (!folder) return;
  if (process.env.KEEP_TEST_TMP) {
    process.stdout.write(`\ntest scratch folder kept: ${folder}\n`);
    return;
  }
  rmSync(folder, { recursive: true, force: true });
}

module.exports = { setup, teardown };
