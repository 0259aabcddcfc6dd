import Joi from 'joi';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import { cursorDate, cursorId, decodeCursor, encodeCursor } from '../../http/cursor';
import { NotFound } from '../../errors';
import { consumePoint } from '../../http/rate-limit';
import { requireVisible, type MarketDeps } from './market.deps';
import { TOPIC_PRICE_DROP, type ListingsService } from './market.listings';
import type { Listing } from './market.presenter';

/** Favourites notified per transaction of a price-drop fan-out. */
export const PRICE_DROP_BATCH = 1000;

const favoritesCursor = Joi.object({ t: cursorDate.required(), i: cursorId.required() });

const won = (n: number) => `₩${n.toLocaleString('en-US')}`;

/** Favourites (idempotent, exact counts), the favourites list, and the price-drop fan-out. */
export class FavoritesService {
  constructor(
    private readonly d: MarketDeps,
    private readonly listings: ListingsService,
    private readonly limiter: RateLimiterRedis,
  ) {}

  /** PUT (on) and DELETE (off): idempotent; the count moves in the transaction that adds the row. */
  async set(
    userId: number,
    listingId: number,
    on: boolean,
  ): Promise<{ favoriteCount: number; favoritedByMe: boolean }> {
    await consumePoint(this.limiter, userId);
    return inTransaction(this.d.sequelize, async (t) => {
      // The listing's row lock first: the favourite's foreign key would otherwise take a shared lock
      // on it that the counter UPDATE must upgrade, and concurrent favourites deadlock on the upgrade.
      const l = await requireVisible(this.d, await this.d.repo.lockListing(listingId, t), userId, t);
      if (l.deletedAt) throw NotFound('Listing');
      const now = this.d.clock.now();
      if (on) await this.d.repo.addFavorite(listingId, userId, now, t);
      else await this.d.repo.removeFavorite(listingId, userId, t);
      return { favoriteCount: await this.d.repo.favoriteCount(listingId, t), favoritedByMe: on };
    });
  }

  /** My favourites, most recently favourited first (deleted, hidden and blocked sellers' left out). */
  async list(
    userId: number,
    q: { limit: number; cursor?: string },
  ): Promise<{ items: Listing[]; nextCursor: string | null }> {
    const c = q.cursor ? decodeCursor<{ t: Date; i: number }>(q.cursor, favoritesCursor) : null;
    const notBlocked = this.d.blocks.notBlockedSql('l.sellerId', userId);
    const rows = await this.d.repo.favoritesPage(
      userId,
      {
        where: ['(l.hiddenAt IS NULL OR l.sellerId = ?)', notBlocked.sql],
        replacements: [userId, ...notBlocked.replacements],
      },
      c ? { at: c.t, id: c.i } : null,
      q.limit + 1,
    );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: await this.listings.present(userId, page),
      nextCursor:
        rows.length > q.limit ? encodeCursor({ t: new Date(last.favoritedAt).toISOString(), i: last.id }) : null,
    };
  }

  /**
   * The outbox handler of a price drop: notifies the next PRICE_DROP_BATCH users who favourited the
   * listing (not the seller, nor users on either side of a block with the seller) in one transaction
   * that writes the notifications (the notifications service's batch path: a few statements per
   * batch), moves the drop's cursor and, when users remain, adds the outbox row of the next batch.
   * One batch per row keeps a dispatcher pass short: the batch's live events go out (on any instance)
   * while the next batch is written, and other side effects do not wait behind a 10 000-user fan-out.
   * The cursor is read under the drop's row lock, so a row carried out twice (after a crash) or a
   * second chain takes the next users, never the same ones: nobody is notified twice. A later drop of
   * the same listing is its own row; both are told. Answers how many were notified by this call.
   */
  async fanOutPriceDrop(dropId: number): Promise<number> {
    return inTransaction(this.d.sequelize, async (t) => {
      const drop = await this.d.repo.lockPriceDrop(dropId, t);
      if (!drop || drop.doneAt) return 0;
      const l = await this.d.repo.findListing(drop.listingId, t);
      const now = this.d.clock.now();
      if (!l || l.deletedAt || l.hiddenAt) {
        await this.d.repo.advancePriceDrop(dropId, drop.afterUserId, 0, true, now, t);
        return 0;
      }
      const notBlocked = this.d.blocks.notBlockedSql('f.userId', l.sellerId);
      const userIds = await this.d.repo.favoritersAfter(
        l.id,
        drop.afterUserId,
        { where: ['f.userId <> ?', notBlocked.sql], replacements: [l.sellerId, ...notBlocked.replacements] },
        PRICE_DROP_BATCH,
        t,
      );
      await this.d.notifications.notifyManyInTx(
        t,
        userIds.map((recipientId) => ({
          recipientId,
          type: 'market.price_drop' as const,
          title: `Price drop: ${l.title}`,
          body: `${won(drop.oldPrice)} → ${won(drop.newPrice)}`,
          data: { listingId: l.id, oldPrice: drop.oldPrice, newPrice: drop.newPrice },
        })),
      );
      const finished = userIds.length < PRICE_DROP_BATCH;
      const cursor = userIds.length ? userIds[userIds.length - 1] : drop.afterUserId;
      await this.d.repo.advancePriceDrop(dropId, cursor, userIds.length, finished, now, t);
      if (!finished) await this.d.outbox.add(t, TOPIC_PRICE_DROP, { dropId });
      return userIds.length;
    });
  }
}
