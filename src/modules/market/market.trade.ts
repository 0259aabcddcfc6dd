import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import { decodeIdCursor, paginate } from '../../http/cursor';
import { Conflict, Forbidden, NotFound, ValidationFailed } from '../../errors';
import { consumePoint } from '../../http/rate-limit';
import { isParty, requireSeller, requireVisible, type MarketDeps } from './market.deps';
import type { ListingsService } from './market.listings';
import { toOffer, toReview, type Listing, type Offer, type Review } from './market.presenter';
import { MAX_ON_SALE, type ListingStatus, type OfferInput, type ReviewInput } from './market.schemas';

/** The seller's moves: from which states each one may start. */
const MOVES = {
  reserve: { from: ['on_sale'], to: 'reserved' },
  sell: { from: ['on_sale', 'reserved'], to: 'sold' },
  reopen: { from: ['reserved'], to: 'on_sale' },
} as const satisfies Record<string, { from: ListingStatus[]; to: ListingStatus }>;
export type Move = keyof typeof MOVES;

/** Offers (and their trade chat), the seller's state machine, and trade reviews. */
export class TradeService {
  constructor(
    private readonly d: MarketDeps,
    private readonly listings: ListingsService,
    private readonly limiter: RateLimiterRedis,
  ) {}

  /**
   * An offer by anyone but the seller: opens (or reuses) the `listing` room of this buyer and the
   * seller — one per (listing, buyer), the room's UNIQUE key decides under concurrency, on any
   * instance — and notifies the seller (`market.offer`, live on their stream). A blocked pair: 409.
   */
  async offer(buyerId: number, listingId: number, input: OfferInput): Promise<Offer> {
    await consumePoint(this.limiter, buyerId);
    const offerId = await inTransaction(this.d.sequelize, async (t) => {
      const raw = await this.d.repo.lockListing(listingId, t);
      // A listing the buyer could not see even without a block is 404 before the block is looked
      // at: a 409 there would tell a blocked user that a deleted or hidden id exists.
      if (!raw || raw.deletedAt || (raw.hiddenAt && raw.sellerId !== buyerId)) throw NotFound('Listing');
      if (await this.d.blocks.between(buyerId, raw.sellerId, t))
        throw Conflict('You cannot make offers to this seller');
      const l = await requireVisible(this.d, raw, buyerId, t);
      if (l.sellerId === buyerId) throw Forbidden('The seller cannot make an offer on their own listing');
      if (l.status === 'sold') throw Conflict('This listing is sold');
      if (!(await this.d.users.findById(buyerId, t))) throw NotFound('User');
      const { roomId } = await this.d.chat.createRoomInTx(t, {
        type: 'listing',
        listing: { listingId, buyerId },
        memberIds: [buyerId, l.sellerId],
      });
      const now = this.d.clock.now();
      const id = await this.d.repo.insertOffer(
        { listingId, buyerId, price: input.price ?? null, message: input.message ?? null, chatRoomId: roomId },
        now,
        t,
      );
      const buyer = await this.d.users.findById(buyerId, t);
      await this.d.notifications.notifyInTx(t, {
        recipientId: l.sellerId,
        type: 'market.offer',
        title: `New offer: ${l.title}`,
        body: `${buyer?.nickname ?? 'Someone'}${input.price != null ? ` offers ₩${input.price.toLocaleString('en-US')}` : ' made an offer'}${input.message ? `: ${input.message}` : ''}`,
        data: { listingId, offerId: id, roomId, buyerId },
      });
      return id;
    });
    return toOffer((await this.d.repo.findOffer(offerId))!);
  }

  /** The seller's list of offers, oldest first (anyone else: 404, as for private data). */
  async offers(userId: number, listingId: number, q: { limit: number; cursor?: string }) {
    const l = await requireVisible(this.d, await this.d.repo.findListing(listingId), userId);
    if (l.sellerId !== userId) throw NotFound('Listing');
    const rows = await this.d.repo.offersOf(listingId, decodeIdCursor(q.cursor), q.limit + 1);
    const { items, nextCursor } = paginate(rows, q.limit, (last) => ({ id: last.id }));
    return { items: items.map(toOffer), nextCursor };
  }

