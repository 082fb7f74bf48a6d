import { describe, expect, it } from "vitest";
import { Agenda } from "../../src/tcp/agenda.ts";

const item = (name: string) => ({ name, agendaMarked: false, agendaAt: Infinity, agendaDue: Infinity });

describe("Agenda", () => {
  it("takes marked items once, then those whose tyme has come, in tyme order", () => {
    const agenda = new Agenda<ReturnType<typeof item>>();
    const [a, b, c] = [item("a"), item("b"), item("c")];
    agenda.at(b, 2);
    agenda.at(c, 1);
    agenda.mark(a);
    agenda.mark(a);
    expect(agenda.due).toBe(-Infinity);
    expect(agenda.take(0).map((x) => x.name)).toEqual(["a"]);
    expect(agenda.due).toBe(1);
    expect(agenda.take(1.5).map((x) => x.name)).toEqual(["c"]);
    expect(agenda.take(5).map((x) => x.name)).toEqual(["b"]);
    expect([agenda.due, agenda.size]).toEqual([Infinity, 0]);
  });

  it("puts an item whose deadline moved later back at the new tyme instead of taking it", () => {
    const agenda = new Agenda<ReturnType<typeof item>>();
    const a = item("a");
    agenda.at(a, 5);
    agenda.at(a, 9); // refreshed: no new entry, noted
    expect(agenda.size).toBe(1);
    expect(agenda.take(5)).toEqual([]); // not taken at 5
    expect(agenda.due).toBe(9);
    expect(agenda.take(9).map((x) => x.name)).toEqual(["a"]);
    agenda.at(a, 20);
    agenda.at(a, Infinity); // no deadline any more
    expect(agenda.take(30)).toEqual([]);
    expect(agenda.size).toBe(0);
  });

  it("takes an earlier tyme at once even when a later entry is in the heap", () => {
    const agenda = new Agenda<ReturnType<typeof item>>();
    const a = item("a");
    agenda.at(a, 9);
    agenda.at(a, 3);
    expect(agenda.take(3).map((x) => x.name)).toEqual(["a"]);
    expect(agenda.take(9)).toEqual([]); // the superseded entry lapses
  });

  it("reports the tyme items want now, not the stale entries of deadlines that moved later", () => {
    const agenda = new Agenda<ReturnType<typeof item>>();
    const items = Array.from({ length: 100 }, (_, i) => item(`c${i}`));
    items.forEach((x, i) => agenda.at(x, 5 + i / 100)); // each connection's first idle deadline
    items.forEach((x) => agenda.at(x, 20)); // all refreshed: due at 20 now
    agenda.at(items[7]!, 30);
    expect(agenda.due).toBe(20); // a sleeping Doist waits until 20, not 5
    expect(agenda.size).toBe(100); // one entry each, moved
    expect(agenda.take(19.9)).toEqual([]);
    expect(agenda.take(20).length).toBe(99);
    expect(agenda.due).toBe(30);
    expect(agenda.take(30).map((x) => x.name)).toEqual(["c7"]);
    agenda.at(items[0]!, 40);
    agenda.at(items[0]!, Infinity); // gave up its deadline
    expect(agenda.due).toBe(Infinity);
    expect(agenda.size).toBe(0);
  });
});
