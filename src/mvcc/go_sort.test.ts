// Specifies goSort: a sort (a permutation, in order) that makes exactly Go's sort.Sort moves, so ties among
// equal sort targets come out as etcd 3.4 returns them. The goldens were read off a real etcd 3.4.23 (go1.19.8):
// key i of a prefix holds value input[i] zero-padded, and `etcdctl get --prefix --sort-by=VALUE --keys-only`
// with --order=ASCEND / DESCEND lists the keys in the order below.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { goSort, type Less } from "./go_sort.js";

const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

/** The key indices of `input`, sorted by goSort on their values (ascending, or sort.Reverse). */
function sortedIndices(input: number[], order: "ascend" | "descend"): number[] {
  const less: Less<number> =
    order === "ascend" ? (a, b) => input[a]! < input[b]! : (a, b) => input[b]! < input[a]!;
  const idx = input.map((_, i) => i);
  goSort(idx, less);
  return idx;
}

interface Golden {
  name: string;
  input: number[];
  ascend: number[];
  descend: number[];
}

const GOLDENS: Golden[] = [
  {
    name: "n=5: insertion sort only, stable",
    // Twelve or fewer: insertion sort, so ties keep key order in both directions.
    input: [2, 1, 2, 1, 2],
    ascend: [1, 3, 0, 2, 4],
    descend: [0, 2, 4, 1, 3],
  },
  {
    name: "n=13: one partition, then insertion sort",
    // Just over the insertion-sort limit: a stable sort already disagrees.
    input: range(13, (i) => i % 3),
    ascend: [6, 3, 0, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11],
    descend: [8, 2, 11, 5, 1, 4, 10, 7, 6, 9, 0, 3, 12],
  },
  {
    name: "n=50: nearly sorted, partialInsertionSort shifts",
    // Two displaced keys in a sorted run: Tukey ninther pivot, then partialInsertionSort fixes them up.
    input: range(50, (i) => (i === 17 ? 0 : i === 31 ? 3 : i >> 2)),
    ascend: [
      0, 1, 2, 3, 17, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 31, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26,
      27, 28, 29, 30, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    ],
    descend: [
      49, 48, 44, 47, 46, 45, 40, 42, 41, 43, 36, 39, 38, 37, 34, 35, 33, 32, 28, 30, 29, 25, 24, 26, 27, 23,
      22, 21, 20, 18, 19, 16, 14, 13, 31, 15, 12, 9, 11, 10, 8, 7, 6, 5, 4, 0, 17, 3, 2, 1,
    ],
  },
  {
    name: "n=50: five values round robin, partitionEqual",
    // Many ties: breakPatterns and partitionEqual.
    input: range(50, (i) => (i * 7) % 5),
    ascend: [
      10, 25, 45, 35, 15, 5, 40, 20, 30, 0, 38, 48, 33, 13, 23, 43, 28, 3, 18, 8, 11, 31, 1, 46, 41, 6, 26,
      36, 16, 21, 9, 39, 49, 19, 34, 29, 44, 4, 24, 14, 17, 7, 42, 37, 27, 2, 12, 47, 22, 32,
    ],
    descend: [
      37, 17, 2, 47, 27, 22, 42, 7, 32, 12, 44, 34, 9, 39, 14, 29, 4, 49, 24, 19, 36, 31, 1, 46, 6, 41, 26,
      16, 21, 11, 28, 43, 13, 33, 48, 3, 23, 18, 38, 8, 40, 25, 10, 30, 5, 45, 0, 35, 15, 20,
    ],
  },
  {
    name: "n=200: eleven values, partitionEqual",
    // Many ties in a big range: partitionEqual, breakPatterns, recursion on both sides.
    input: range(200, (i) => (i * i + 3 * i) % 11),
    ascend: [
      41, 198, 195, 187, 184, 176, 173, 165, 8, 162, 154, 11, 151, 0, 143, 140, 132, 129, 121, 19, 118, 110,
      22, 107, 99, 96, 88, 85, 77, 74, 30, 66, 63, 33, 55, 52, 44, 150, 29, 199, 40, 133, 1, 194, 122, 45, 18,
      117, 139, 111, 144, 51, 23, 188, 106, 34, 56, 100, 12, 155, 95, 183, 62, 89, 161, 84, 177, 67, 7, 128,
      166, 78, 172, 73, 81, 92, 169, 125, 37, 70, 136, 114, 48, 15, 191, 103, 180, 147, 26, 4, 158, 59, 159,
      14, 157, 60, 25, 91, 58, 148, 181, 170, 102, 27, 104, 146, 3, 190, 179, 93, 5, 49, 82, 113, 69, 115,
      137, 47, 38, 80, 135, 192, 36, 71, 124, 168, 126, 16, 20, 64, 130, 131, 42, 197, 196, 120, 119, 43, 53,
      54, 21, 141, 142, 109, 108, 186, 185, 32, 65, 31, 175, 98, 152, 153, 10, 97, 174, 75, 76, 87, 164, 86,
      9, 163, 160, 83, 79, 167, 28, 90, 94, 171, 72, 6, 156, 13, 68, 149, 178, 24, 17, 101, 182, 61, 57, 105,
      145, 112, 138, 189, 35, 50, 46, 193, 116, 2, 134, 123, 127, 39,
    ],
    descend: [
      39, 123, 2, 127, 134, 116, 6, 112, 193, 138, 105, 101, 145, 13, 94, 90, 149, 17, 83, 189, 79, 156, 72,
      68, 24, 160, 61, 57, 28, 182, 167, 50, 46, 171, 178, 35, 164, 186, 197, 130, 120, 175, 42, 43, 174, 119,
      32, 131, 196, 109, 31, 108, 9, 53, 54, 10, 141, 142, 98, 97, 87, 86, 152, 163, 64, 65, 20, 153, 185, 21,
      76, 75, 82, 27, 157, 71, 124, 69, 159, 25, 80, 38, 3, 190, 126, 16, 36, 60, 148, 179, 47, 91, 5, 93, 14,
      146, 115, 113, 58, 135, 181, 192, 102, 49, 104, 168, 170, 137, 92, 136, 4, 15, 48, 59, 114, 191, 125,
      103, 158, 180, 147, 26, 37, 81, 70, 169, 100, 62, 128, 199, 1, 7, 194, 133, 117, 111, 12, 18, 106, 139,
      188, 23, 183, 29, 144, 34, 95, 89, 40, 177, 150, 172, 84, 78, 45, 155, 51, 56, 73, 67, 166, 161, 122,
      162, 143, 165, 66, 74, 55, 52, 77, 154, 151, 173, 44, 41, 176, 85, 88, 96, 33, 30, 63, 99, 184, 0, 22,
      187, 140, 19, 107, 110, 11, 8, 132, 195, 118, 121, 198, 129,
    ],
  },
  {
    name: "n=60: decreasing with tie runs, reverseRange",
    // Ninther sees 12 inversions: the whole range is reversed, so ASCEND ties come out in reverse key order.
    input: range(60, (i) =>
      i >= 5 && i <= 8 ? 95 : i === 40 || i === 41 ? 60 : i >= 52 && i <= 54 ? 47 : 100 - i,
    ),
    ascend: [
      59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34,
      33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7,
      6, 5, 4, 3, 2, 1, 0,
    ],
    descend: [
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
      28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,
      54, 55, 56, 57, 58, 59,
    ],
  },
  {
    name: "n=24: bad pivots exhaust the limit, heapSort",
    // Found by search: five unbalanced partitions spend limit = bits.Len(24) = 5, so the rest is heap-sorted.
    input: [1, 10, 9, 18, 19, 13, 1, 13, 17, 5, 6, 21, 18, 12, 11, 14, 1, 22, 1, 4, 9, 9, 15, 5],
    ascend: [18, 16, 0, 6, 19, 9, 23, 10, 20, 2, 21, 1, 14, 13, 5, 7, 15, 22, 8, 12, 3, 4, 11, 17],
    descend: [17, 11, 4, 3, 12, 8, 22, 15, 5, 7, 13, 14, 1, 20, 2, 21, 10, 9, 23, 19, 6, 18, 16, 0],
  },
];

