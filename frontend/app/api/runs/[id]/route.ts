import { handle, json } from '../../../../lib/server/http.ts';
import { runStatus } from '../../../../lib/server/runs.ts';

/** GET → the run's steps, and its result once it has ended. Polled by the run page about once a second. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return handle(request, async () => json(await runStatus((await params).id)));
}
