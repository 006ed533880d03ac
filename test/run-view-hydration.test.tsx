/**
 * The run page is rendered on the server and hydrated in the browser: the first render must give the same text on
 * both sides, or React throws away the server's HTML (minified error #418, seen in CI's browser test now and then).
 */
import { renderToString } from 'react-dom/server';
import { RunView } from '../frontend/app/_components/RunView.tsx';
import type { RunStatus } from '../frontend/lib/run-view.ts';
import { formatDuration } from '../frontend/lib/run-view.ts';

describe('the run page’s first render', () => {
  it('shows a running step’s duration as the server observed it, however many milliseconds its own clock reads pass', () => {
    // Prepare: Preprocess running for 734 ms when the server built the view; a clock that moves 1 ms per read,
    // as a busy browser's does between the hooks' first reads.
    const observedAt = Date.parse('2026-11-29T03:00:00.734Z');
    const initial: RunStatus = {
      id: 'r1',
      fileName: 'song.mp3',
      phase: 'running',
      observedAt: new Date(observedAt).toISOString(),
      steps: [
        { name: 'Upload', status: 'succeeded', retries: 0, durationMs: 120 },
        { name: 'Preprocess', status: 'running', retries: 0, startedAt: '2026-11-29T03:00:00.000Z' },
        { name: 'Caption', status: 'pending', retries: 0 },
        { name: 'Summarize', status: 'pending', retries: 0 },
      ],
    } as RunStatus;
    let clock = 1_000_000;
    const now = jest.spyOn(Date, 'now').mockImplementation(() => (clock += 1));
    try {
      // Act
      const html = renderToString(<RunView initial={initial} />);
      // Assess
      expect(html).toContain(formatDuration(734));
    } finally {
      now.mockRestore();
    }
  });
});
