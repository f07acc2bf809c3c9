import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Who may write through `rhizoct view`: only the page the server itself served. Every write
 * carries the per-run token (32 random bytes, handed to the page in /config.json, which other
 * origins cannot read) in a header; its Origin must be this server's own origin as the Host
 * header names it; the browser's Sec-Fetch-Site, when sent, must say same-origin; and the body
 * must be JSON (a cross-origin JSON POST needs a preflight this server never grants). Bodies are
 * read up to a limit. No Node I/O beyond the request: the checks are tested without a server.
 */

export const TOKEN_HEADER = 'x-rhizoct-token';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A refused request: the HTTP status and a sentence saying why. */
export class Refused extends Error {
  override readonly name = 'Refused';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Throws Refused unless the request may write. */
export function checkWriter(req: IncomingMessage, token: string): void {
  const host = req.headers.host;
  const origin = req.headers.origin;
  if (!host) throw new Refused(400, 'no Host header');
  if (origin === undefined) throw new Refused(403, 'writes need an Origin header (they come from the viewer page)');
  if (origin !== `http://${host}`)
    throw new Refused(403, `cross-origin write refused: Origin ${origin} is not this server (http://${host})`);
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw new Refused(403, `cross-site write refused (Sec-Fetch-Site: ${String(site)})`);
  const given = req.headers[TOKEN_HEADER];
  if (typeof given !== 'string' || given === '') throw new Refused(401, `writes need the ${TOKEN_HEADER} header the viewer page sends`);
  if (!sameToken(given, token)) throw new Refused(403, `wrong ${TOKEN_HEADER}: not the token of this run of rhizoct view`);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    throw new Refused(415, `writes are JSON (Content-Type: application/json), got ${JSON.stringify(req.headers['content-type'] ?? '')}`);
}

/** The request's body as parsed JSON, at most `limit` bytes. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new Refused(413, `body of ${declared} bytes is over the limit of ${limit}`);
  }
  const parts: Buffer[] = [];
  let size = 0;
  // Past the limit the rest is read and dropped (up to a point), so the client, still sending,
  // gets the 413 instead of a reset connection.
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 16 * limit) {
      req.destroy();
      break;
    }
    if (size <= limit) parts.push(c);
  }
  if (size > limit) throw new Refused(413, `body is over the limit of ${limit} bytes`);
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
  } catch (err) {
    throw new Refused(400, `body is not JSON (${(err as Error).message})`);
  }
}
