import type { Sequelize } from 'sequelize';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import type { Outbox } from '../../infra/outbox';
import type { DomainEvents } from '../../infra/domain-events';
import type { DomainEventMap } from '../events';
import type { UsersService } from '../users/users.service';
import type { ChatService } from '../chat/chat.service';
import type { NotificationsService } from '../notifications/notifications.service';
import type { Blocks } from '../safety/safety.service';
import type { MediaService } from '../media/media.service';
import type { GroupsRepository } from './groups.repository';

/** What the groups services are built from (one set per app instance). */
export interface GroupsDeps {
  sequelize: Sequelize;
  repo: GroupsRepository;
  users: UsersService;
  chat: ChatService;
  notifications: NotificationsService;
  blocks: Blocks;
  media: MediaService;
  outbox: Outbox;
  events: DomainEvents<DomainEventMap>;
  clock: Clock;
  logger: Logger;
  serviceTz: string;
  publicUrl: string;
}

/** Consumes one point of a limit keyed by `key`; 429 with Retry-After past it. */
export { consumePoint as consume } from '../../http/rate-limit';

/** Shortens user text for a notification body. */
export const snippet = (s: string, max = 140) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
