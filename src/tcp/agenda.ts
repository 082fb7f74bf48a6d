/**
 * Agenda: what a server's connections have to do, so a tick touches only those. A connection
 * is marked when something happened to it (bytes arrived, its socket drained, its app answered)
 * and is given a tyme by which to be looked at again (its earliest deadline). `take()` hands out
 * the marked ones and the ones whose tyme has come, each once.
 *
 * Tymes live in a binary min-heap holding at most one live entry per connection: a deadline
 * that moves later leaves its entry in place (the connection is looked at then, finds its
 * deadline later and asks again), so refreshing an idle tymer on every request costs nothing.
 */

/** What an agenda keeps on each of its items: whether it is marked and its tyme (Infinity: none). */
export interface Agendum {
  agendaMarked: boolean;
  /** The tyme of its live entry in the heap (Infinity: none). */
  agendaAt: number;
  /** The tyme it wants to be looked at by, as last asked (Infinity: none). */
  agendaDue: number;
}

export class Agenda<T extends Agendum> {
  #marked: T[] = [];
  #spare: T[] = [];
  #ats: number[] = [];
  #items: T[] = [];

  /**
   * The earliest tyme an item wants (-Infinity when something is marked, Infinity when none).
   * Entries at the top of the heap that are stale or whose item moved on are put right first, so
   * a sleeping Doist is not woken at a deadline that has since moved later (10,000 connections
   * refreshed after their first request would otherwise wake it 10,000 times, for nothing).
   */
  get due(): number {
    if (this.#marked.length > 0) return -Infinity;
    const ats = this.#ats;
    while (ats.length > 0) {
      const at = ats[0]!;
      const item = this.#items[0]!;
      if (item.agendaAt !== at) { // superseded by an earlier tyme, or already taken
        this.#pop();
        continue;
      }
      const due = item.agendaDue;
      if (!(due > at)) return at;
      this.#pop(); // moved on: its entry goes to the later tyme now
      item.agendaAt = due;
      if (due !== Infinity) this.#push(due, item);
    }
    return Infinity;
  }

  /** How many tymes are held (live or stale): bounded by the items ever given one. */
  get size(): number {
    return this.#ats.length;
  }

  /** Marks `item` for the next take. */
  mark(item: T): void {
    if (item.agendaMarked) return;
    item.agendaMarked = true;
    this.#marked.push(item);
  }

  /**
   * Makes `item` be taken once tyme reaches `tyme` (Infinity: never), replacing what it asked
   * before. An earlier tyme is pushed; a later one is only noted, and when the entry it has comes
   * up it is put back at the later tyme instead of being taken (no service for a deadline that
   * moved on, as an idle tymer does on every request).
   */
  at(item: T, tyme: number): void {
    item.agendaDue = tyme;
    if (!(tyme < item.agendaAt)) return;
    item.agendaAt = tyme;
    this.#push(tyme, item);
  }

  /**
   * The items marked, then those whose tyme is at or before `tyme`, each once, unmarked and with
   * no tyme left. The array is reused by the next take: iterate it before then.
   */
  take(tyme: number): T[] {
    while (this.#ats.length > 0 && this.#ats[0]! <= tyme) {
      const at = this.#ats[0]!;
      const item = this.#pop();
      if (item.agendaAt !== at) continue; // stale: superseded by an earlier tyme, already taken
      const due = item.agendaDue;
      if (due > tyme) { // it moved on: wait for the new tyme instead
        item.agendaAt = due;
        if (due !== Infinity) this.#push(due, item);
        continue;
      }
      item.agendaAt = Infinity;
      this.mark(item);
    }
    const taken = this.#marked;
    this.#marked = this.#spare;
    this.#marked.length = 0;
    this.#spare = taken;
    for (const item of taken) item.agendaMarked = false;
    return taken;
  }

  /** Forgets everything. */
  clear(): void {
    for (const item of this.#marked) item.agendaMarked = false;
    for (const item of this.#items) item.agendaAt = item.agendaDue = Infinity;
    this.#marked.length = 0;
    this.#ats.length = 0;
    this.#items.length = 0;
  }

  #push(at: number, item: T): void {
    const ats = this.#ats;
    const items = this.#items;
    let i = ats.length;
    ats.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (ats[parent]! <= at) break;
      ats[i] = ats[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    ats[i] = at;
    items[i] = item;
  }

  #pop(): T {
    const ats = this.#ats;
    const items = this.#items;
    const top = items[0]!;
    const lastAt = ats.pop()!;
    const lastItem = items.pop()!;
    const n = ats.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && ats[child + 1]! < ats[child]!) child += 1;
        if (ats[child]! >= lastAt) break;
        ats[i] = ats[child]!;
        items[i] = items[child]!;
        i = child;
      }
      ats[i] = lastAt;
      items[i] = lastItem;
    }
    return top;
  }
}