describe("goSort: the order etcd 3.4's Range sort gives (golden vectors from a real etcd)", () => {
  for (const g of GOLDENS) {
    test(g.name, () => {
      assert.deepEqual(sortedIndices(g.input, "ascend"), g.ascend, "ASCEND");
      assert.deepEqual(sortedIndices(g.input, "descend"), g.descend, "DESCEND");
    });
  }
});

/** Few distinct values so ties are common; lengths span insertion sort, median of three, ninther, heapsort. */
const values = fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 300 });
const lessOf = (input: number[], reverse: boolean): Less<number> => {
  // Go never reads past the slice: a stray index would show up as undefined here.
  const at = (i: number) => {
    const v = input[i];
    assert.ok(v !== undefined, `compared out-of-range index ${i}`);
    return v;
  };
  return reverse ? (a, b) => at(b) < at(a) : (a, b) => at(a) < at(b);
};

describe("goSort: properties", () => {
  test("sorts: the result is a permutation in order, both directions", () => {
    fc.assert(
      fc.property(values, fc.boolean(), (input, reverse) => {
        const idx = input.map((_, i) => i);
        const less = lessOf(input, reverse);
        goSort(idx, less);
        assert.deepEqual(
          [...idx].sort((a, b) => a - b),
          input.map((_, i) => i),
        );
        for (let i = 1; i < idx.length; i++) assert.ok(!less(idx[i]!, idx[i - 1]!), `out of order at ${i}`);
      }),
    );
  });

  test("twelve or fewer elements: insertion sort, so ties keep their input order (stable)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 12 }),
        fc.boolean(),
        (input, reverse) => {
          const idx = input.map((_, i) => i);
          const less = lessOf(input, reverse);
          goSort(idx, less);
          const stable = input.map((_, i) => i).sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
          assert.deepEqual(idx, stable);
        },
      ),
    );
  });

  test("distinct values: the one sorted order, whatever path the sort takes", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer(), { maxLength: 300 }), (input) => {
        const out = [...input];
        goSort(out, (a, b) => a < b);
        assert.deepEqual(
          out,
          [...input].sort((a, b) => a - b),
        );
      }),
    );
  });

  test("deterministic: the same input always gives the same order (no hidden randomness)", () => {
    fc.assert(
      fc.property(values, (input) => {
        assert.deepEqual(sortedIndices(input, "ascend"), sortedIndices(input, "ascend"));
      }),
    );
  });

  test("0 and 1 elements are left alone; less is never called", () => {
    const never: Less<number> = () => assert.fail("less called");
    for (const items of [[], [1]]) {
      const copy = [...items];
      goSort(copy, never);
      assert.deepEqual(copy, items);
    }
  });
});
