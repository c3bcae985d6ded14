import { encodeOpaqueId } from '@outbound/domain';
import { describe, expect, it } from 'vitest';
import { conversationRoute, responseDraftRoute } from './route-hints.ts';

describe('route hints', () => {
  it('point at a conversation by its integer id', () => {
    expect(conversationRoute(42)).toBe('/v3/conversations/42');
  });

  it('point at a response draft by its opaque id, unchanged', () => {
    const opaque = encodeOpaqueId('response_draft', 7);
    expect(responseDraftRoute(opaque)).toBe(`/v3/response-drafts/${opaque}`);
  });

  it('escape what is not an opaque id rather than let it change the path', () => {
    expect(responseDraftRoute('../conversations/1?x=y')).toBe(
      '/v3/response-drafts/..%2Fconversations%2F1%3Fx%3Dy',
    );
  });
});
