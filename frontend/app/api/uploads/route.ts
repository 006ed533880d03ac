import { clientKey, handle, json } from '../../../lib/server/http.ts';
import { config } from '../../../lib/server/config.ts';
import { startUpload } from '../../../lib/server/uploads.ts';

/** POST { fileName, contentType, sizeBytes } → a presigned POST for the browser to send the file to S3. */
export async function POST(request: Request) {
  return handle(request, async () => {
    const body: unknown = await request.json().catch(() => undefined);
    const client = clientKey(request.headers.get('x-forwarded-for'), config().TRUSTED_PROXY_HOPS);
    return json(await startUpload(body, client), { status: 201 });
  });
}
