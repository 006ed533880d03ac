/**
 * `npm start` and `npm run caption` run this first, with whatever `node` is on PATH: on a Node older than
 * package.json's engines field it prints one line naming the version needed and how to get it, and exits 1
 * before tsx loads anything or any port opens (an old Node otherwise serves the site and fails every run later).
 *
 * Plain CommonJS in old syntax, and no dependencies, so it runs on any Node and before `npm install` succeeded:
 * that is why the version comparison is written out here rather than taken from the semver package. It reads
 * only the one form the engines field uses, ">=MAJOR.MINOR[.PATCH]", and says so if that form ever changes.
 */
'use strict';
var fs = require('fs');
var path = require('path');

function parseVersion(text) {
  var match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(String(text).trim());
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2] || 0), Number(match[3] || 0)];
}

/** The one line to print when `version` does not satisfy `range` (">=22.18"), or undefined when it does. */
function nodeVersionProblem(version, range) {
  var minimum = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(String(range).trim());
  if (!minimum) throw new Error('scripts/require-node.cjs reads only ">=X.Y.Z" engines ranges, not "' + range + '"');
  var needed = parseVersion(minimum[1]);
  var actual = parseVersion(version);
  for (var i = 0; actual && i < 3; i++) {
    if (actual[i] > needed[i]) return undefined;
    if (actual[i] < needed[i]) break;
    if (i === 2) return undefined;
  }
  return (
    'music-captioner needs Node ' + minimum[1] + ' or newer, and this is Node ' + version +
    ': install Node ' + needed[0] + ' from https://nodejs.org (or `nvm install ' + needed[0] + '`), then run `npm install` again.'
  );
}

function engineRange() {
  var manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  return manifest.engines.node;
}

module.exports = { nodeVersionProblem: nodeVersionProblem, engineRange: engineRange };

if (require.main === module) {
  var problem = nodeVersionProblem(process.version, engineRange());
  if (problem) {
    process.stderr.write(problem + '\n');
    process.exit(1);
  }
}
