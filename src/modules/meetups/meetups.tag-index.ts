import { GeoIndex } from '../../infra/geo';
import type { HealableIndex } from '../../infra/geo-heal';
import type { Redis } from '../../infra/redis';
import type { MeetupsRepository } from './meetups.repository';
import { TAG_VOCABULARY } from './meetups.schemas';

/** A vocabulary tag (free tags have no index of their own). */
type VocabularyTag = (typeof TAG_VOCABULARY)[number];

const isVocabulary = (tag: string): tag is VocabularyTag => (TAG_VOCABULARY as readonly string[]).includes(tag);

/** How long a process trusts what it read of the ready marker (ms): one read per interval, not per search. */
const READY_CACHE_MS = 5000;

/** One versioned geo change of a meetup (meetups.service's GeoMeetupChange is this). */
export interface TagGeoChange {
  meetupId: number;
  /** `meetups.geoVersion` after the change (bumped by a move and by a change of tags). */
  version: number;
  indexed: boolean;
  lat: number;
  lng: number;
  /**
   * The vocabulary tags the meetup is found under at this version (see vocabularyTagsOf); absent in
   * changes recorded before the tag indexes existed.
   */
  tags?: string[];
  /** Tags this change took off the meetup (they must leave their indexes). */
  untagged?: string[];
}

/**
 * One Redis GEO index per vocabulary tag (`geo:meetups:tag:<tag>`), beside the index of all meetups,
 * so a nearby search by tag reads candidates that carry the tag: about a quarter of the candidates of
 * the whole index were sent to MySQL for nothing, the cost that kept a filtered distance page slower
 * than the raw query (docs/BENCHMARKS.md, issue 20). MySQL still filters every candidate (the tag
 * too), so a stale entry never shows; what must hold is that no meetup with the tag is missing:
 *
 * - Each is a GeoIndex fed by the same versioned changes as the main one (the meetup's geo version,
 *   bumped by a move and by a change of tags), so outbox rows carried out twice, late or out of order
 *   leave each index as the latest version says. A change is applied to the indexes of the tags it
 *   has and the tags it took off; an index a version does not touch keeps the last version that did,
 *   which has the right membership.
 * - The family is used only once a complete rebuild of all of them has set the ready marker. A
 *   Redis that lost its keys lost the marker too; searches then read the main index (exact, only
 *   slower) until the heal (at start, when Redis is back, and each sweep) has rebuilt them.
 */
export class MeetupTagIndexes {
  private readonly indexes: Map<VocabularyTag, GeoIndex>;
  readonly readyKey: string;
  private readyUntil = 0;
  private readyCached = false;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly repo: MeetupsRepository,
  ) {
    this.indexes = new Map(TAG_VOCABULARY.map((tag) => [tag, new GeoIndex(redis, prefix, `meetups:tag:${tag}`)]));
    this.readyKey = `${prefix}geo:meetups:tags:ready`;
  }

  /** Every tag's index (for the retention sweep of their version tombstones). */
  all(): GeoIndex[] {
    return [...this.indexes.values()];
  }

  /** The index to search for `tag`: null for a free tag, or while the family is not known complete. */
  async forSearch(tag: string): Promise<GeoIndex | null> {
    if (!isVocabulary(tag)) return null;
    return (await this.ready()) ? this.indexes.get(tag)! : null;
  }

  async ready(fresh = false): Promise<boolean> {
    if (fresh || Date.now() >= this.readyUntil) {
      this.readyCached = (await this.redis.exists(this.readyKey)) === 1;
      this.readyUntil = Date.now() + READY_CACHE_MS;
    }
    return this.readyCached;
  }

  /** Carries one versioned change into the indexes it concerns (idempotent, order-safe). */
  async apply(change: TagGeoChange): Promise<void> {
    // A change recorded before tags travelled with it: every index, with the tags MySQL has now
    // (a later version, if any, is applied on its own and wins).
    const tags = change.tags ?? (await this.repo.vocabularyTagsOf(change.meetupId));
    const touched = change.tags ? [...tags, ...(change.untagged ?? [])] : TAG_VOCABULARY;
    const point = { lat: change.lat, lng: change.lng };
    await Promise.all(
      [...new Set(touched)].filter(isVocabulary).map((tag) =>
        this.indexes.get(tag)!.apply([
          {
            id: change.meetupId,
            version: change.version,
            point: change.indexed && tags.includes(tag) ? point : null,
          },
        ]),
      ),
    );
  }

  /** Rebuilds every tag's index from MySQL (see GeoIndex.rebuild), then marks the family ready. */
  async rebuild(): Promise<{ count: number }> {
    let count = 0;
    for (const [tag, geo] of this.indexes) {
      const done = await geo.rebuildFromTable({
        count: () => this.repo.countIndexedWithTag(tag),
        batch: (afterId, size) => this.repo.indexedGeoBatchWithTag(tag, afterId, size),
      });
      count += done.count;
    }
    await this.redis.set(this.readyKey, '1');
    this.readyUntil = 0;
    return { count };
  }

  /** For the heal check (infra/geo-heal.ts): missing means not marked ready, whatever MySQL holds. */
  healable(): HealableIndex {
    return {
      name: 'meetups by tag',
      geo: this.indexes.get(TAG_VOCABULARY[0])!,
      missing: async () => !(await this.ready(true)),
      expected: () => this.repo.countIndexed(),
      rebuild: () => this.rebuild(),
    };
  }
}
