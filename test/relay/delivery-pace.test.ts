import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createDeliveryPace, loopBusy, PACE_MS } from '../../src/relay/delivery-pace.js';

const manualClock = () => {
  let t = 5_000;
  return { clock: () => t, advance: (ms: number) => (t += ms) };
};

describe('delivery pace', () => {
  it('spaces attempt starts while mail arrives on a busy event loop', () => {
    const { clock, advance } = manualClock();
    const pace = createDeliveryPace({ busy: () => true, clock });
    pace.arrived();
    expect(pace.delay()).toBe(0);
    pace.started();
    expect(pace.delay()).toBe(PACE_MS);
    advance(PACE_MS - 4);
    expect(pace.delay()).toBe(4);
    advance(4);
    expect(pace.delay()).toBe(0);
  });

  it('lets attempts start at once on a loop with time to spare', () => {
    const { clock } = manualClock();
    const pace = createDeliveryPace({ busy: () => false, clock });
    pace.arrived();
    pace.started();
    expect(pace.delay()).toBe(0);
  });

  it('drains at full speed once mail stops arriving', () => {
    const { clock, advance } = manualClock();
    const pace = createDeliveryPace({ busy: () => true, clock });
    pace.started();
    expect(pace.delay()).toBe(0);
    pace.arrived();
    advance(1_000);
    pace.started();
    expect(pace.delay()).toBe(PACE_MS);
    advance(1);
    pace.started();
    expect(pace.delay()).toBe(0);
  });

  it('calls the event loop busy while callbacks fill it, and not while it waits', async () => {
    const busy = loopBusy();
    const until = performance.now() + 150;
    while (performance.now() < until) {
      // Keeps the loop running one long callback, as a burst of work would.
    }
    expect(busy()).toBe(true);
    await sleep(150);
    expect(busy()).toBe(false);
  });
});
