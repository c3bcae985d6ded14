import { refusedRange } from '@outbound/net-guard';
import { afterEach, describe, expect, it } from 'vitest';
import {
  guardedFetch,
  MediaFetchError,
  type GuardedFetchOptions,
  type MediaFetchFailure,
} from './guarded-fetch.ts';
import { startLocalServer, type LocalServer } from './test-server.ts';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(...args: Parameters<typeof startLocalServer>): Promise<LocalServer> {
  const started = await startLocalServer(...args);
  servers.push(started);
  return started;
}

/** Options that let tests reach their own 127.0.0.1 servers, and nothing else private. */
const local: GuardedFetchOptions = {
  maxBytes: 10_000,
  timeoutMs: 2_000,
  allowHttp: true,
  allowHosts: ['127.0.0.1'],
};

async function failure(url: string, options: GuardedFetchOptions): Promise<MediaFetchError> {
  const error: unknown = await guardedFetch(url, options).then(
    () => new Error(`fetching ${url} succeeded`),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MediaFetchError);
  return error as MediaFetchError;
}

async function expectFailure(
  url: string,
  options: GuardedFetchOptions,
  reason: MediaFetchFailure,
): Promise<MediaFetchError> {
  const error = await failure(url, options);
  expect(error.reason, error.message).toBe(reason);
  expect(error.message).toContain(url.split('?')[0]);
  return error;
}

