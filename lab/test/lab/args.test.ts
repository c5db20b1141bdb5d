import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseLabArgs } from '../../src/lab/args.js';

function ok(argv: string[], env: Record<string, string> = {}): unknown {
  const r = parseLabArgs(argv, env);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.command;
}

function err(argv: string[]): string {
  const r = parseLabArgs(argv);
  assert.ok(!r.ok, `expected an error for ${argv.join(' ')}`);
  return r.error;
}

describe('lab arguments', () => {
  it('parses up with defaults and options, before or after the command', () => {
    assert.deepEqual(ok(['up']), { cmd: 'up', prefix: 'l2lab', nodes: 3, mlProfile: 'fast', timeoutMs: 60000 });
    assert.deepEqual(ok(['--prefix', 'l2lt7', 'up', '--nodes=5', '--ml-profile', 'lan', '--state', '/tmp/x']), {
      cmd: 'up',
      prefix: 'l2lt7',
      stateDir: '/tmp/x',
      nodes: 5,
      mlProfile: 'lan',
      timeoutMs: 60000,
    });
    assert.deepEqual(ok(['up'], { L2LB_LAB_PREFIX: 'envp', L2LB_LAB_STATE: '/s' }), {
      cmd: 'up',
      prefix: 'envp',
      stateDir: '/s',
      nodes: 3,
      mlProfile: 'fast',
      timeoutMs: 60000,
    });
  });

  it('parses demo, status, down, kill, revive', () => {
    assert.deepEqual(ok(['demo', '--keep']), { cmd: 'demo', prefix: 'l2lab', nodes: 3, keep: true, compare: true, mlProfile: 'fast', timeoutMs: 60000 });
    assert.deepEqual(ok(['demo', '--no-compare']), {
      cmd: 'demo',
      prefix: 'l2lab',
      nodes: 3,
      keep: false,
      compare: false,
      mlProfile: 'fast',
      timeoutMs: 60000,
    });
    assert.deepEqual(ok(['status', '--json']), { cmd: 'status', prefix: 'l2lab', json: true });
    assert.deepEqual(ok(['down', '--prefix', 'abc']), { cmd: 'down', prefix: 'abc' });
    assert.deepEqual(ok(['kill', 'n2']), { cmd: 'kill', prefix: 'l2lab', node: 'n2' });
    assert.deepEqual(ok(['kill', 'n2', '--svg', 'f.svg']), { cmd: 'kill', prefix: 'l2lab', node: 'n2', svg: 'f.svg' });
    assert.deepEqual(ok(['revive', '--prefix', 'p1', 'n3']), { cmd: 'revive', prefix: 'p1', node: 'n3' });
  });

  it('hands kubectl everything after its own leading options', () => {
    assert.deepEqual(ok(['kubectl', 'get', 'svc', '-A', '--prefix', 'x']), { cmd: 'kubectl', prefix: 'l2lab', args: ['get', 'svc', '-A', '--prefix', 'x'] });
    assert.deepEqual(ok(['kubectl', '--prefix', 'p2', '-n', 'l2lb-system', 'get', 'cm']), {
      cmd: 'kubectl',
      prefix: 'p2',
      args: ['-n', 'l2lb-system', 'get', 'cm'],
    });
    assert.deepEqual(ok(['--prefix=p3', 'kubectl', '--', '--help']), { cmd: 'kubectl', prefix: 'p3', args: ['--help'] });
  });

  it('names what is wrong', () => {
    assert.equal(err([]), 'a lab command is required');
    assert.equal(err(['fly']), 'unknown lab command "fly"');
    assert.equal(err(['up', '--nodes', '0']), '--nodes wants a whole number from 1 to 40, got "0"');
    assert.equal(err(['up', '--nodes', 'three']), '--nodes wants a whole number from 1 to 40, got "three"');
    assert.equal(err(['up', '--nodes']), '--nodes wants a whole number from 1 to 40, got ""');
    assert.equal(err(['up', '--ml-profile', 'wan']), '--ml-profile wants fast or lan, got "wan"');
    assert.equal(err(['up', '--frob']), 'unknown option "--frob" for "lab up"');
    assert.equal(err(['status', '--keep']), '--keep does not apply to "lab status"');
    assert.equal(err(['up', '--no-compare']), '--no-compare does not apply to "lab up"');
    assert.equal(err(['down', '--nodes', '2']), '--nodes does not apply to "lab down"');
    assert.equal(err(['kill']), '"lab kill" wants exactly one node name (n1, n2, ...)');
    assert.equal(err(['kill', 'n1', '--svg']), '--svg needs a file name');
    assert.match(err(['revive', 'n1', '--svg', 'f.svg']), /--svg/);
    assert.equal(err(['kill', 'node1']), 'node name must look like n1, n2, ..., got "node1"');
    assert.equal(err(['up', 'extra']), 'unexpected argument "extra" for "lab up"');
    assert.equal(err(['kubectl']), '"lab kubectl" wants kubectl arguments, e.g. l2lb lab kubectl get svc -A');
    assert.match(err(['up', '--prefix', 'Bad-Prefix']), /prefix "Bad-Prefix" must be/);
    assert.equal(err(['up', '--prefix']), '--prefix needs a value');
  });

  it('never throws, whatever the arguments', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('up', 'kill', 'kubectl', '--nodes', '--prefix', '--', '--json', 'n1'))), (argv) => {
        const r = parseLabArgs(argv);
        if (!r.ok) assert.ok(r.error.length > 0);
      }),
    );
  });
});
