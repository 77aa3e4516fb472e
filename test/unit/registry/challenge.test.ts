/** parseWwwAuthenticate: the challenges registries send in WWW-Authenticate. */
import { describe, expect, it } from "vitest";
import { parseWwwAuthenticate } from "../../../src/registry/challenge.ts";

describe("parseWwwAuthenticate", () => {
  it.each([
    {
      what: "GHCR's Bearer challenge (a comma inside the quoted scope)",
      header: 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/api:pull,push"',
      expected: [
        {
          scheme: "bearer",
          params: {
            realm: "https://ghcr.io/token",
            service: "ghcr.io",
            scope: "repository:org/api:pull,push",
          },
        },
      ],
    },
    {
      what: "a Basic challenge",
      header: 'Basic realm="Registry Realm"',
      expected: [{ scheme: "basic", params: { realm: "Registry Realm" } }],
    },
    {
      what: "two challenges in one header, spaces around the separators",
      header: 'Basic realm="a, b" ,  Bearer realm = "https://r/t" , service=reg',
      expected: [
        { scheme: "basic", params: { realm: "a, b" } },
        { scheme: "bearer", params: { realm: "https://r/t", service: "reg" } },
      ],
    },
    {
      what: "escaped quotes and backslashes in a quoted value, mixed-case names",
      header: 'BEARER Realm="https://r/t?q=\\"x\\"", Error="invalid_token"',
      expected: [{ scheme: "bearer", params: { realm: 'https://r/t?q="x"', error: "invalid_token" } }],
    },
    {
      what: "a token68 after its scheme, then another challenge",
      header: 'Negotiate abc123==, Basic realm="r"',
      expected: [
        { scheme: "negotiate", params: {} },
        { scheme: "basic", params: { realm: "r" } },
      ],
    },
    { what: "a bare scheme", header: "Basic", expected: [{ scheme: "basic", params: {} }] },
    { what: "an empty header", header: "", expected: [] },
    { what: "only separators and garbage", header: ' , ;; "', expected: [] },
  ])("GIVEN $what WHEN parsed THEN each challenge with its parameters", ({ header, expected }) => {
    expect(parseWwwAuthenticate(header)).toEqual(expected);
  });

  it("GIVEN an unterminated quoted value WHEN parsed THEN the value runs to the end and nothing throws", () => {
    expect(parseWwwAuthenticate('Bearer realm="https://r/t')).toEqual([
      { scheme: "bearer", params: { realm: "https://r/t" } },
    ]);
  });
});