describe('guardedFetch', () => {
  it('fetches the body of an allowed URL', async () => {
    const media = await server((_, response) => {
      response.writeHead(200, { 'content-type': 'image/png' }).end('png bytes');
    });
    const result = await guardedFetch(`${media.origin}/a.png?x=1`, local);
    expect(result.data.toString()).toBe('png bytes');
    expect(result.contentType).toBe('image/png');
    expect(result.finalUrl).toBe(`${media.origin}/a.png?x=1`);
    expect(media.requests).toEqual(['/a.png?x=1']);
  });

  it('refuses anything but https unless http is allowed', async () => {
    const media = await server((_, response) => response.end('ok'));
    const url = `${media.origin}/a.png`;
    await expectFailure(url, { ...local, allowHttp: false }, 'not_https');
    await expectFailure('ftp://files.example.com/a.png', local, 'not_https');
    await expectFailure('file:///etc/passwd', local, 'not_https');
    await expectFailure('not a url', local, 'not_https');
    expect(media.requests).toEqual([]);
    expect((await guardedFetch(url, local)).data.toString()).toBe('ok');
  });

  it.each([
    ['loopback', 'https://127.0.0.1/a.png'],
    ['cloud metadata', 'https://169.254.169.254/latest/meta-data/'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/a.png'],
    ['IPv6 loopback', 'https://[::1]/a.png'],
    ['RFC 1918', 'https://10.1.2.3/a.png'],
    ['unspecified', 'https://0.0.0.0/a.png'],
    ['loopback in hex', 'https://0x7f000001/a.png'],
  ])('refuses a %s literal without connecting', async (_, url) => {
    const error = await expectFailure(url, { maxBytes: 100, timeoutMs: 1_000 }, 'private_address');
    expect(error.message).toContain('private or reserved');
  });

  it.each([
    '127.0.0.1',
    '127.255.0.1',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.254',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '192.0.2.1',
    '240.0.0.1',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:100.64.0.1',
    '::127.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::1',
    '2001:db8::1',
  ])('refuses a host that resolves to %s', async (address) => {
    const options = {
      maxBytes: 100,
      timeoutMs: 1_000,
      resolve: () => Promise.resolve([address]),
    };
    const error = await expectFailure('https://media.test/a.png', options, 'private_address');
    expect(error.address).toBe(address);
    expect(error.message).not.toContain(address);
    expect(refusedRange(address)).toBeDefined();
  });

  it('treats ordinary public addresses as public', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::6810:84e5', '::ffff:8.8.8.8']) {
      expect(refusedRange(address)).toBeUndefined();
    }
    expect(refusedRange('100.128.0.1')).toBeUndefined();
    expect(refusedRange('172.32.0.1')).toBeUndefined();
  });

  it('checks every address a host resolves to, not only the first', async () => {
    // A guard that checked only the first (public) address would try to connect and time out.
    const resolve = () => Promise.resolve(['93.184.216.34', '::ffff:192.168.0.10']);
    const error = await expectFailure(
      'https://mixed.test/a.png',
      { maxBytes: 100, timeoutMs: 300, resolve },
      'private_address',
    );
    expect(error.address).toBe('::ffff:192.168.0.10');
  });

  it('connects to the checked address, never resolving the name again', async () => {
    const media = await server((request, response) => response.end(request.headers.host));
    let lookups = 0;
    const resolve = () => {
      lookups += 1;
      // A rebinding resolver: only the first answer is one the guard lets through.
      return Promise.resolve(lookups === 1 ? ['127.0.0.1'] : ['10.0.0.1']);
    };
    // `pinned.test` exists in no DNS: the request can only arrive through the pinned lookup.
    const result = await guardedFetch(`http://pinned.test:${media.port}/a.png`, {
      ...local,
      allowHosts: ['pinned.test'],
      resolve,
    });
    expect(result.data.toString()).toBe(`pinned.test:${media.port}`);
    expect(lookups).toBe(1);
  });

  it('follows redirects to allowed hosts', async () => {
    const media = await server((request, response) => {
      if (request.url === '/start') response.writeHead(302, { location: '/next' }).end();
      else if (request.url === '/next') {
        response.writeHead(301, { location: `http://cdn.test:${media.port}/final.png` }).end();
      } else response.end('final');
    });
    const result = await guardedFetch(`${media.origin}/start`, {
      ...local,
      allowHosts: ['127.0.0.1', 'cdn.test'],
      resolve: () => Promise.resolve(['127.0.0.1']),
    });
    expect(result.data.toString()).toBe('final');
    expect(result.finalUrl).toBe(`http://cdn.test:${media.port}/final.png`);
    expect(media.requests).toEqual(['/start', '/next', '/final.png']);
  });

  it('checks every redirect hop and refuses one to a private address', async () => {
    const media = await server((request, response) => {
      if (request.url === '/start') {
        response.writeHead(307, { location: `http://internal.test:${media.port}/secret` }).end();
      } else response.end('secret');
    });
    const error = await expectFailure(
      `${media.origin}/start`,
      { ...local, resolve: () => Promise.resolve(['127.0.0.1']) },
      'private_address',
    );
    expect(error.url).toBe(`${media.origin}/start`);
    expect(error.message).toContain(`http://internal.test:${media.port}/secret`);
    await expectFailure(
      `${media.origin}/start`,
      { ...local, resolve: () => Promise.resolve(['169.254.169.254']) },
      'private_address',
    );
    expect(media.requests).toEqual(['/start', '/start']);
  });

  it('refuses a redirect to localhost through the real resolver', async () => {
    const media = await server((request, response) => {
      if (request.url === '/start') {
        response.writeHead(302, { location: `http://localhost:${media.port}/secret` }).end();
      } else response.end('secret');
    });
    await expectFailure(`${media.origin}/start`, local, 'private_address');
    expect(media.requests).toEqual(['/start']);
  });

  it('gives up after too many redirects', async () => {
    const media = await server((request, response) => {
      const hop = Number(request.url?.slice(1));
      response.writeHead(302, { location: `/${hop + 1}` }).end();
    });
    await expectFailure(`${media.origin}/0`, local, 'too_many_redirects');
    expect(media.requests).toEqual(['/0', '/1', '/2', '/3']);
    await expectFailure(`${media.origin}/0`, { ...local, maxRedirects: 0 }, 'too_many_redirects');
    expect(media.requests.slice(4)).toEqual(['/0']);
  });

  it('aborts a streamed body as soon as it passes the limit', async () => {
    let written = 0;
    let closed = false;
    const media = await server((request, response) => {
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      const timer = setInterval(() => {
        written += 1_000;
        response.write(Buffer.alloc(1_000));
      }, 2);
      response.on('close', () => {
        closed = true;
        clearInterval(timer);
      });
    });
    const error = await expectFailure(`${media.origin}/big.jpg`, local, 'too_large');
    expect(error.message).toContain('10000 bytes');
    await expect.poll(() => closed).toBe(true);
    expect(written).toBeLessThan(100_000);
  });

  it('refuses a body whose declared length is over the limit without reading it', async () => {
    const media = await server((_, response) => {
      response.writeHead(200, { 'content-length': '10001' }).end(Buffer.alloc(10_001));
    });
    await expectFailure(`${media.origin}/big.jpg`, local, 'too_large');
    const exact = await server((_, response) => response.end(Buffer.alloc(10_000)));
    expect((await guardedFetch(`${exact.origin}/ok.jpg`, local)).data).toHaveLength(10_000);
  });

  it('times out a server that never answers, or stalls mid-body', async () => {
    const silent = await server(() => {});
    const started = Date.now();
    await expectFailure(`${silent.origin}/a.png`, { ...local, timeoutMs: 200 }, 'timeout');
    expect(Date.now() - started).toBeLessThan(1_500);

    const stalling = await server((_, response) => {
      response.writeHead(200, { 'content-length': '100' }).write('partial');
    });
    await expectFailure(`${stalling.origin}/a.png`, { ...local, timeoutMs: 200 }, 'timeout');
  });

  it('counts the lookup against the timeout', async () => {
    const resolve = () => new Promise<string[]>(() => {});
    await expectFailure(
      'https://slow-dns.test/a.png',
      { maxBytes: 100, timeoutMs: 100, resolve },
      'timeout',
    );
  });

  it('reports upstream error statuses, lookup failures and refused connections', async () => {
    const media = await server((_, response) => response.writeHead(404).end('nope'));
    const error = await expectFailure(`${media.origin}/missing.png`, local, 'http_status');
    expect(error.status).toBe(404);
    expect(error.message).toContain('404');

    const failing = () => Promise.reject(new Error('ENOTFOUND'));
    await expectFailure('https://nowhere.test/a.png', { ...local, resolve: failing }, 'dns_failed');
    const empty = () => Promise.resolve([]);
    await expectFailure('https://nowhere.test/a.png', { ...local, resolve: empty }, 'dns_failed');

    const gone = await startLocalServer(() => {});
    await gone.close();
    await expectFailure(`${gone.origin}/a.png`, local, 'connection_failed');
  });
});
