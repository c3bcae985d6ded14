import { describe, expect, it } from 'vitest';
import { decodeOpaqueId, encodeOpaqueId } from './opaque-id.ts';

describe('opaque ids', () => {
  it('round-trips each kind, uuids and integers alike', () => {
    const uuid = '018f06e2-4f8d-7c01-8a0d-cc6fd78f7070';
    expect(decodeOpaqueId(encodeOpaqueId('message_draft', uuid))).toEqual({
      kind: 'message_draft',
      id: uuid,
    });
    expect(decodeOpaqueId(encodeOpaqueId('response_draft', 42))).toEqual({
      kind: 'response_draft',
      id: '42',
    });
    expect(decodeOpaqueId(encodeOpaqueId('agent', 7))).toEqual({ kind: 'agent', id: '7' });
  });

  it('tells kinds apart and is URL-safe', () => {
    const message = encodeOpaqueId('message_draft', 1);
    const response = encodeOpaqueId('response_draft', 1);
    expect(message).not.toBe(response);
    expect(message).toMatch(/^ob_[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['no prefix', 'bWQ6MQ'],
    ['another prefix', 'HR_id_example_message_draft_id'],
    ['not base64url', 'ob_bWQ6MQ=='],
    ['an unknown tag', `ob_${Buffer.from('zz:1').toString('base64url')}`],
    ['no separator', `ob_${Buffer.from('md1').toString('base64url')}`],
    ['an empty id', `ob_${Buffer.from('md:').toString('base64url')}`],
    ['a non-canonical encoding', 'ob_bWQ6MR'],
    ['an empty string', ''],
  ])('refuses %s', (_label, value) => {
    expect(decodeOpaqueId(value)).toBeUndefined();
  });
});
