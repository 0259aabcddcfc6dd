import Joi from 'joi';
import { cursorDate, cursorId, decodeCursor, paginate } from '../../http/cursor';
import { nearestPage } from '../nearest';
import type { Caller, CommunityDeps } from './community.deps';
import type { FeedRow, PostRow, PrefixWalk, SqlFilter } from './community.repository';
import type { PostsService } from './community.posts';
import type { Post } from './community.presenter';
import { prefixQuery, requiredBooleanQuery } from '../search-text';
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

const recentCursor = Joi.object({
  k: Joi.valid('r').required(),
  t: cursorDate.required(),
  i: cursorId.required(),
});
const popularCursor = Joi.object({
  k: Joi.valid('p').required(),
  s: Joi.number().integer().min(-1e9).max(1e9).required(),
  t: cursorDate.required(),
  i: cursorId.required(),
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

  /** The prefix walk's bounds (see recentSearch); tests make them small to reach the fallback. */
  walkLimits = { candidates: WALK_CANDIDATES, examineAtMost: WALK_EXAMINE_AT_MOST };

  /**
   * One page of GET /posts, as rows (the router writes them as JSON text, feedPageJson). The route
   * checks the caller's login here (`revocation: 'in-query'`): the condition rides in the page's
   * statement, and only a page without rows (the end of a list, or a revoked login) costs a second
   * query to tell which.
   */
  async page(caller: Caller, q: FeedQuery): Promise<{ items: FeedRow[]; nextCursor: string | null }> {
    const filter = this.compile(caller.id, q, this.d.logins.openSql(caller));
    const fulltext = q.q === undefined ? null : requiredBooleanQuery(q.q);
    const want = q.limit + 1;
    let rows: FeedRow[];
    if (q.sort === 'popular') {
      const c = q.cursor ? decodeCursor<{ s: number; t: Date; i: number }>(q.cursor, popularCursor) : null;
      rows = await this.d.reads.pagePopular(fulltext ? withMatch(filter, fulltext) : filter, {
        tag: q.tag,
        after: c ? { score: c.s, at: c.t, id: c.i } : null,
        limit: want,
      });
    } else {
      const c = q.cursor ? decodeCursor<{ t: Date; i: number }>(q.cursor, recentCursor) : null;
      const page = { tag: q.tag, after: c ? { at: c.t, id: c.i } : null, limit: want };
      const walk = q.q === undefined ? null : prefixQuery(q.q);
      rows = walk
        ? await this.recentSearch(filter, walk, fulltext!, page)
        : await this.d.reads.pageRecent(fulltext ? withMatch(filter, fulltext) : filter, page);
    }
    if (!rows.length) await this.d.logins.requireOpen(caller);
    return paginate(rows, q.limit, (last) =>
      q.sort === 'popular'
        ? { k: 'p', s: Number(last.recentScore), t: new Date(last.createdAt).toISOString(), i: last.id }
        : { k: 'r', t: new Date(last.createdAt).toISOString(), i: last.id },
    );
  }

  /** Nearest first within the circle (Redis GEO candidates, one MySQL filter query per round; src/modules/nearest.ts). */
  async nearby(
    viewerId: number,
    q: NearbyQuery,
  ): Promise<{ items: Array<Post & { distanceKm: number }>; nextCursor: string | null }> {
    const filter = this.compile(viewerId, { kind: q.kind });
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

  /**
   * A `recent` page of a q: a walk of the word-prefix table, newest first, that stops after a page.
   * Words whose two-letter start is common but whose matches are rare (or several words that seldom
   * meet) would make the walk step through many candidates, so it is capped; a short answer is the
   * end of the list when the prefix has at most `candidates` entries left (the cap is far above what
   * they can cost), and otherwise the FULLTEXT index answers the same page (exact, slower).
   */
  private async recentSearch(
    filter: SqlFilter,
    walk: PrefixWalk,
    fulltext: string,
    page: { tag?: string; after: { at: Date; id: number } | null; limit: number },
  ): Promise<FeedRow[]> {
    const { candidates, examineAtMost } = this.walkLimits;
    const rows = await this.d.reads.pageByPrefix(filter, { ...page, walk, examineAtMost });
    if (rows.length === page.limit || !(await this.d.reads.prefixHasMore(walk.key, page.after, candidates)))
      return rows;
    return this.d.reads.pageRecent(withMatch(filter, fulltext), page);
  }

  /** The conditions every list puts on `p`; `login` is the caller's open-login condition, where the route checks it. */
  private compile(
    viewerId: number,
    q: Pick<FeedQuery, 'kind' | 'authorId'>,
    login?: { sql: string; replacements: unknown[] },
  ): SqlFilter {
    const where: string[] = [];
    const replacements: unknown[] = [];
    if (login) {
      where.push(login.sql);
      replacements.push(...login.replacements);
    }
    if (q.kind) {
      where.push('p.kind = ?');
      replacements.push(q.kind);
    }
    if (q.authorId) {
      where.push('p.authorId = ?');
      replacements.push(q.authorId);
    }
    const notBlocked = this.d.blocks.notBlockedSql('p.authorId', viewerId);
    where.push(notBlocked.sql);
    replacements.push(...notBlocked.replacements);
    return { viewerId, where, replacements };
  }
}

/** The FULLTEXT condition of a q (boolean mode, every word a required prefix). */
const withMatch = (filter: SqlFilter, expr: string): SqlFilter => ({
  ...filter,
  where: [...filter.where, 'MATCH (p.searchText) AGAINST (? IN BOOLEAN MODE)'],
  replacements: [...filter.replacements, expr],
});

/**
 * The walk's bounds: a short walk is final while at most WALK_CANDIDATES candidates were left; each
 * candidate costs a few rows examined (its prefix entry, its post, its author), so the cap, twenty
 * per candidate, is never what ends such a walk, and it bounds the walk of a common prefix.
 */
const WALK_CANDIDATES = 1000;
const WALK_EXAMINE_AT_MOST = 20 * WALK_CANDIDATES;
