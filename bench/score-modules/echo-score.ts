/** The front end benchmark's score module: returns the request body as it came. */
export function init(): void {}

export function run(data: unknown): unknown {
  return data;
}
