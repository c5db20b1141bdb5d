import assert from 'node:assert/strict';
import { errorText } from '../src/log.js';

class DecodeFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeFailure';
  }
}

describe('errorText', () => {
  it('gives an Error its message, without the name', () => {
    assert.equal(errorText(new Error('connection refused')), 'connection refused');
    assert.equal(errorText(new TypeError('not a function')), 'not a function');
  });

  it('gives an Error subclass its message', () => {
    assert.equal(errorText(new DecodeFailure('bad magic')), 'bad magic');
  });

  it('gives anything else as String() gives it', () => {
    assert.equal(errorText('plain text'), 'plain text');
    assert.equal(errorText({ code: 1 }), '[object Object]');
    assert.equal(errorText({ toString: () => 'custom' }), 'custom');
    assert.equal(errorText(null), 'null');
    assert.equal(errorText(undefined), 'undefined');
    assert.equal(errorText(42), '42');
    assert.equal(errorText(Symbol('s')), 'Symbol(s)');
  });

  it('gives the stack when asked, and the message where an Error has no stack', () => {
    const e = new DecodeFailure('bad magic');
    assert.equal(errorText(e, { stack: true }), e.stack);
    assert.match(errorText(e, { stack: true }), /^DecodeFailure: bad magic\n\s+at /);
    const bare = new Error('no stack');
    bare.stack = undefined;
    assert.equal(errorText(bare, { stack: true }), 'no stack');
    assert.equal(errorText('not an Error', { stack: true }), 'not an Error');
  });

  it('never throws', () => {
    const throwingToString = {
      toString: () => {
        throw new Error('toString failed');
      },
    };
    assert.equal(errorText(throwingToString), '[object Object]');
    assert.equal(errorText(Object.create(null)), '[object Object]');
    const throwingMessage = new Error('hidden');
    Object.defineProperty(throwingMessage, 'message', {
      get: () => {
        throw new Error('getter failed');
      },
    });
    assert.equal(errorText(throwingMessage), '[object Error]');
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf: () => {
          throw new Error('trap');
        },
        get: () => {
          throw new Error('trap');
        },
      },
    );
    assert.equal(errorText(hostile), '[unprintable value]');
  });
});
