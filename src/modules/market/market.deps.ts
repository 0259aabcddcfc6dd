import type { Sequelize, Transaction } from 'sequelize';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import type { GeoIndex } from '../../infra/geo';
import type { Outbox } from '../../infra/outbox';
import { Forbidden, NotFound } from '../../errors';
import type { UsersService } from '../users/users.service';
import type { ChatService } from '../chat/chat.service';
import type { NotificationsService } from '../notifications/notifications.service';
import type { Blocks } from '../safety/safety.service';
import type { MediaService } from '../media/media.service';
import type { ListingRow, MarketRepository } from './market.repository';

/** What the market services are built from (one set per app instance). */
export interface MarketDeps {
  sequelize: Sequelize;
  repo: MarketRepository;
  users: UsersService;
  chat: ChatService;
  notifications: NotificationsService;
  /** The safety module's block check. */
  blocks: Blocks;
  /** The one upload policy (render, store, delete after commit). */
  media: MediaService;
  geo: GeoIndex;
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
}

/** The seller or the buyer of the listing. */
export const isParty = (l: ListingRow, userId: number) => l.sellerId === userId || l.buyerId === userId;

/**
 * The one visibility rule of a listing; anything else is 404 (ids cannot be probed):
 * - a blocked pair (either way) never sees each other's listings;
 * - a listing hidden by reports is seen only by its seller;
 * - a deleted listing is gone, except a sold one for its two parties (the trade's history).
 * Inside a transaction, pass it (one pool connection per request).
 */
export async function requireVisible(
  d: Pick<MarketDeps, 'blocks'>,
  listing: ListingRow | null,
  viewerId: number,
  t?: Transaction,
): Promise<ListingRow> {
  if (!listing) throw NotFound('Listing');
  if (listing.deletedAt && !(listing.status === 'sold' && isParty(listing, viewerId))) throw NotFound('Listing');
  if (listing.hiddenAt && listing.sellerId !== viewerId) throw NotFound('Listing');
  if (await d.blocks.between(viewerId, listing.sellerId, t)) throw NotFound('Listing');
  return listing;
}

/** The seller passes (a deleted listing: 404); others who can see the listing get 403. */
export async function requireSeller(
  d: Pick<MarketDeps, 'blocks'>,
  listing: ListingRow | null,
  userId: number,
  action: string,
  t?: Transaction,
): Promise<ListingRow> {
  const l = await requireVisible(d, listing, userId, t);
  if (l.sellerId !== userId) throw Forbidden(`Only the seller can ${action} this listing`);
  if (l.deletedAt) throw NotFound('Listing');
  return l;
}
