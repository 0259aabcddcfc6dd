import type { Transaction } from 'sequelize';
import type { Clock } from '../../infra/clock';
import type { DomainListeners } from '../../infra/domain-events';
import type { DomainEventMap } from '../events';
import type { UsersService } from '../users/users.service';
import type { NotificationsService } from '../notifications/notifications.service';
import { addDays, dayIn } from '../sitters/sitters.days';
import { BADGE_BY_CODE, BADGE_EVENTS, BADGE_RULES, type BadgeRule } from './badges.rules';
import type { BadgesRepository } from './badges.repository';

/** API.md "Badges": one earned badge as clients see it. */
export interface EarnedBadge {
  code: string;
  name: string;
  description: string;
  earnedAt: string;
}

export interface BadgesDeps {
  repo: BadgesRepository;
  users: UsersService;
  notifications: NotificationsService;
  clock: Clock;
  /** Calendar days of streaks are days in SERVICE_TZ. */
  serviceTz: string;
}

/**
 * Awards badges by the rules in badges.rules.ts, inside the transaction of the event that earns
 * them (a domain-event listener): the badge, its progress and its `badge.earned` notification commit
 * with the fact or not at all — no badge for a completion that rolled back, none lost to a crash
 * between the two. UNIQUE(userId, code) makes each badge at most once per user; tallies are row
 * locks per user and metric, so concurrent events of one user are counted one after another.
 */
export class BadgesService {
  constructor(private readonly d: BadgesDeps) {}

  /** A listener for every event some rule listens to. */
  listeners(): DomainListeners<DomainEventMap> {
    const out: Record<string, (payload: unknown, t: Transaction) => Promise<void>> = {};
    for (const event of BADGE_EVENTS) out[event] = (payload, t) => this.evaluate(event, payload as never, t);
    return out as DomainListeners<DomainEventMap>;
  }

  /** Applies every rule of `event` to its payload, in the event's transaction. */
  async evaluate<E extends keyof DomainEventMap>(event: E, payload: DomainEventMap[E], t: Transaction): Promise<void> {
    const rules = BADGE_RULES.filter((r) => r.on === event && (!r.when || r.when(payload as never)));
    // One increment per tally and event, however many rules read it; in a fixed order, so two
    // events of one user lock the same rows in the same order.
    const tallies = new Map<string, Promise<number>>();
    const tally = (userId: number, metric: string, scope: number, t: Transaction) => {
      const key = `${userId}:${metric}:${scope}`;
      if (!tallies.has(key)) tallies.set(key, this.d.repo.increment(userId, metric, scope, t));
      return tallies.get(key)!;
    };
    const ordered = [...rules].sort((a, b) => metricOf(a).localeCompare(metricOf(b)));
    for (const rule of ordered) {
      const userId = rule.earner(payload as never);
      const p = rule.progress;
      let earned: boolean;
      if (p.kind === 'first') earned = true;
      else if (p.kind === 'count')
        earned = (await tally(userId, p.metric, p.scope?.(payload as never) ?? 0, t)) >= p.atLeast;
      else {
        await tally(userId, p.metric, 0, t); // the lock that orders this user's streak checks
        const day = dayIn(p.at(payload as never), this.d.serviceTz);
        await this.d.repo.addDay(userId, p.metric, day, t);
        earned =
          runAround(
            await this.d.repo.days(userId, p.metric, addDays(day, 1 - p.days), addDays(day, p.days - 1), t),
            day,
          ) >= p.days;
      }
      if (earned) await this.award(rule, userId, t);
    }
  }

  /** `GET /users/{id}/badges`: public, in the order they were earned; 404 for no (or a deleted) account. */
  async list(userId: number): Promise<{ items: EarnedBadge[] }> {
    await this.d.users.getPublic(userId);
    const rows = await this.d.repo.earnedBy(userId);
    return {
      items: rows.flatMap(({ code, earnedAt }) => {
        const rule = BADGE_BY_CODE.get(code);
        // A badge retired from the table is no longer shown.
        return rule ? [{ code, name: rule.name, description: rule.description, earnedAt: earnedAt.toISOString() }] : [];
      }),
    };
  }

  /** `account.deleted`: badges and progress go with the account. */
  forget(userId: number, t: Transaction): Promise<void> {
    return this.d.repo.forget(userId, t);
  }

  private async award(rule: BadgeRule, userId: number, t: Transaction): Promise<void> {
    if (!(await this.d.repo.award(userId, rule.code, this.d.clock.now(), t))) return;
    await this.d.notifications.notifyInTx(t, {
      recipientId: userId,
      type: 'badge.earned',
      title: `New badge: ${rule.name}`,
      body: rule.description,
      data: { code: rule.code },
      dedupeKey: `badge:${rule.code}`,
    });
  }
}

const metricOf = (r: BadgeRule) => (r.progress.kind === 'first' ? '' : r.progress.metric);

/** Length of the run of consecutive days in `days` (sorted) that contains `day`. */
function runAround(days: string[], day: string): number {
  const have = new Set(days);
  if (!have.has(day)) return 0;
  let run = 1;
  for (let d = addDays(day, -1); have.has(d); d = addDays(d, -1)) run++;
  for (let d = addDays(day, 1); have.has(d); d = addDays(d, 1)) run++;
  return run;
}
