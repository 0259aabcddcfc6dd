import Joi from 'joi';
import { decodeCursor, paginate } from '../../http/cursor';
import { nearestPage } from '../nearest';
import type { CommunityDeps } from './community.deps';
import type { PostRow, SqlFilter } from './community.repository';
import type { PostsService } from './community.posts';
import type { Post } from './community.presenter';
import { requiredBooleanQuery } from '../search-text';
import type { FeedSort, PostKind } from './community.schemas';

export interface FeedQuery {
  kind?: PostKind;
  tag?: string;
  authorId?: number;
  q?: string;
  sort: FeedSort;
  limit: number;
  cursor?: string;
}

export interface NearbyQuery {
  lat: number;
  lng: number;
  radiusKm: number;
  kind?: PostKind;
  tag?: string;
  limit: number;
  cursor?: string;
}

const cursorDate = Joi.date().iso().min('2000-01-01T00:00:00Z').max('9999-12-31T00:00:00Z');
const recentCursor = Joi.object({
  k: Joi.valid('r').required(),
  t: cursorDate.required(),
  i: Joi.number().integer().min(1).required(),
});
const popularCursor = Joi.object({
  k: Joi.valid('p').required(),
  s: Joi.number().integer().min(-1e9).max(1e9).required(),
  t: cursorDate.required(),
  i: Joi.number().integer().min(1).required(),
});

/**
 * GET /posts and GET /posts/nearby. Every list is a keyset walk on an index that starts with
 * `listed` (deleted and report-hidden posts are never read), with the authors on either side of a
 * block with the viewer left out in the same query.
 *
 * `popular` orders by `recentScore` (likes and comments of the last 7 days, kept exact by the writes
 * and a daily bucket sweep, see CommunityRepository.bumpActivity), then newest: reading it is an index
 * walk like `recent`, never an aggregate over the likes. Scores move while a client pages, so a post
 * may appear twice or be skipped across pages of `popular`; `recent` pages are exact.
 */
export class FeedService {
  constructor(
    private readonly d: CommunityDeps,
    private readonly posts: PostsService,
  ) {}

  async list(viewerId: number, q: FeedQuery): Promise<{ items: Post[]; nextCursor: string | null }> {
    const filter = await this.compile(viewerId, q);
    const want = q.limit + 1;
    let rows: PostRow[];
    if (q.sort === 'popular') {
      const c = q.cursor ? decodeCursor<{ s: number; t: Date; i: number }>(q.cursor, popularCursor) : null;
      rows = await this.d.repo.pagePopular(filter, {
        tag: q.tag,
        after: c ? { score: c.s, at: c.t, id: c.i } : null,
        limit: want,
      });
    } else {
      const c = q.cursor ? decodeCursor<{ t: Date; i: number }>(q.cursor, recentCursor) : null;
      rows = await this.d.repo.pageRecent(filter, { tag: q.tag, after: c ? { at: c.t, id: c.i } : null, limit: want });
    }
    const { items, nextCursor } = paginate(rows, q.limit, (last) =>
      q.sort === 'popular'
        ? { k: 'p', s: Number(last.recentScore), t: new Date(last.createdAt).toISOString(), i: last.id }
        : { k: 'r', t: new Date(last.createdAt).toISOString(), i: last.id },
    );
    return { items: await this.posts.present(viewerId, items), nextCursor };
  }

  /** Nearest first within the circle (Redis GEO candidates, one MySQL filter query per round; src/modules/nearest.ts). */
  async nearby(
    viewerId: number,
    q: NearbyQuery,
  ): Promise<{ items: Array<Post & { distanceKm: number }>; nextCursor: string | null }> {
    const filter = await this.compile(viewerId, { kind: q.kind });
    return nearestPage<PostRow, Post & { distanceKm: number }>({
      geo: this.d.geo,
      center: { lat: q.lat, lng: q.lng },
      radiusKm: q.radiusKm,
      limit: q.limit,
      cursor: q.cursor,
      selective: Boolean(q.kind || q.tag),
      filterIds: (ids) => this.d.repo.filterIds(ids, filter, q.tag),
      toItems: async (page) => {
        const posts = await this.posts.present(
          viewerId,
          page.map((p) => p.row),
        );
        return posts.map((p, i) => ({ ...p, distanceKm: page[i].distanceKm }));
      },
    });
  }

  private async compile(viewerId: number, q: Pick<FeedQuery, 'kind' | 'authorId' | 'q'>): Promise<SqlFilter> {
    const where: string[] = [];
    const replacements: unknown[] = [];
    if (q.kind) {
      where.push('p.kind = ?');
      replacements.push(q.kind);
    }
    if (q.authorId) {
      where.push('p.authorId = ?');
      replacements.push(q.authorId);
    }
    if (q.q !== undefined) {
      const expr = requiredBooleanQuery(q.q);
      where.push('MATCH (p.searchText) AGAINST (? IN BOOLEAN MODE)');
      replacements.push(expr);
    }
    const notBlocked = this.d.blocks.notBlockedSql('p.authorId', viewerId);
    where.push(notBlocked.sql);
    replacements.push(...notBlocked.replacements);
    return { where, replacements };
  }
}
