import type { ListingRow, OfferRow, PhotoRow, ReviewRow } from './market.repository';
import type { Category, ListingStatus } from './market.schemas';
import { userRef, type PhotoRef, type UserRef } from '../../http/refs';

export type PublicUser = UserRef;
export type Photo = PhotoRef;

export interface Listing {
  id: number;
  seller: PublicUser;
  title: string;
  description: string;
  category: Category;
  price: number;
  status: ListingStatus;
  photos: Photo[];
  location: { lat: number; lng: number };
  address: string;
  favoriteCount: number;
  favoritedByMe: boolean;
  offerCount: number;
  buyerId: number | null;
  deleted: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Offer {
  id: number;
  listingId: number;
  buyer: PublicUser;
  price: number | null;
  message: string | null;
  createdAt: string;
  chatRoomId: number;
}

export interface Review {
  id: number;
  listingId: number;
  authorId: number;
  subjectId: number;
  rating: number;
  comment: string | null;
  createdAt: string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

const userOf = userRef;

/** `buyerId` only for the seller and that buyer (API: nobody else learns who bought). */
export function toListing(r: ListingRow, photos: PhotoRow[], favoritedByMe: boolean, viewerId: number): Listing {
  const party = viewerId === r.sellerId || (r.buyerId !== null && viewerId === r.buyerId);
  return {
    id: r.id,
    seller: userOf(r.sellerId, r.sellerNickname, r.sellerAvatarUrl, r.sellerDeletedAt),
    title: r.title,
    description: r.description,
    category: r.category,
    price: r.price,
    status: r.status,
    photos: photos.map((p) => ({ id: p.id, url: p.url, thumbnailUrl: p.thumbnailUrl })),
    location: { lat: r.lat, lng: r.lng },
    address: r.address,
    favoriteCount: r.favoriteCount,
    favoritedByMe,
    offerCount: r.offerCount,
    buyerId: party ? r.buyerId : null,
    deleted: r.deletedAt !== null,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

export const toOffer = (o: OfferRow): Offer => ({
  id: o.id,
  listingId: o.listingId,
  buyer: userOf(o.buyerId, o.buyerNickname, o.buyerAvatarUrl, o.buyerDeletedAt),
  price: o.price,
  message: o.message,
  createdAt: iso(o.createdAt),
  chatRoomId: o.chatRoomId,
});

export const toReview = (r: ReviewRow): Review => ({
  id: r.id,
  listingId: r.listingId,
  authorId: r.authorId,
  subjectId: r.subjectId,
  rating: Number(r.rating),
  comment: r.comment,
  createdAt: iso(r.createdAt),
});
