import Piscina from 'piscina';

/**
 * Wraps a message so piscina transfers `buffers` with it instead of cloning them. After the
 * call the sender must not touch those buffers: they are detached on its side.
 */
export function movable<T>(value: T, buffers: ArrayBuffer[]): T {
  if (buffers.length === 0) return value;
  const wrapped = { [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: value };
  return Piscina.move(wrapped as never) as unknown as T;
}
