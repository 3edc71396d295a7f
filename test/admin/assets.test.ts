import { afterEach, describe, expect, it } from 'vitest';
import { Agent, createPanel, signedIn, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

describe('the panel icon', () => {
  it('answers /favicon.ico with the icon, signed out too, instead of a 404', async () => {
    panel = createPanel();
    const answer = await new Agent(panel.app).get('/favicon.ico');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('image/svg+xml');
    expect(answer.text).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });

  it('links the icon from the sign-in page and from signed-in pages', async () => {
    panel = createPanel();
    const agent = new Agent(panel.app);
    const link = '<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml"/>';
    expect((await agent.get('/login')).text).toContain(link);
    expect((await (await signedIn(panel, 'admin@example.com')).get('/log')).text).toContain(link);
    const icon = await agent.get('/assets/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
  });
});
