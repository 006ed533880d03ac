import { toSrt, toWebVtt } from '#core/subtitles';
import { handle, NotFound } from '../../../../../../lib/server/http.ts';
import { finishedResult } from '../../../../../../lib/server/runs.ts';

const FORMATS = {
  json: { type: 'application/json; charset=utf-8', extension: 'json' },
  srt: { type: 'application/x-subrip; charset=utf-8', extension: 'srt' },
  vtt: { type: 'text/vtt; charset=utf-8', extension: 'vtt' },
} as const;

/** GET json | srt | vtt → the captions as a file (the WebVTT is also the player's <track>). */
export async function GET(request: Request, { params }: { params: Promise<{ id: string; format: string }> }) {
  return handle(request, async () => {
    const { id, format } = await params;
    if (!(format in FORMATS)) throw new NotFound(`Captions come as json, srt or vtt, not “${format}”.`);
    const { type, extension } = FORMATS[format as keyof typeof FORMATS];
    const result = await finishedResult(id);
    if (format !== 'json' && result.status !== 'SUCCEEDED') throw new NotFound(`Run “${id}” failed: it has no captions.`);
    const body =
      format === 'json' ? JSON.stringify(result, null, 2) : result.status === 'SUCCEEDED' ? (format === 'srt' ? toSrt(result) : toWebVtt(result)) : '';
    return new Response(body, {
      headers: {
        'Content-Type': type,
        'Content-Disposition': `attachment; filename="${id}.${extension}"`,
        'Cache-Control': 'private, max-age=300',
      },
    });
  });
}
