// The scale bench measures the speaker with the node flags of its image: they are read from Dockerfile.speaker.
import assert from 'node:assert/strict';
import { entrypointNodeFlags, imageNodeFlags } from '../helpers/image-flags.js';

describe('node flags of the speaker image', () => {
  it('are the options between node and the script of an exec-form ENTRYPOINT', () => {
    const file = (entrypoint: string): string => `FROM x\nWORKDIR /app\n${entrypoint}\nCMD ["run"]\n`;
    assert.deepEqual(entrypointNodeFlags(file('ENTRYPOINT ["node", "/app/speaker/bin/l2lb-speaker.js"]')), []);
    assert.deepEqual(entrypointNodeFlags(file('ENTRYPOINT ["node", "--a=1", "--b", "/app/x.js", "--not-a-node-flag"]')), ['--a=1', '--b']);
    assert.throws(() => entrypointNodeFlags(file('ENTRYPOINT node /app/x.js')), /exec-form/);
    assert.throws(() => entrypointNodeFlags(file('ENTRYPOINT ["/bin/sh", "-c", "node x.js"]')), /does not run node/);
  });

  it('are read from the repository Dockerfile.speaker', () => {
    assert.ok(Array.isArray(imageNodeFlags()));
  });
});
