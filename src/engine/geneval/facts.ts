/** Whether each fact of a prompt holds of what the checker saw (analyse.ts), and so whether the prompt passes. */
import type { Analysis, Detection } from './analyse.ts';
import type { Fact, ObjectFact, ObjectRef } from './prompts.ts';

/** Returns true when every attribute `ref` gives holds of detection `d`. */
export function matchesRef(ref: ObjectRef | ObjectFact, d: Detection): boolean {
  if (ref.shape !== undefined && ref.shape !== d.shape) return false;
  if (ref.colour !== undefined && ref.colour !== d.colour) return false;
  if (ref.size !== undefined && ref.size !== d.size) return false;
  const pos = (ref as ObjectFact).position;
  return pos === undefined || (pos[0] === d.position[0] && pos[1] === d.position[1]);
}

/** Returns true when the object facts can be met by distinct detections (a one-to-one assignment exists). */
export function assignable(facts: readonly ObjectFact[], objects: readonly Detection[]): boolean {
  const used = new Array<boolean>(objects.length).fill(false);
  const place = (i: number): boolean => {
    if (i === facts.length) return true;
    for (let j = 0; j < objects.length; j++) {
      if (used[j] || !matchesRef(facts[i], objects[j])) continue;
      used[j] = true;
      if (place(i + 1)) return true;
      used[j] = false;
    }
    return false;
  };
  return place(0);
}

/** Returns whether one fact holds (object facts alone; checkFacts assigns them jointly). */
export function factHolds(fact: Fact, seen: Analysis): boolean {
  const objs = seen.objects;
  switch (fact.kind) {
    case 'object':
      return objs.some((d) => matchesRef(fact, d));
    case 'count':
      return objs.filter((d) => fact.shape === undefined || d.shape === fact.shape).length === fact.n;
    case 'relation':
      return objs.some(
        (x) =>
          matchesRef(fact.a, x) &&
          objs.some((y) => {
            if (y === x || !matchesRef(fact.b, y)) return false;
            if (fact.rel === 'left_of') return x.position[1] < y.position[1];
            if (fact.rel === 'right_of') return x.position[1] > y.position[1];
            if (fact.rel === 'above') return x.position[0] < y.position[0];
            return x.position[0] > y.position[0];
          }),
      );
  }
}

/** The verdict on one image: each fact's truth and the prompt's (every fact, object facts met by distinct objects). */
export interface Verdict {
  facts: boolean[];
  ok: boolean;
}

/** Returns the verdict of `facts` on what the checker saw. */
export function checkFacts(facts: readonly Fact[], seen: Analysis): Verdict {
  const each = facts.map((f) => factHolds(f, seen));
  const objectFacts = facts.filter((f): f is ObjectFact => f.kind === 'object');
  const joint = objectFacts.length < 2 || assignable(objectFacts, seen.objects);
  return { facts: each, ok: joint && each.every(Boolean) };
}
