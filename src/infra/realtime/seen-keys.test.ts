import { SeenKeys } from './seen-keys';

describe('SeenKeys', () => {
  it('accepts a key once within its window and again after it', () => {
    let now = 1_000;
    const seen = new SeenKeys(500, 10, () => now);
    expect(seen.firstTime('a')).toBe(true);
    expect(seen.firstTime('a')).toBe(false);
    now += 499;
    expect(seen.firstTime('a')).toBe(false);
    now += 1;
    expect(seen.firstTime('a')).toBe(true);
  });

  it('holds at most its capacity, forgetting the oldest first', () => {
    const seen = new SeenKeys(60_000, 3, () => 0);
    for (const k of ['a', 'b', 'c', 'd']) expect(seen.firstTime(k)).toBe(true);
    expect(seen.size).toBe(3);
    expect(seen.firstTime('d')).toBe(false);
    expect(seen.firstTime('b')).toBe(false);
    expect(seen.firstTime('a')).toBe(true); // the oldest was forgotten
  });
});
