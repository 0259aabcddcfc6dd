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

/** The sitter's price for a service, or null when it is not offered. */
export const priceOf = (row: SitterRow, service: Service): number | null => row[PRICE_COLUMN[service]];

export const servicesOf = (row: SitterRow): Service[] => SERVICES.filter((s) => priceOf(row, s) !== null);

export function pricesOf(row: SitterRow): Prices {
  const out: Prices = {};
  for (const s of SERVICES) {
    const price = priceOf(row, s);
    if (price !== null) out[s] = price;
  }
  return out;
}

export const acceptsSize = (row: SitterRow, size: PetSize): boolean => row[SIZE_COLUMN[size]];

export const sizesOf = (row: SitterRow): PetSize[] => SIZES.filter((z) => acceptsSize(row, z));

export const toPhoto = (p: PhotoRow): PhotoView => ({ id: p.id, url: p.url, thumbnailUrl: p.thumbnailUrl });

export function toSitter(row: SitterRow, photos: PhotoRow[], distribution: Map<number, number>) {
  const summary: RatingSummary = {
    average: row.rating,
    count: row.reviewCount,
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
    maxPets: row.maxPets,
    location: { lat: row.lat, lng: row.lng },
    address: row.address,
    rating: row.rating,
    reviewCount: row.reviewCount,
    photos: photos.map(toPhoto),
    ratingSummary: summary,
    active: row.active,
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
  rating: row.rating,
  reviewCount: row.reviewCount,
  prices: pricesOf(row),
  services: servicesOf(row),
  location: { lat: row.lat, lng: row.lng },
});

export type SearchItem = ReturnType<typeof toSearchItem>;
