import type Joi from 'joi';
import { publicUserSchema, selfUserSchema } from '../http/schemas';
import * as auth from './auth/auth.schemas';
import * as accounts from './accounts/accounts.schemas';
import * as pets from './pets/pets.schemas';
import * as sitters from './sitters/sitters.schemas';
import * as reservations from './reservations/reservations.schemas';
import * as chat from './chat/chat.schemas';
import * as notifications from './notifications/notifications.schemas';
import * as meetups from './meetups/meetups.schemas';
import * as community from './community/community.schemas';

/**
 * The named schemas of /openapi.json and /asyncapi.json: every schema in those documents equal to
 * one of these (descriptions aside, nullable or not) becomes a `$ref` to its name, so generated
 * clients get a `User` or a `Reservation` type instead of anonymous shapes. A module adds its
 * objects here; the first name wins when two schemas have the same shape.
 */
export const API_COMPONENTS: Record<string, Joi.Schema> = {
  User: selfUserSchema,
  PublicUser: publicUserSchema,
  TokenPair: auth.tokenPairSchema,
  SignedIn: auth.sessionSchema,
  LoginSession: accounts.sessionSchema,
  Identity: accounts.identitySchema,
  Provider: accounts.providerSchema,
  Pet: pets.petSchema,
  Sitter: sitters.sitterSchema,
  OwnSitter: sitters.ownSitterSchema,
  SitterSearchItem: sitters.searchItemSchema,
  Photo: sitters.photoSchema,
  SitterReview: sitters.reviewSchema,
  Reservation: reservations.reservationSchema,
  Review: reservations.reviewSchema,
  Room: chat.roomSchema,
  Message: chat.messageSchema,
  ReadReceipt: chat.readReceiptSchema,
  Notification: notifications.notificationSchema,
  NotificationPreferences: notifications.preferencesSchema,
  UnreadCount: notifications.countSchema,
  Meetup: meetups.meetupSchema,
  MeetupNearbyItem: meetups.nearbyItemSchema,
  LiveLocations: meetups.liveSnapshotSchema,
  Post: community.postSchema,
  PostNearbyItem: community.nearbyItemSchema,
  Comment: community.commentSchema,
};
