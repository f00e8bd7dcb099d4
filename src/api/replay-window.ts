import type { Request, Response } from 'express';
import { ValidationError } from '../core/errors';
import type { ReplayService } from '../delivery/replay-service';
import { bodyObject, dateParam } from './params';

/**
 * `POST .../:id/replay {since, until?}` for subscriptions and integrations alike:
 * re-sends the dead letters of one of them created in the window.
 */
export async function replayWindow(replays: ReplayService, tenantId: string, id: string, req: Request, res: Response): Promise<void> {
  const body = bodyObject(req.body ?? {});
  const since = dateParam(body['since'], 'since');
  const until = body['until'] === undefined ? new Date() : dateParam(body['until'], 'until');
  if (until <= since) throw new ValidationError('until must be later than since.', [{ path: '/until', message: 'not after since' }]);
  const replayed = await replays.replayWindow(tenantId, id, since, until);
  res.status(202).json({ replayed: replayed.length, deadLetterIds: replayed.map((d) => d.id) });
}
