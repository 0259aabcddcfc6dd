import { feedPageJson, photosOfRow, toPost } from './community.presenter';
import type { FeedRow } from './community.repository';

/**
 * A feed page is written as text straight from its rows (feedPageJson). It must say exactly what
 * JSON.stringify of the objects toPost builds would say with the app's replacer, for every kind of
 * row: these hold the two writers together, character for character.
 */

const KEY = 'posts/12/0123456789abcdef0123456789abcdef-photo.webp';
/** The app's rule, reduced: `url` and `*Url` string fields that look like stored keys get a base. */
const replacer = (key: string, value: unknown) =>
  (key === 'url' || key.endsWith('Url')) && typeof value === 'string' && value.startsWith('posts/')
    ? `https://cdn.test/${value}`
    : value;

const row = (o: Partial<FeedRow> = {}): FeedRow => ({
  id: 7,
  authorId: 3,
  kind: 'general',
  title: 'Hello',
  body: 'First walk',
  tagsJson: '["walk","산책"]',
  lat: null,
  lng: null,
  address: null,
  likeCount: 2,
  commentCount: 1,
  recentScore: 3,
  chatRoomId: null,
  editedAt: null,
  createdAt: new Date('2027-03-01T03:00:00.123Z'),
  authorNickname: 'Mina',
  authorAvatarUrl: null,
  authorDeletedAt: null,
  likedByMe: 0,
  photosText: null,
  ...o,
});

const rec = (id: number, url: string, thumb: string) => [id, url, thumb].join('\x1f');

const rows: FeedRow[] = [
  row(),
  row({
    id: 8,
    kind: 'open_chat',
    chatRoomId: 44,
    likedByMe: 1,
    title: 'Quotes " and \\ backslashes, </script> and \u2028 line separators',
    body: '줄 바꿈\n탭\t이모지 🐕 and "HTML" <b>bold</b>',
    lat: '37.566500',
    lng: '126.978000',
    address: '서울 중구 세종대로 110',
    editedAt: new Date('2027-03-02T00:00:00.000Z'),
    authorAvatarUrl: KEY,
    // Out of id order, as GROUP_CONCAT may hand them over; one photo with a URL from before keys.
    photosText: [
      rec(12, KEY, KEY.replace('photo', 'thumb')),
      rec(5, 'https://old.example/p.webp', 'https://old.example/t.webp'),
    ].join('\x1e'),
  }),
  // A deleted author, an author row without a nickname, tags that are not an array or not JSON.
  row({ id: 9, authorDeletedAt: new Date('2027-01-01T00:00:00Z'), authorAvatarUrl: KEY, tagsJson: '{"a":1}' }),
  row({ id: 10, authorNickname: null, tagsJson: 'not json', lat: 0, lng: '-0.000001' }),
];

describe('feedPageJson', () => {
  it.each([
    ['a page with a next cursor', rows, 'eyJrIjoiciJ9'],
    ['the last page', rows.slice(0, 1), null],
    ['an empty page', [], null],
  ])('writes %s exactly as JSON.stringify of toPost with the replacer would', (_label, items, nextCursor) => {
    const objects = items.map((r) => toPost(r, photosOfRow(r), Boolean(r.likedByMe)));
    expect(feedPageJson({ items, nextCursor }, replacer)).toBe(
      JSON.stringify({ items: objects, nextCursor }, replacer),
    );
  });

  it('reads the photos in id order, with the post’s id', () => {
    expect(photosOfRow(rows[1])).toEqual([
      { id: 5, postId: 8, url: 'https://old.example/p.webp', thumbnailUrl: 'https://old.example/t.webp' },
      { id: 12, postId: 8, url: KEY, thumbnailUrl: KEY.replace('photo', 'thumb') },
    ]);
    expect(photosOfRow(rows[0])).toEqual([]);
  });
});
