import { handle, json } from '../../../../../lib/server/http.ts';
import { similarRuns } from '../../../../../lib/server/library.ts';

/** GET → the runs in the library nearest to this one by the descriptor vector, each with its reason. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  return handle(request, async () => json(await similarRuns((await params).id)));
}
