// AES-GCM payload encryption as memberlist does it: [vsn][nonce 12][ciphertext][tag 16].
// vsn 0 pads the plaintext PKCS7-style to a multiple of 16, vsn 1 does not. The keyring's primary key
// encrypts; every key is tried to decrypt (key rotation).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
const BLOCK = 16;

export class CryptoError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'CryptoError';
  }
}

function cipherName(key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  switch (key.length) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      throw new CryptoError('bad_key', `AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
}

/**
 * MetalLB's speaker key: it calls Go's hash.Sum(secret) on an empty SHA-256 hasher, which appends
 * SHA256("") to the secret; the result is cut to 32 bytes (MetalLB >= 0.14) or 16 (older).
 */
export function metallbKey(secret: string, length: 16 | 32 = 32): Uint8Array {
  const s = Buffer.from(secret, 'utf8');
  const empty = createHash('sha256').digest();
  return new Uint8Array(Buffer.concat([s, empty]).subarray(0, length));
}

/** A raw key from hex (16, 24 or 32 bytes). */
export function keyFromHex(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) throw new CryptoError('bad_key', 'key hex is not valid hex');
  const k = new Uint8Array(Buffer.from(hex, 'hex'));
  cipherName(k);
  return k;
}

export class Keyring {
  private readonly keys: Uint8Array[];
  constructor(keys: Uint8Array[]) {
    keys.forEach((k) => cipherName(k));
    this.keys = keys.map((k) => k.slice());
  }
  get primary(): Uint8Array | undefined {
    return this.keys[0];
  }
  get all(): readonly Uint8Array[] {
    return this.keys;
  }
  get enabled(): boolean {
    return this.keys.length > 0;
  }
}

export function encryptedLength(vsn: number, plainLen: number): number {
  if (vsn === 0) return 1 + NONCE_SIZE + plainLen + (BLOCK - (plainLen % BLOCK)) + TAG_SIZE;
  return 1 + NONCE_SIZE + plainLen + TAG_SIZE;
}

/** Encrypt with a given nonce (tests use a recorded one; callers pass random bytes). */
export function encryptPayload(vsn: 0 | 1, key: Uint8Array, plain: Uint8Array, aad: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_SIZE)): Uint8Array {
  let data = plain;
  if (vsn === 0) {
    const pad = BLOCK - (plain.length % BLOCK);
    data = new Uint8Array(plain.length + pad);
    data.set(plain);
    data.fill(pad, plain.length);
  }
  const c = createCipheriv(cipherName(key), key, nonce);
  if (aad.length > 0) c.setAAD(aad);
  const ct = c.update(data);
  c.final();
  const tag = c.getAuthTag();
  const out = new Uint8Array(1 + NONCE_SIZE + ct.length + TAG_SIZE);
  out[0] = vsn;
  out.set(nonce, 1);
  out.set(ct, 1 + NONCE_SIZE);
  out.set(tag, 1 + NONCE_SIZE + ct.length);
  return out;
}

function tryOpen(key: Uint8Array, nonce: Uint8Array, ct: Uint8Array, tag: Uint8Array, aad: Uint8Array): Uint8Array | null {
  try {
    const d = createDecipheriv(cipherName(key), key, nonce);
    d.setAuthTag(tag);
    if (aad.length > 0) d.setAAD(aad);
    const a = d.update(ct);
    const b = d.final();
    return b.length === 0 ? new Uint8Array(a) : new Uint8Array(Buffer.concat([a, b]));
  } catch {
    return null;
  }
}

/** Decrypt [vsn][nonce][ct][tag] with every key of the ring. Throws CryptoError on failure. */
export function decryptPayload(keys: readonly Uint8Array[], msg: Uint8Array, aad: Uint8Array): Uint8Array {
  if (msg.length === 0) throw new CryptoError('decrypt_short', 'cannot decrypt empty payload');
  const vsn = msg[0] as number;
  if (vsn > 1) throw new CryptoError('decrypt_version', `unsupported encryption version ${vsn}`);
  if (msg.length < encryptedLength(vsn, 0)) throw new CryptoError('decrypt_short', 'payload is too small to decrypt');
  const nonce = msg.subarray(1, 1 + NONCE_SIZE);
  const ct = msg.subarray(1 + NONCE_SIZE, msg.length - TAG_SIZE);
  const tag = msg.subarray(msg.length - TAG_SIZE);
  for (const key of keys) {
    const plain = tryOpen(key, nonce, ct, tag, aad);
    if (plain === null) continue;
    if (vsn === 0) {
      const pad = plain.length > 0 ? (plain[plain.length - 1] as number) : 0;
      if (pad === 0 || pad > BLOCK || pad > plain.length) throw new CryptoError('decrypt_padding', 'bad PKCS7 padding');
      return plain.subarray(0, plain.length - pad);
    }
    return plain;
  }
  throw new CryptoError('decrypt_failed', 'no installed keys could decrypt the message');
}
