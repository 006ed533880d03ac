import { handle, json } from '../../../lib/server/http.ts';
import { recentRuns } from '../../../lib/server/runs.ts';

/** GET → the latest runs, newest first. */
export async function GET(request: Request) {
  return handle(request, async () => json({ runs: await recentRuns() }));
}
