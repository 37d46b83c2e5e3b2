// Specifies etcd's URL-list rules and messages (types.NewURLs over Go's url.Parse), as etcd 3.4.23 prints them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EtcdURL, newURLs, splitHostPort, urlString } from "./gourl.js";

test("newURLs rejects what etcd rejects, with etcd's message", () => {
  const cases: [string, string][] = [
    ["127.0.0.1:2379", 'parse "127.0.0.1:2379": first path segment in URL cannot contain colon'],
    ["localhost:2379", "URL scheme must be http, https, unix, or unixs: localhost:2379"],
    ["ftp://x:1", "URL scheme must be http, https, unix, or unixs: ftp://x:1"],
    ["*", "URL scheme must be http, https, unix, or unixs: *"],
    ["", "URL scheme must be http, https, unix, or unixs: "],
    ["http://127.0.0.1", 'URL address does not have the form "host:port": http://127.0.0.1'],
    ["http://a:b:1", 'URL address does not have the form "host:port": http://a:b:1'],
    ["unix://foo", 'URL address does not have the form "host:port": unix://foo'],
    ["unix:foo", 'URL address does not have the form "host:port": unix:foo'],
    ["http://127.0.0.1:2379/", "URL must not contain a path: http://127.0.0.1:2379/"],
    ["http://127.0.0.1:2379/path", "URL must not contain a path: http://127.0.0.1:2379/path"],
    ["http://[::1:2379", `parse "http://[::1:2379": missing ']' in host`],
    ["http://[::1]:1:2", 'parse "http://[::1]:1:2": invalid port ":1:2" after host'],
    ["http://x:y", 'parse "http://x:y": invalid port ":y" after host'],
    ["http://a%zz:1", 'parse "http://a%zz:1": invalid URL escape "%zz"'],
    ["http://x%20y:1", 'parse "http://x%20y:1": invalid URL escape "%20"'],
    ["http://x y:1", 'parse "http://x y:1": invalid character " " in host name'],
    ["://x:1", 'parse "://x:1": missing protocol scheme'],
    ["http://x\t:1", 'parse "http://x\\t:1": net/url: invalid control character in URL'],
  ];
  for (const [input, msg] of cases)
    assert.throws(() => newURLs([input]), { message: msg }, JSON.stringify(input));
});

test("newURLs accepts etcd's forms, trims, sorts and keeps Go's string", () => {
  const urls = newURLs([
    "http://127.0.0.2:1",
    " HTTP://127.0.0.1:2379",
    "https://[::1]:2380",
    "unix://localhost:1234",
  ]);
  assert.deepEqual(
    urls.map((u) => u.goString),
    ["http://127.0.0.1:2379", "http://127.0.0.2:1", "https://[::1]:2380", "unix://localhost:1234"],
  );
  assert.ok(urls.every((u) => u instanceof URL && u instanceof EtcdURL));
  const [q] = newURLs(["http://u@h:1?x=1"]);
  assert.equal(q!.goString, "http://u@h:1?x=1");
  // WHATWG drops the scheme's default port and adds a slash; etcd's string and host:port keep them.
  const [p80] = newURLs(["http://127.0.0.1:80"]);
  assert.equal(p80!.port, "");
  assert.equal(p80!.goString, "http://127.0.0.1:80");
  assert.equal(p80!.hostPort, "127.0.0.1:80");
  assert.equal(urlString(p80!), "http://127.0.0.1:80");
  assert.equal(String(p80), "http://127.0.0.1:80");
  assert.equal(p80!.href, "http://127.0.0.1/");
  assert.equal(urlString(new URL("http://10.0.0.1:2380")), "http://10.0.0.1:2380");
  assert.equal(newURLs(["http://h:"])[0]!.hostPort, "h:");
});

test("splitHostPort follows net.SplitHostPort", () => {
  assert.deepEqual(splitHostPort("[::1]:2379"), { host: "::1", port: "2379" });
  assert.deepEqual(splitHostPort(":2379"), { host: "", port: "2379" });
  assert.throws(() => splitHostPort("foo"), { message: "address foo: missing port in address" });
  assert.throws(() => splitHostPort("a:b:1"), { message: "address a:b:1: too many colons in address" });
  assert.throws(() => splitHostPort("[::1]"), { message: "address [::1]: missing port in address" });
});
