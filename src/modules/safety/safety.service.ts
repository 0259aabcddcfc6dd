import type { Sequelize, Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import { Conflict, NotFound, ValidationFailed } from '../../errors';
import type { UsersService } from '../users/users.service';
import type { PublicUser } from '../users/users.presenter';
import type { CaseRow, CaseStatus, SafetyRepository, TargetType } from './safety.repository';

export type { TargetType } from './safety.repository';

/** Distinct reporters that take a piece of content out of lists until an operator decides. */
export const HIDE_AT_REPORTERS = 5;
/** Users one account may block (the list is answered whole, without a cursor). */
export const MAX_BLOCKS = 1000;

/**
 * The published block check (`services.safety.blocks`): every module that lists or connects people
 * asks it. A block works both ways, so each question is symmetric.
 */
export interface Blocks {
  /**
   * A SQL condition (with its replacements) that keeps rows whose user in `column` (e.g. `p.authorId`)
   * has no block either way with `viewerId`: lists filter in the database, without an id list.
   */
  notBlockedSql(column: string, viewerId: number): { sql: string; replacements: unknown[] };
  /** True when either user blocked the other. */
  between(a: number, b: number, t?: Transaction): Promise<boolean>;
  /**
   * A SQL condition true when the users in columns `a` and `b` (e.g. `m.userId`) have a block either
   * way: for statements that check many pairs at once, each pair two primary-key probes.
   */
  blockedBetweenSql(a: string, b: string): string;
  /** Of these pairs, those with a block either way, keyed `low:high` (one query for many pairs). */
  blockedPairs(pairs: Array<[number, number]>, t?: Transaction): Promise<Set<string>>;
  /** Every account with a block either way with `userId` (for in-memory filters such as the sitter map). */
  usersBlockedWith(userId: number): Promise<Set<number>>;
}

/**
 * How the safety module reaches a kind of reported thing owned by another module (posts, comments
 * …), registered by that module. `find` answers the owner of a target the reporter may see (null:
 * 404); `setHidden` and `remove` run inside the safety transaction.
 */
export interface ReportTarget {
  find(id: number, viewerId: number): Promise<{ ownerId: number } | null>;
  setHidden(id: number, hidden: boolean, t: Transaction): Promise<void>;
  remove(id: number, t: Transaction): Promise<void>;
}

export interface ReportInput {
  targetType: TargetType;
  targetId: number;
  reason: 'spam' | 'abuse' | 'scam' | 'other';
  detail?: string;
}

export interface CaseView {
  id: number;
  targetType: TargetType;
  targetId: number;
  reporterCount: number;
  status: CaseStatus;
  hidden: boolean;
  reasons: Record<string, number>;
  createdAt: string;
  resolvedAt: string | null;
}

export interface SafetyDeps {
  sequelize: Sequelize;
  repo: SafetyRepository;
  users: UsersService;
  clock: Clock;
  logger: Logger;
}

export class SafetyService {
  private readonly targets = new Map<TargetType, ReportTarget>();
  readonly blocks: Blocks;

  constructor(private readonly d: SafetyDeps) {
    this.blocks = {
      notBlockedSql: (column, viewerId) => d.repo.notBlockedEitherWaySql(column, viewerId),
      between: (a, b, t) => (a === b ? Promise.resolve(false) : d.repo.isBlockedEitherWay(a, b, t)),
      blockedBetweenSql: (a, b) => d.repo.blockedBetweenSql(a, b),
      blockedPairs: (pairs, t) => d.repo.blockedPairs(pairs, t),
      usersBlockedWith: (userId) => d.repo.usersBlockedWith(userId),
    };
    // Accounts are reportable from the start; hiding an account from lists is the operator's call.
    this.registerTarget('user', {
      find: async (id) => ((await d.users.findById(id)) ? { ownerId: id } : null),
      setHidden: async () => undefined,
      remove: async () => undefined,
    });
  }

  /**
   * A module that owns a reportable kind registers it here (community: post, comment; chat: message).
   * A contract kind nobody registered answers 400 on body.targetType.
   */
  registerTarget(type: TargetType, target: ReportTarget): void {
    this.targets.set(type, target);
  }

  /** The kinds some module registered (the others answer 400 on body.targetType). */
  reportableTypes(): TargetType[] {
    return [...this.targets.keys()];
  }

  // --- blocks ------------------------------------------------------------------------------------

  async block(userId: number, otherId: number): Promise<void> {
    if (otherId === userId)
      throw ValidationFailed('You cannot block yourself', [{ path: 'params.id', message: 'cannot be yourself' }]);
    if (!(await this.d.users.findById(otherId))) throw NotFound('User');
    await inTransaction(this.d.sequelize, async (t) => {
      // The blocker's account row serializes their blocks, so the limit cannot be raced past.
      await this.d.users.findById(userId, t, true);
      if ((await this.d.repo.countBlocks(userId, t)) >= MAX_BLOCKS)
        throw Conflict(`You may block at most ${MAX_BLOCKS} users; unblock someone first`);
      await this.d.repo.block(userId, otherId, this.d.clock.now(), t);
    });
  }

  async unblock(userId: number, otherId: number): Promise<void> {
    await this.d.repo.unblock(userId, otherId);
  }

  async listBlocks(
    userId: number,
  ): Promise<{ items: { user: Pick<PublicUser, 'id' | 'nickname' | 'avatarUrl'>; createdAt: string }[] }> {
    const rows = await this.d.repo.listBlocks(userId);
    const users = await this.d.users.publicUsers(rows.map((r) => Number(r.blockedId)));
    return {
      items: rows.map((r) => {
        const u = users.get(Number(r.blockedId));
        return {
          user: { id: Number(r.blockedId), nickname: u?.nickname ?? 'Deleted user', avatarUrl: u?.avatarUrl ?? null },
          createdAt: new Date(r.createdAt).toISOString(),
        };
      }),
    };
  }

  // --- reports -----------------------------------------------------------------------------------

  /**
   * Files a report (202 either way): one per reporter and target, a repeat counts once. The fifth
   * distinct reporter of an open case hides the target until an operator resolves the case.
   */
  async report(userId: number, input: ReportInput): Promise<void> {
    const target = this.targets.get(input.targetType);
    // A kind of the contract whose module is not built (or not deployed) yet: not "not found".
    if (!target)
      throw ValidationFailed(`Reports of type ${input.targetType} are not accepted yet`, [
        { path: 'body.targetType', message: 'is not reportable yet' },
      ]);
    const found = await target.find(input.targetId, userId);
    if (!found) throw NotFound(input.targetType === 'user' ? 'User' : 'Report target');
    if (found.ownerId === userId)
      throw ValidationFailed('You cannot report your own content', [{ path: 'body.targetId', message: 'is yours' }]);
    const hid = await inTransaction(this.d.sequelize, async (t) => {
      const now = this.d.clock.now();
      const c = await this.d.repo.lockCase(input.targetType, input.targetId, now, t);
      const added = await this.d.repo.addReport(
        c.id,
        { reporterId: userId, reason: input.reason, detail: input.detail ?? '' },
        now,
        t,
      );
      if (!added || c.status !== 'open' || c.hiddenAt || Number(c.reporterCount) + 1 < HIDE_AT_REPORTERS) return false;
      await target.setHidden(input.targetId, true, t);
      await this.d.repo.markHidden(c.id, now, t);
      return true;
    });
    if (hid)
      this.d.logger.info({ targetType: input.targetType, targetId: input.targetId }, 'content hidden by reports');
  }

  async listCases(q: { status: CaseStatus | 'all'; limit: number; minReporters: number }): Promise<CaseView[]> {
    const rows = await this.d.repo.listCases(q);
    return Promise.all(rows.map(async (r) => this.view(r)));
  }

  /**
   * The operator's decision on a case: `keep` shows the target again (and it is not hidden again by
   * later reports of the same case), `remove` deletes it through its module. A decided case → 409.
   */
  async resolve(caseId: number, decision: 'keep' | 'remove'): Promise<CaseView> {
    const row = await inTransaction(this.d.sequelize, async (t) => {
      const c = await this.d.repo.lockCaseById(caseId, t);
      if (!c) throw NotFound('Report case');
      if (c.status !== 'open') throw Conflict(`Case ${caseId} was already resolved (${c.status})`);
      const target = this.targets.get(c.targetType);
      if (decision === 'keep') {
        if (c.hiddenAt && target) await target.setHidden(c.targetId, false, t);
      } else if (target) {
        await target.remove(c.targetId, t);
      }
      const now = this.d.clock.now();
      await this.d.repo.resolve(c.id, decision === 'keep' ? 'kept' : 'removed', now, t);
      return (await this.d.repo.lockCaseById(caseId, t))!;
    });
    return this.view(row);
  }

  private async view(r: CaseRow): Promise<CaseView> {
    const reasons = await this.d.repo.reasonsOf(r.id);
    return {
      id: r.id,
      targetType: r.targetType,
      targetId: Number(r.targetId),
      reporterCount: Number(r.reporterCount),
      status: r.status,
      hidden: r.hiddenAt !== null,
      reasons: Object.fromEntries(reasons.map((x) => [x.reason, Number(x.n)])),
      createdAt: new Date(r.createdAt).toISOString(),
      resolvedAt: r.resolvedAt ? new Date(r.resolvedAt).toISOString() : null,
    };
  }
}
