import Joi from 'joi';
import { cursorDate, cursorId, decodeCursor, encodeCursor } from '../../http/cursor';
import type { GeoIndex } from '../../infra/geo';
import { filterShape, nearestPage } from '../nearest';
import { pageByKey } from '../../infra/geo-sorted';
import type { Clock } from '../../infra/clock';
import { ValidationFailed } from '../../errors';
import type { MeetupNearbyReads, MeetupRow, MeetupsRepository, NearbyFilter } from './meetups.repository';
import type { MeetupTagIndexes } from './meetups.tag-index';
import { toMeetup, type Meetup } from './meetups.presenter';
import type { NearbySort, PetSize } from './meetups.schemas';

export interface NearbyQuery {
  lat: number;
  lng: number;
  radiusKm: number;
  from?: Date;
  to?: Date;
  tag?: string;
  petSize?: PetSize;
  hasFreePlaces?: boolean;
  sort: NearbySort;
  limit: number;
  cursor?: string;
}

export type NearbyItem = Meetup & { distanceKm: number };

export interface NearbyPage {
  items: NearbyItem[];
  nextCursor: string | null;
}

// Cursors: base64url JSON of the last item's sort key and id.
const startCursor = Joi.object({
  s: Joi.valid('startsAt').required(),
  t: cursorDate.required(),
  i: cursorId.required(),
});

/**
 * GET /meetups/nearby: Redis GEO gives the candidates in the circle, one MySQL query per round keeps
 * those passing the filters. The SQL filter is the truth (status, start time, tags, places), so a
 * stale index entry can never show a cancelled or started meetup.
 */
export class MeetupSearch {
  /** How many members make a circle dense (see src/infra/geo-sorted.ts); tests set it to exercise both plans. */
  denseAt: number | null = null;
  /** Rows a dense-circle walk may examine before the IN list takes over (tests set it small). */
  walkBudget: number | null = null;

  constructor(
    private readonly geo: GeoIndex,
    private readonly repo: MeetupsRepository,
    private readonly nearbyReads: MeetupNearbyReads,
    private readonly tagIndexes: MeetupTagIndexes,
    private readonly clock: Clock,
  ) {}

  /** `notBlocked`: the condition on `m.hostId` that leaves out hosts on either side of a block with the searcher. */
  async search(q: NearbyQuery, notBlocked?: NearbyFilter['notBlocked']): Promise<NearbyPage> {
    const filter = this.compile(q, notBlocked);
    return q.sort === 'distance' ? this.byDistance(q, filter) : this.byStart(q, filter);
  }

  private compile(q: NearbyQuery, notBlocked: NearbyFilter['notBlocked']): NearbyFilter {
    const now = this.clock.now();
    // Started meetups never appear, so a `from` in the past means "now".
    const from = q.from && q.from > now ? q.from : now;
    if (q.to && q.to < from) {
      throw ValidationFailed('Invalid request: query.to must not be before from', [
        { path: 'query.to', message: 'must not be before from (or now)' },
      ]);
    }
    return {
      now,
      from,
      to: q.to,
      tag: q.tag,
      petSize: q.petSize,
      hasFreePlaces: q.hasFreePlaces,
      notBlocked,
    };
  }

  /** Did the caller filter beyond the circle (then few candidates may pass: see the paging helpers)? */
  private static selective(f: NearbyFilter): boolean {
    return Boolean(f.to || f.tag || f.petSize || f.hasFreePlaces);
  }

  /**
   * Nearest first (see pageByDistance). With a vocabulary tag, the candidates come from that tag's own
   * index (see MeetupTagIndexes): nearly all of them pass, where about a quarter of the whole index's
   * did. Cursors are signed for the main index, so a page reads on whichever index the next one uses,
   * and with the tag: one that got deep cheaply through the tag's index is refused by the search
   * without it (a deep snapshot of the whole index for one request).
   */
  private async byDistance(q: NearbyQuery, filter: NearbyFilter): Promise<NearbyPage> {
    const tagged = filter.tag ? await this.tagIndexes.forSearch(filter.tag) : null;
    const shape = filterShape(filter);
    return nearestPage<MeetupRow, NearbyItem>({
      geo: tagged ?? this.geo,
      cursorIndex: this.geo,
      indexFilter: filter.tag ? `tag:${filter.tag}` : undefined,
      center: { lat: q.lat, lng: q.lng },
      radiusKm: q.radiusKm,
      limit: q.limit,
      cursor: q.cursor,
      selective: MeetupSearch.selective(filter),
      // The pass rate through a tag's index is another than through the whole one: learned apart.
      shape: tagged ? `${shape}@tag` : shape,
      filterIds: (ids) => this.nearbyReads.filterIds(ids, filter),
      toItem: (row, distanceKm) => ({ ...toMeetup(row), distanceKm }),
    });
  }

  /**
   * Soonest first: not the geo order, so MySQL sorts and cuts the page, over the circle's ids or by
   * walking the start-time index when the circle is dense (src/infra/geo-sorted.ts).
   */
  private async byStart(q: NearbyQuery, filter: NearbyFilter): Promise<NearbyPage> {
    const cur = q.cursor ? decodeCursor<{ t: Date; i: number }>(q.cursor, startCursor) : null;
    const after = cur ? { at: cur.t, id: cur.i } : null;
    const { page, more } = await pageByKey<MeetupRow>({
      geo: this.geo,
      center: { lat: q.lat, lng: q.lng },
      radiusKm: q.radiusKm,
      limit: q.limit,
      selective: MeetupSearch.selective(filter),
      alias: 'm',
      denseAt: this.denseAt,
      walkBudget: this.walkBudget,
      fetch: (source, want) => this.repo.pageByStart(source, filter, after, want),
    });
    const items = page.map(({ row, distanceKm }) => ({ ...toMeetup(row), distanceKm }));
    const last = page[page.length - 1]?.row;
    const nextCursor = more
      ? encodeCursor({ s: 'startsAt', t: new Date(last.startsAt).toISOString(), i: last.id })
      : null;
    return { items, nextCursor };
  }
}
