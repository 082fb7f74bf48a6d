/**
 * hio's Hict: an ordered, case-insensitive, multi-valued map for HTTP fields.
 * Every `add` is kept in order with its name as given; lookups ignore case; `get` gives the
 * first value of a name, `nab` the last; `set` replaces every value of a name in place.
 */

export type HictInit =
  | Iterable<readonly [string, string]>
  | Record<string, string | readonly string[]>
  | Hict;

export class Hict implements Iterable<[string, string]> {
  #names: string[] = [];
  #values: string[] = [];
  #keys: string[] | null = null; // lowercased names, built at the first lookup (the parser only appends)

  constructor(init?: HictInit) {
    if (init === undefined) return;
    if (init instanceof Hict || Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) this.add(name, value);
      return;
    }
    for (const [name, value] of Object.entries(init)) {
      if (typeof value === "string") this.add(name, value);
      else for (const one of value) this.add(name, one);
    }
  }

  /** Number of field lines (a name added twice counts twice). */
  get size(): number {
    return this.#names.length;
  }

  /** Appends one field line; earlier values of the same name are kept. */
  add(name: string, value: string): void {
    this.#names.push(name);
    this.#values.push(value);
    this.#keys?.push(name.toLowerCase());
  }

  /** First value of `name` (any case), or undefined. */
  get(name: string): string | undefined {
    const i = this.#keyList().indexOf(name.toLowerCase());
    return i < 0 ? undefined : this.#values[i];
  }

  /** First value of `name`; throws a RangeError when absent (hio's getone). */
  getOne(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw new RangeError(`no field ${name}`);
    return value;
  }

  /** Every value of `name` in the order added (empty when absent). */
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const keys = this.#keyList();
    const out: string[] = [];
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) out.push(this.#values[i] as string);
    return out;
  }

  /** Last value of `name`, or undefined (hio's nab). */
  nab(name: string): string | undefined {
    const i = this.#keyList().lastIndexOf(name.toLowerCase());
    return i < 0 ? undefined : this.#values[i];
  }

  /** Last value of `name`; throws a RangeError when absent (hio's nabone). */
  nabOne(name: string): string {
    const value = this.nab(name);
    if (value === undefined) throw new RangeError(`no field ${name}`);
    return value;
  }

  /** Every value of `name`, last added first (hio's naball). */
  nabAll(name: string): string[] {
    return this.getAll(name).reverse();
  }

  has(name: string): boolean {
    return this.#keyList().includes(name.toLowerCase());
  }

  /**
   * Replaces every value of `name` with `value`, kept at the place of its first line
   * (appended when absent).
   */
  set(name: string, value: string): void {
    const key = name.toLowerCase();
    const keys = this.#keyList();
    const first = keys.indexOf(key);
    if (first < 0) {
      this.add(name, value);
      return;
    }
    this.#names[first] = name;
    this.#values[first] = value;
    this.#remove(key, first + 1);
  }

  /** Removes every value of `name`; true when there was one. */
  delete(name: string): boolean {
    return this.#remove(name.toLowerCase(), 0) > 0;
  }

  clear(): void {
    this.#names = [];
    this.#values = [];
    this.#keys = null;
  }

  /** Every field line as [name, value], in order, names as added. */
  *items(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.#names.length; i++) yield [this.#names[i] as string, this.#values[i] as string];
  }

  /** Every name in order, as added, repeated names repeated. */
  keys(): IterableIterator<string> {
    return this.#names.values();
  }

  values(): IterableIterator<string> {
    return this.#values.values();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.items();
  }

  forEach(fn: (value: string, name: string, hict: Hict) => void): void {
    for (let i = 0; i < this.#names.length; i++) fn(this.#values[i] as string, this.#names[i] as string, this);
  }

  /** One [name, first value] per distinct name, in first-seen order (hio's firsts). */
  firsts(): Array<[string, string]> {
    return this.#distinct((key) => this.get(key) as string);
  }

  /** One [name, last value] per distinct name, in first-seen order (hio's lasts). */
  lasts(): Array<[string, string]> {
    return this.#distinct((key) => this.nab(key) as string);
  }

  /** All field lines as [name, value] pairs (what JSON.stringify shows). */
  toJSON(): Array<[string, string]> {
    return [...this.items()];
  }

  /**
   * A fetch `Headers` holding every line; Headers joins repeated names with ", "
   * (RFC 9110 §5.3) and keeps Set-Cookie lines apart. Throws a TypeError on a value
   * Headers refuses (a parsed request never has one).
   */
  toHeaders(): Headers {
    const headers = new Headers();
    for (let i = 0; i < this.#names.length; i++) headers.append(this.#names[i] as string, this.#values[i] as string);
    return headers;
  }

  toString(): string {
    return `Hict(${JSON.stringify(this.toJSON())})`;
  }

  #keyList(): string[] {
    if (this.#keys === null || this.#keys.length !== this.#names.length) {
      this.#keys = this.#names.map((name) => name.toLowerCase());
    }
    return this.#keys;
  }

  #remove(key: string, from: number): number {
    const keys = this.#keyList();
    let kept = from;
    let removed = 0;
    for (let i = from; i < keys.length; i++) {
      if (keys[i] === key) {
        removed += 1;
        continue;
      }
      this.#names[kept] = this.#names[i] as string;
      this.#values[kept] = this.#values[i] as string;
      keys[kept] = keys[i] as string;
      kept += 1;
    }
    this.#names.length = this.#values.length = keys.length = kept;
    return removed;
  }

  #distinct(pick: (key: string) => string): Array<[string, string]> {
    const seen = new Set<string>();
    const out: Array<[string, string]> = [];
    const keys = this.#keyList();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push([this.#names[i] as string, pick(key)]);
    }
    return out;
  }
}
