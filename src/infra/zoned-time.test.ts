import { zonedInstant } from './zoned-time';

describe('zonedInstant', () => {
  it('finds the instant of a wall-clock time in a zone, across daylight-saving changes', () => {
    expect(zonedInstant('2027-03-02', 0, 0, 'Asia/Seoul').toISOString()).toBe('2027-03-01T15:00:00.000Z');
    expect(zonedInstant('2027-03-02', 9, 0, 'Asia/Seoul').toISOString()).toBe('2027-03-02T00:00:00.000Z');
    expect(zonedInstant('2027-01-15', 0, 0, 'UTC').toISOString()).toBe('2027-01-15T00:00:00.000Z');
    // New York: EST (−5) before 2027-03-14 02:00, EDT (−4) after.
    expect(zonedInstant('2027-03-13', 9, 0, 'America/New_York').toISOString()).toBe('2027-03-13T14:00:00.000Z');
    expect(zonedInstant('2027-03-15', 9, 0, 'America/New_York').toISOString()).toBe('2027-03-15T13:00:00.000Z');
    expect(zonedInstant('2027-03-14', 0, 0, 'America/New_York').toISOString()).toBe('2027-03-14T05:00:00.000Z');
  });
});
