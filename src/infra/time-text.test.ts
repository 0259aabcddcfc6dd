import { localTime } from './time-text';

it('writes an instant in the service time zone with its offset', () => {
  expect(localTime('2027-03-03T00:00:00Z', 'Asia/Seoul')).toBe('2027-03-03 09:00 UTC+9');
  expect(localTime(new Date('2027-03-02T23:30:00Z'), 'Asia/Seoul')).toBe('2027-03-03 08:30 UTC+9');
  expect(localTime('2027-07-01T12:05:00Z', 'Europe/Paris')).toBe('2027-07-01 14:05 UTC+2');
  expect(localTime('2027-07-01T12:05:00Z', 'UTC')).toBe('2027-07-01 12:05 UTC');
});
