// The HTTP example's chunked decoder requires CRLF in its framing (RFC 9112
// §7.1): a bare LF after a chunk-size line, after chunk data or in the
// trailer section is a 400, so a proxy that ends lines only at CRLF can never
// read a different body out of the same bytes. The request line and header
// fields keep the single-LF leniency RFC 9112 §2.2 allows.
import { describe, expect, test } from "bun:test";
import { decodeChunked, newChunkedState, parseRequest } from "../../examples/http/parser.ts";

const enc = new TextEncoder();
const HEAD = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

/** Decodes HEAD + body fed whole, and again one byte at a time: the two must agree. */
function decode(body: string): { result: string | number; data: string } {
  const runs: Array<{ result: string | number; data: string }> = [];
  for (const step of [Infinity, 1]) {
    const input = enc.encode(HEAD + body);
    const buf = new Uint8Array(input.length);
    const st = newChunkedState();
    let end = 0;
    let head = null;
    let result: string | number = "incomplete";
    while (end < input.length) {
      const to = Math.min(input.length, end + step);
      buf.set(input.subarray(end, to), end);
      end = to;
      if (head === null) {
        const h = parseRequest(buf, 0, end);
        if (h.kind === "incomplete") continue;
        if (h.kind !== "request") throw new Error(`head rejected: ${h.reason}`);
        head = h;
      }
      result = decodeChunked(buf, head.bodyStart, end, st);
      if (result !== "incomplete") break;
    }
    const data = head === null || result !== "done" ? "" : new TextDecoder().decode(buf.subarray(head.bodyStart, head.bodyStart + st.write));
    runs.push({ result, data });
  }
  expect(runs[1]).toEqual(runs[0]!);
  return runs[0]!;
}

describe("chunked framing requires CRLF", () => {
  test("a bare LF ending a chunk-size line with an extension is 400 (\"2;\\nxx\\r\\n0\\r\\n\\r\\n\")", () => {
    expect(decode("2;\nxx\r\n0\r\n\r\n")).toEqual({ result: 400, data: "" });
  });

  test("a bare LF ending a plain chunk-size line is 400", () => {
    expect(decode("2\nxx\r\n0\r\n\r\n")).toEqual({ result: 400, data: "" });
  });

  test("a bare LF after chunk data is 400", () => {
    expect(decode("2\r\nxx\n0\r\n\r\n")).toEqual({ result: 400, data: "" });
  });

  test("a bare LF ending the last-chunk line is 400", () => {
    expect(decode("2\r\nxx\r\n0\n\r\n")).toEqual({ result: 400, data: "" });
  });

  test("a bare LF ending a trailer field or the trailer section is 400", () => {
    expect(decode("2\r\nxx\r\n0\r\nT: 1\n\r\n")).toEqual({ result: 400, data: "" });
    expect(decode("2\r\nxx\r\n0\r\nT: 1\r\n\n")).toEqual({ result: 400, data: "" });
    expect(decode("2\r\nxx\r\n0\r\n\n")).toEqual({ result: 400, data: "" });
  });

  test("the same body with CRLF everywhere decodes to its data", () => {
    expect(decode("2;\r\nxx\r\n0\r\n\r\n")).toEqual({ result: "done", data: "xx" });
    expect(decode("2;a=b\r\nxx\r\n1\r\ny\r\n0\r\nT: 1\r\n\r\n")).toEqual({ result: "done", data: "xxy" });
  });

  test("the request line and header fields still accept a single LF (RFC 9112 §2.2)", () => {
    const head = enc.encode("POST /e HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n");
    const h = parseRequest(head, 0, head.length);
    expect(h.kind).toBe("request");
    if (h.kind === "request") expect([h.bodyStart, h.chunked]).toEqual([head.length, true]);
  });
});
