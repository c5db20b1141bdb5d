// The busy and scale measurements run the speaker as its image does: node flags and environment are
// read from Dockerfile.speaker.
import assert from 'node:assert/strict';
import { entrypointNodeFlags, finalStageEnv, imageEnv, imageNodeFlags } from '../helpers/image-flags.js';

describe('how the speaker image runs node', () => {
  it('flags: the options between node and the script of an exec-form ENTRYPOINT', () => {
    const file = (entrypoint: string): string => `FROM x\nWORKDIR /app\n${entrypoint}\nCMD ["run"]\n`;
    assert.deepEqual(entrypointNodeFlags(file('ENTRYPOINT ["node", "/app/speaker/bin/l2lb-speaker.js"]')), []);
    assert.deepEqual(entrypointNodeFlags(file('ENTRYPOINT ["node", "--a=1", "--b", "/app/x.js", "--not-a-node-flag"]')), ['--a=1', '--b']);
    assert.throws(() => entrypointNodeFlags(file('ENTRYPOINT node /app/x.js')), /exec-form/);
    assert.throws(() => entrypointNodeFlags(file('ENTRYPOINT ["/bin/sh", "-c", "node x.js"]')), /does not run node/);
  });

  it('environment: the final stage ENV lines, NAME=value pairs', () => {
    const file = [
      'FROM a AS build',
      'ENV BUILD_ONLY=1',
      'FROM b',
      'ENV NODE_ENV=production',
      'ENV A=1 B="two words" C=',
      'env D="with \\"quote\\""',
      'RUN echo ENV=not-an-instruction',
    ].join('\n');
    assert.deepEqual(finalStageEnv(file), { NODE_ENV: 'production', A: '1', B: 'two words', C: '', D: 'with "quote"' });
    assert.throws(() => finalStageEnv('FROM b\nENV NAME value\n'), /NAME=value form/);
    assert.throws(() => finalStageEnv('FROM b\nENV A=1 \\\n  B=2\n'), /line continuation/);
    assert.deepEqual(finalStageEnv('FROM b\nCMD ["x"]\n'), {});
  });

  it('both are read from the repository Dockerfile.speaker', () => {
    assert.ok(Array.isArray(imageNodeFlags()));
    assert.equal(imageEnv()['NODE_ENV'], 'production');
  });
});
