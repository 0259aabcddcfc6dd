import type { RequestHandler } from 'express';
import type { GroupsService } from './groups.service';

/**
 * For upload routes under /groups/{id}: a non-member is answered 404 before a byte of the body is
 * read or an upload slot is taken. `Connection: close` keeps the unread body from being taken for
 * the next request. A malformed id is left to the route's own validation.
 */
export function membersBeforeUpload(groups: Pick<GroupsService, 'requireMember'>): RequestHandler {
  return async (req, res, next) => {
    const groupId = Number(req.params.id);
    if (Number.isSafeInteger(groupId) && groupId > 0) {
      try {
        await groups.requireMember(groupId, res.locals.user.id);
      } catch (err) {
        res.setHeader('Connection', 'close');
        throw err;
      }
    }
    next();
  };
}
