import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { runLab } from '../../src/lab/index.js';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

describe('l2lb lab command line', () => {
  it('prints its usage for help, exit 0', async () => {
    const out = sink();
    const err = sink();
    assert.equal(await runLab(['help'], { out: out.stream, err: err.stream }), 0);
    assert.match(out.text(), /^usage: l2lb lab <command>/);
    assert.match(out.text(), /kill NODE (\[--svg FILE\] +)?simulate a dead node/);
    assert.equal(err.text(), '');
  });

  it('exits 2 with the problem and the usage on bad arguments, before touching the system', async () => {
    const out = sink();
    const err = sink();
    assert.equal(await main(['lab', 'kill', 'n1', 'n2'], { out: out.stream, err: err.stream }), 2);
    assert.match(err.text(), /^l2lb lab: "lab kill" wants exactly one node name \(n1, n2, \.\.\.\)\n\nusage: l2lb lab/);
    assert.equal(out.text(), '');
  });

  it('says which lab is missing', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const err = sink();
    assert.equal(await runLab(['status', '--prefix', 'l2ltnone', '--state', '/nonexistent/l2ltnone'], { out: sink().stream, err: err.stream }), 1);
    assert.equal(
      err.text(),
      'l2lb lab status: no lab "l2ltnone" here (/nonexistent/l2ltnone/lab.json is missing); start one with: l2lb lab up --prefix l2ltnone\n',
    );
  });

  it('lists the lab in the top-level usage', async () => {
    const out = sink();
    assert.equal(await main(['help'], { out: out.stream, err: sink().stream }), 0);
    assert.match(out.text(), /lab up\|demo\|status\|kill\|revive\|kubectl\|down/);
  });
});
