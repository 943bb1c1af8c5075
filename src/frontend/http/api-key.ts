/**
 * The optional API key (SCORELINE_API_KEY): `/score` requires `Authorization: Bearer <key>`.
 * Keys are compared as SHA-256 digests with timingSafeEqual, so neither the key's length
 * nor its prefix leaks through response timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../../errors';

export type ApiKeyCheck = (authorization: string | undefined) => void;

export function apiKeyCheck(key: string): ApiKeyCheck {
  const expected = digest(key);
  return (authorization) => {
    const match = authorization === undefined ? null : /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match === null) throw new UnauthorizedError('Authorization: Bearer <key> is required');
    if (!timingSafeEqual(digest(match[1]!), expected)) throw new UnauthorizedError('the API key is not valid');
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
