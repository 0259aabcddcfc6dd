import type { DomainEventMap } from '../events';

/**
 * How a badge is earned from one kind of domain event:
 * - `first`: the first event that qualifies;
 * - `count`: the `atLeast`-th event of a tally (one tally per metric and scope, e.g. per group);
 * - `streak`: events on `days` consecutive calendar days (SERVICE_TZ).
 */
export type Progress<P> =
  | { kind: 'first' }
  | { kind: 'count'; metric: string; atLeast: number; scope?: (payload: P) => number }
  | { kind: 'streak'; metric: string; days: number; at: (payload: P) => Date };

export interface BadgeRule<E extends keyof DomainEventMap = keyof DomainEventMap> {
  code: string;
  name: string;
  description: string;
  /** The domain event that may earn it (emitted in the transaction of the fact). */
  on: E;
  /** Who earns it from that event. */
  earner: (payload: DomainEventMap[E]) => number;
  /** Events that do not qualify are ignored (they count toward nothing). */
  when?: (payload: DomainEventMap[E]) => boolean;
  progress: Progress<DomainEventMap[E]>;
}

/**
 * Missions count only in a group of at least two: alone, anyone could create and complete missions
 * of their own at will and collect every mission badge.
 */
const withCompany = (p: DomainEventMap['mission.completed']) => p.memberCount >= 2;

/** Keeps each rule's payload type tied to its event while the table holds rules of every event. */
const rule = <E extends keyof DomainEventMap>(r: BadgeRule<E>) => r as unknown as BadgeRule;

/**
 * Every badge, in one table (README "Badges" repeats it for people). Each is earned at most once per
 * user (UNIQUE(userId, code)); codes are stable API values, names and descriptions are display text.
 */
export const BADGE_RULES: readonly BadgeRule[] = [
  rule({
    code: 'first-mission',
    name: 'First mission',
    description: 'Completed a group mission for the first time',
    on: 'mission.completed',
    earner: (p) => p.userId,
    when: withCompany,
    progress: { kind: 'count', metric: 'missions', atLeast: 1 },
  }),
  rule({
    code: 'ten-missions',
    name: 'Mission regular',
    description: 'Completed 10 group missions',
    on: 'mission.completed',
    earner: (p) => p.userId,
    when: withCompany,
    progress: { kind: 'count', metric: 'missions', atLeast: 10 },
  }),
  rule({
    code: 'mission-streak-7',
    name: 'Seven-day streak',
    description: 'Completed a group mission on 7 days in a row',
    on: 'mission.completed',
    earner: (p) => p.userId,
    when: withCompany,
    progress: { kind: 'streak', metric: 'mission-days', days: 7, at: (p) => p.completedAt },
  }),
  rule({
    code: 'gallery-100',
    name: 'Family photographer',
    description: 'Has 100 photos in the gallery of one group',
    on: 'group.photo.added',
    earner: (p) => p.authorId,
    // The photos in the gallery, not the adds: deleting and adding again does not get there.
    when: (p) => p.authorPhotos >= 100,
    progress: { kind: 'first' },
  }),
  rule({
    code: 'first-meetup-hosted',
    name: 'Host',
    description: 'Hosted a meetup that someone came to',
    on: 'meetup.hosted',
    earner: (p) => p.hostId,
    progress: { kind: 'first' },
  }),
  rule({
    code: 'first-five-star-stay',
    name: 'Five-star sitter',
    description: 'Received a 5-star review for a stay as a sitter',
    on: 'sitter.reviewed',
    earner: (p) => p.sitterUserId,
    when: (p) => p.rating === 5,
    progress: { kind: 'first' },
  }),
];

export const BADGE_BY_CODE = new Map(BADGE_RULES.map((r) => [r.code, r]));

/** The events any rule listens to. */
export const BADGE_EVENTS = [...new Set(BADGE_RULES.map((r) => r.on))];
