/**
 * Prints the plain closing line CI reads ("N passed, N failed"), after jest's own summary.
 * @type {import('@jest/reporters').Reporter}
 */
class ClosingLineReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\n${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
module.exports = ClosingLineReporter;
