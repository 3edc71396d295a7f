import { describe, expect, it } from 'vitest';
import { ARRIVING_MS, createDeliveryPace, PACE_MS } from '../../src/relay/delivery-pace.js';

const manualClock = () => {
  let t = 5_000;
  return { clock: () => t, advance: (ms: number) => (t += ms) };
};

describe('delivery pace', () => {
  it('spaces attempt starts while mail arrives', () => {
    const { clock, advance } = manualClock();
    const pace = createDeliveryPace(clock);
    pace.arrived();
    expect(pace.delay()).toBe(0);
    pace.started();
    expect(pace.delay()).toBe(PACE_MS);
    advance(PACE_MS - 4);
    expect(pace.delay()).toBe(4);
    advance(4);
    expect(pace.delay()).toBe(0);
  });

  it('drains at full speed while nothing arrives', () => {
    const { clock, advance } = manualClock();
    const pace = createDeliveryPace(clock);
    pace.started();
    expect(pace.delay()).toBe(0);
    pace.arrived();
    advance(ARRIVING_MS);
    pace.started();
    expect(pace.delay()).toBe(PACE_MS);
    advance(1);
    pace.started();
    expect(pace.delay()).toBe(0);
  });
});
