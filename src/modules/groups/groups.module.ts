import { redisLimiter } from '../../http/rate-limit';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { GroupsRepository } from './groups.repository';
import type { GroupsDeps } from './groups.deps';
import { GroupsService } from './groups.service';
import type { VoiceService } from './groups.voice';
import { groupsRoutes } from './groups.router';
import { InvitesService } from './groups.invites';
import { inviteRoutes } from './groups.invites.router';
import { createVoicePart } from './groups.voice.module';
import { MissionsRepository } from './missions.repository';
import { MissionsService } from './missions.service';
import { missionRoutes } from './missions.router';
import { CalendarRepository } from './calendar.repository';
import { CalendarService } from './calendar.service';
import { calendarRoutes } from './calendar.router';
import { GalleryRepository } from './gallery.repository';
import { GalleryService } from './gallery.service';
import { galleryRoutes } from './gallery.router';
import { membersBeforeUpload } from './groups.upload';
import { imageUpload } from '../../http/upload';

/** Per-user and per-group rate limits (documented in the README and each route's summary). */
export const LIMITS = {
  create: { points: 20, durationSec: 24 * 3600, text: '20 new groups per day' },
  invitesPerUser: { points: 30, durationSec: 3600, text: '30 invites per person per hour' },
  invitesPerGroup: { points: 50, durationSec: 24 * 3600, text: '50 invites per group per day' },
  // The same as for community posts.
  photoComments: { points: 60, durationSec: 600, text: '60 comments per 10 minutes' },
  photoLikes: { points: 300, durationSec: 60, text: '300 likes or unlikes per minute' },
};

/** The groups module's services, published as `services.groups`. */
export interface GroupsServices {
  /** Groups, members, roles; `requireMember` / `requireRole` guard every other group feature. */
  groups: GroupsService;
  invites: InvitesService;
  /** Voice messages (the audio pipeline behind them is per instance). */
  voice: VoiceService;
  missions: MissionsService;
  calendar: CalendarService;
  gallery: GalleryService;
}

/**
 * Groups (issue 17): family spaces with members and roles, a chat room that follows membership,
 * invites, a calendar, a gallery and missions. Uses chat, notifications, media and safety.
 */
export function createGroupsModule(ctx: ModuleContext, services: Services): FeatureModule<'groups'> {
  const repo = new GroupsRepository(ctx.sequelize);
  const d: GroupsDeps = {
    sequelize: ctx.sequelize,
    repo,
    users: services.users,
    chat: services.chat,
    notifications: services.notifications,
    blocks: services.safety.blocks,
    media: services.media,
    outbox: ctx.outbox,
    events: ctx.events,
    clock: ctx.clock,
    logger: ctx.logger,
    serviceTz: ctx.config.serviceTz,
    // Links in mails open the front end (APP_URL), not the API.
    publicUrl: ctx.config.appUrl,
  };
  const limiter = (name: keyof typeof LIMITS) =>
    redisLimiter(
      ctx.redis,
      `${ctx.config.redisPrefix}rl:groups:${name}`,
      LIMITS[name].points,
      LIMITS[name].durationSec,
    );
  const galleryRepo = new GalleryRepository(ctx.sequelize);
  // Missions are built after groups (they take it); read when a member leaves.
  const built: { missions?: MissionsService } = {};
  const groups = new GroupsService(
    d,
    limiter('create'),
    (groupId, t) => galleryRepo.filesOf(groupId, t),
    (groupId, t) => built.missions!.settleAfterLeave(groupId, t),
  );
  const invites = new InvitesService(d, groups, {
    perUser: limiter('invitesPerUser'),
    perGroup: limiter('invitesPerGroup'),
  });
  const voice = createVoicePart(ctx, services, groups);
  const missions = new MissionsService(d, groups, new MissionsRepository(ctx.sequelize));
  built.missions = missions;
  const calendar = new CalendarService(d, groups, new CalendarRepository(ctx.sequelize));
  const gallery = new GalleryService(d, groups, galleryRepo, {
    comments: limiter('photoComments'),
    likes: limiter('photoLikes'),
  });
  services.safety.registerTarget('photo', {
    find: (id, viewerId) => gallery.reportable(id, viewerId),
    setHidden: (id, hidden, t) => gallery.setHiddenInTx(id, hidden, t),
    remove: (id, t) => gallery.removeInTx(id, t),
  });
  const service: GroupsServices = { groups, invites, voice: voice.service, missions, calendar, gallery };
  return {
    name: 'groups',
    service,
    routes: [
      ...groupsRoutes(groups, { create: LIMITS.create.text }),
      ...inviteRoutes(invites, { perUser: LIMITS.invitesPerUser.text, perGroup: LIMITS.invitesPerGroup.text }),
      ...voice.routes,
      ...missionRoutes(missions),
      ...calendarRoutes(calendar),
      ...galleryRoutes({
        gallery,
        upload: [membersBeforeUpload(groups), ...imageUpload(services.media)],
        limits: { comments: LIMITS.photoComments.text, likes: LIMITS.photoLikes.text },
      }),
    ],
    start: () => voice.start(),
    stop: () => voice.stop(),
    events: {
      'account.deleted': ({ userId }, t) => groups.leaveAllForDeletedAccount(userId, t),
      'user.email_verified': ({ userId, email }, t) => invites.onEmailVerified(userId, email, t),
      'group.deleted': ({ groupId }, t) => voice.onGroupDeleted(groupId, t),
    },
    // Due-at data: invites past their 7 days, event reminders.
    async sweep() {
      await invites.sweep();
      await calendar.sweep();
    },
  };
}