  /**
   * reserve / sell / reopen, by the seller (others who see the listing: 403). The listing's row lock
   * serializes moves, so of two concurrent sells exactly one finds the listing unsold; any move that
   * does not start from the current state is 409. reserve and sell name a buyer who made an offer
   * (and who is not on either side of a block with the seller); selling a reserved listing goes to
   * the buyer it is reserved for. sell notifies the buyer (`market.sold`).
   */
  async move(sellerId: number, listingId: number, move: Move, buyerId: number | null): Promise<Listing> {
    await inTransaction(this.d.sequelize, async (t) => {
      const l = await requireSeller(this.d, await this.d.repo.lockListing(listingId, t), sellerId, move, t);
      const rule = MOVES[move];
      if (!(rule.from as readonly ListingStatus[]).includes(l.status))
        throw Conflict(`A listing that is ${l.status} cannot be moved by ${move}`);
      const now = this.d.clock.now();
      if (move === 'reopen') {
        await this.d.repo.lockSeller(sellerId, now, t);
        if ((await this.d.repo.countOnSale(sellerId, t)) >= MAX_ON_SALE)
          throw Conflict(`A seller may have at most ${MAX_ON_SALE} listings on sale`);
        await this.d.repo.setStatus(listingId, 'on_sale', null, now, t);
        return;
      }
      if (buyerId === null) throw new Error('reserve and sell name a buyer');
      if (buyerId === sellerId || !(await this.d.repo.hasOffer(listingId, buyerId, t)))
        throw ValidationFailed('The buyer must have made an offer on this listing', [
          { path: 'body.buyerId', message: 'has made no offer on this listing' },
        ]);
      if (l.status === 'reserved' && l.buyerId !== buyerId)
        throw Conflict('This listing is reserved for another buyer; reopen it first');
      if (await this.d.blocks.between(sellerId, buyerId, t)) throw Conflict('You cannot trade with this user');
      await this.d.repo.setStatus(listingId, rule.to, buyerId, now, t);
      if (move === 'sell')
        await this.d.notifications.notifyInTx(t, {
          recipientId: buyerId,
          type: 'market.sold',
          title: `Sold to you: ${l.title}`,
          body: 'The seller marked the trade as done. You can now review it.',
          data: { listingId },
        });
    });
    return this.listings.get(sellerId, listingId);
  }

  /**
   * After `sold`, the seller reviews the buyer and the buyer the seller, once each (UNIQUE). The
   * subject's trade rating is recomputed from the reviews in the same transaction, under its lock.
   */
  async review(authorId: number, listingId: number, input: ReviewInput): Promise<Review> {
    const review = await inTransaction(this.d.sequelize, async (t) => {
      const l = await requireVisible(this.d, await this.d.repo.findListing(listingId, t), authorId, t);
      if (l.status !== 'sold' || l.buyerId === null) throw Conflict('A trade can be reviewed once the listing is sold');
      if (!isParty(l, authorId)) throw Forbidden('Only the seller and the buyer of a sold listing review the trade');
      const subjectId = authorId === l.sellerId ? l.buyerId : l.sellerId;
      const now = this.d.clock.now();
      await this.d.repo.lockRating(subjectId, now, t);
      const row = {
        listingId,
        authorId,
        subjectId,
        rating: input.rating,
        comment: input.comment ?? null,
        createdAt: now,
      };
      const id = await this.d.repo.insertReview(row, t);
      if (id === null) throw Conflict('You already reviewed this trade');
      await this.d.repo.recomputeRating(subjectId, now, t);
      return { id, ...row };
    });
    return toReview(review);
  }

  /** The trade's reviews, for its two parties only (404 for anyone else). */
  async reviews(userId: number, listingId: number): Promise<{ items: Review[] }> {
    const l = await requireVisible(this.d, await this.d.repo.findListing(listingId), userId);
    if (!isParty(l, userId)) throw NotFound('Listing');
    return { items: (await this.d.repo.reviewsOf(listingId)).map(toReview) };
  }

  /** `{ average, count }` over the trade reviews a user received; average to 2 decimals, null without any. */
  async tradeRating(userId: number): Promise<{ average: number | null; count: number }> {
    if (!(await this.d.users.findById(userId))) throw NotFound('User');
    const { sum, count } = await this.d.repo.tradeRating(userId);
    return { average: count ? Math.round((sum / count) * 100) / 100 : null, count };
  }
}
