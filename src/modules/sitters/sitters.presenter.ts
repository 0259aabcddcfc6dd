import type { PhotoRow, SitterRow } from './sitters.repository';
import { PRICE_COLUMN, SIZE_COLUMN } from './sitters.repository';
import { SERVICES, SIZES, type PetSize, type Service } from './sitters.schemas';

export type Prices = Partial<Record<Service, number>>;

export interface RatingSummary {
  average: number | null;
  count: number;
  distribution: Record<'1' | '2' | '3' | '4' | '5', number>;
}

export interface PhotoView {
  id: number;
  url: string;
  thumbnailUrl: string;
}

export const servicesOf = (row: SitterRow): Service[] =>
  SERVICES.filter((s) => row[PRICE_COLUMN[s] as keyof SitterRow] !== null);

export function pricesOf(row: SitterRow): Prices {
  const out: Prices = {};
  for (const s of servicesOf(row)) out[s] = Number(row[PRICE_COLUMN[s] as keyof SitterRow]);
  return out;
}

export const sizesOf = (row: SitterRow): PetSize[] =>
  SIZES.filter((z) => Boolean(Number(row[SIZE_COLUMN[z] as keyof SitterRow])));

export const ratingOf = (row: SitterRow): number | null => (row.rating === null ? null : Number(row.rating));

export const toPhoto = (p: PhotoRow): PhotoView => ({ id: p.id, url: p.url, thumbnailUrl: p.thumbnailUrl });

export function toSitter(row: SitterRow, photos: PhotoRow[], distribution: Map<number, number>) {
  const summary: RatingSummary = {
    average: ratingOf(row),
    count: Number(row.reviewCount),
    distribution: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 } as RatingSummary['distribution'],
  };
  for (const [stars, n] of distribution) if (stars >= 1 && stars <= 5) summary.distribution[String(stars) as '1'] = n;
  return {
    id: row.id,
    userId: row.userId,
    nickname: row.nickname,
    avatarUrl: row.avatarUrl,
    headline: row.headline,
    bio: row.bio,
    services: servicesOf(row),
    prices: pricesOf(row),
    acceptedSizes: sizesOf(row),
    maxPets: Number(row.maxPets),
    location: { lat: Number(row.lat), lng: Number(row.lng) },
    address: row.address,
    rating: ratingOf(row),
    reviewCount: Number(row.reviewCount),
    photos: photos.map(toPhoto),
    ratingSummary: summary,
    active: Boolean(Number(row.active)),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

export type SitterView = ReturnType<typeof toSitter>;

export const toSearchItem = (row: SitterRow, distanceKm: number) => ({
  id: row.id,
  userId: row.userId,
  nickname: row.nickname,
  headline: row.headline,
  avatarUrl: row.avatarUrl,
  distanceKm,
  rating: ratingOf(row),
  reviewCount: Number(row.reviewCount),
  prices: pricesOf(row),
  services: servicesOf(row),
  location: { lat: Number(row.lat), lng: Number(row.lng) },
});

export type SearchItem = ReturnType<typeof toSearchItem>;
