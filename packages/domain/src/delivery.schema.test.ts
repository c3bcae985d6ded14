import { describe, expect, it } from 'vitest';
import { canTransition, isTerminal, sourcesOf } from './delivery.schema.ts';

describe('delivery state machine', () => {
  it('allows the moves of DESIGN §3 and nothing else', () => {
    expect(canTransition('queued', 'sending')).toBe(true);
    expect(canTransition('sending', 'sent')).toBe(true);
    expect(canTransition('sending', 'failed')).toBe(true);
    expect(canTransition('sending', 'queued')).toBe(true);
    expect(canTransition('queued', 'canceled')).toBe(true);
    expect(canTransition('queued', 'sent')).toBe(false);
    expect(canTransition('sent', 'queued')).toBe(false);
    expect(canTransition('sending', 'canceled')).toBe(false);
  });

  it('keeps terminal states terminal', () => {
    expect(['sent', 'failed', 'canceled'].every((s) => isTerminal(s as 'sent'))).toBe(true);
    expect(isTerminal('queued')).toBe(false);
  });

  it('lists where a conditional update may start from', () => {
    expect(sourcesOf('sending')).toEqual(['queued']);
    expect(sourcesOf('queued')).toEqual(['sending']);
    expect(sourcesOf('canceled')).toEqual(['queued']);
  });
});
