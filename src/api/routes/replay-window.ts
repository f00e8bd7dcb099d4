import type { Request, Response, Router } from 'express';
import { ValidationError } from '../../core/errors';
import type { ReplayService } from '../../pipeline/replay-service';
import { tenantOf } from '../auth';
import { bodyObject, dateParam } from '../params';
import { route } from '../scopes';
import type { RouteDeclaration } from '../scopes';
import type { TenantResourceService } from './tenant-resource';

/**
 * `POST .../:id/replay {since, until?}` for subscriptions and integrations alike:
 * re-sends the dead letters of one of them created in the window.
 */
async function replayWindow(replays: ReplayService, tenantId: string, id: string, req: Request, res: Response): Promise<void> {
  const body = bodyObject(req.body ?? {});
  const since = dateParam(body['since'], 'since');
  const until = body['until'] === undefined ? new Date() : dateParam(body['until'], 'until');
  if (until <= since) throw new ValidationError('until must be later than since.', [{ path: '/until', message: 'not after since' }]);
  const replayed = await replays.replayWindow(tenantId, id, since, until);
  res.status(202).json({ replayed: replayed.length, deadLetterIds: replayed.map((d) => d.id) });
}

/**
 * Registers `POST <base>/:id/replay`. The resource is looked up first, so an id that is not one of the
 * tenant's resources of this kind (an integration's id under /v1/subscriptions, say) is a 404 before
 * anything is replayed.
 */
export function replayWindowRoute(
  router: Router,
  base: string,
  replays: ReplayService,
  resources: Pick<TenantResourceService<unknown>, 'get'>,
  declaration: RouteDeclaration,
): void {
  route(router, 'POST', `${base}/:id/replay`, declaration, async (req, res) => {
    const tenantId = tenantOf(res);
    const id = req.params['id'] as string;
    await resources.get(tenantId, id);
    await replayWindow(replays, tenantId, id, req, res);
  });
}
