import { describe, expect, it } from 'vitest';
import { redactUrl, redisOptions } from './redis-url';

describe('redisOptions', () => {
  it('reads host, port, password, user, database and TLS from the URL', () => {
    expect(redisOptions('redis://127.0.0.1:6380')).toEqual({ host: '127.0.0.1', port: 6380 });
    expect(redisOptions('redis://queue.lab')).toEqual({ host: 'queue.lab', port: 6379 });
    expect(redisOptions('redis://:s%40cret@h:1/3')).toEqual({ host: 'h', port: 1, password: 's@cret', db: 3 });
    expect(redisOptions('rediss://ann:pw@h:6390')).toEqual(
      { host: 'h', port: 6390, username: 'ann', password: 'pw', tls: { servername: 'h' } });
    expect(redisOptions('redis://[::1]:7000')).toEqual({ host: '::1', port: 7000 });
  });

  it('names what is wrong with a URL that is not Redis', () => {
    expect(() => redisOptions('localhost:6379')).toThrow(/scheme is localhost, not redis/);
    expect(() => redisOptions('http://h:1')).toThrow(/--queue http:\/\/h:1: the scheme is http, not redis or rediss/);
    expect(() => redisOptions('not a url')).toThrow(/not a URL/);
    expect(() => redisOptions('redis://h:1/x')).toThrow(/'x' is not a database number/);
  });

  it('never prints a password', () => {
    expect(redactUrl('redis://:hunter2@h:1')).toBe('redis://:***@h:1');
    expect(redactUrl('rediss://ann:hunter2@h')).toBe('rediss://ann:***@h');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
    expect(redactUrl('redis://:p@ss@h:1/0')).toBe('redis://:***@h:1/0');
    expect(redactUrl('redis://:ab/cd=@h')).toBe('redis://:***@h');
    expect(redactUrl('redis://token@h')).toBe('redis://***@h');
    expect(() => redisOptions('redis://:ab/cd=@h:x')).toThrow(/^(?!.*ab\/cd)/s);
    expect(() => redisOptions('http://:hunter2@h')).toThrow(/^(?!.*hunter2)/s);
  });
});
