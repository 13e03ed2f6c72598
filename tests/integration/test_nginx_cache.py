"""What nginx keeps for the public: a cached answer is always whole."""
import hashlib
import itertools
import struct
import zlib

import requests

from conftest import api

_numbers = itertools.count(7000)


def unique_png(seed):
    """A valid 3x2 PNG whose bytes (so its URL) no other test uses."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    colour = bytes([seed % 251, (seed * 7) % 251, 200])
    raw = b"".join(b"\x00" + colour * 3 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"tEXt", b"seed\x00%d" % seed) +
            chunk(b"IEND", b""))


def published_photo(stack, tokens, seed):
    """A photo of a freshly published case that nobody has fetched yet: (url, bytes)."""
    editor, reviewer = tokens["shajing"], tokens["reviewer"]
    community = next(c["id"] for c in api(stack, "GET", "/api/communities", editor).json())
    body = {"community_id": community, "title": "缓存测试", "problem": "问题。",
            "actions": [{"headline": "做法", "body": "内容。"}],
            "testimonial": {"text": "感言。", "speaker": "某人", "post": "书记"}}
    r = api(stack, "POST", "/api/cases", editor, json=body)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    data = unique_png(seed)
    r = api(stack, "POST", f"/api/cases/{cid}/photos", editor, data=data,
            headers={"Content-Type": "image/png", "If-Match": r.headers["ETag"]})
    assert r.status_code == 201, r.text
    url = r.json()["photos"][0]["url"]
    assert url == "/api/photos/" + hashlib.sha256(data).hexdigest()
    r = api(stack, "POST", f"/api/cases/{cid}/transitions", editor, json={"action": "submit"})
    assert r.status_code == 200, r.text
    r = api(stack, "POST", "/api/editions", reviewer, json={"number": next(_numbers), "title": "缓存"})
    assert r.status_code == 201, r.text
    r = api(stack, "POST", f"/api/cases/{cid}/transitions", reviewer,
            json={"action": "approve", "edition_id": r.json()["id"]})
    assert r.status_code == 200, r.text
    return url, data


def test_a_head_first_never_leaves_an_empty_photo_in_the_cache(stack, tokens):
    url, data = published_photo(stack, tokens, 1)
    head = requests.head(stack.url + url, timeout=10)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(data) and head.content == b""
    for _ in range(2):
        got = requests.get(stack.url + url, timeout=10)
        assert got.status_code == 200
        assert got.content == data, "the cache served a body other than the photo's bytes"
        assert int(got.headers["Content-Length"]) == len(data)
    assert got.headers["X-Cache-Status"] == "HIT"
    # a HEAD answered from the cache says the same
    head = requests.head(stack.url + url, timeout=10)
    assert int(head.headers["Content-Length"]) == len(data)


def test_a_get_then_a_head_then_a_get_stay_whole(stack, tokens):
    url, data = published_photo(stack, tokens, 2)
    assert requests.get(stack.url + url, timeout=10).content == data
    head = requests.head(stack.url + url, timeout=10)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(data)
    got = requests.get(stack.url + url, timeout=10)
    assert got.content == data and got.headers["X-Cache-Status"] == "HIT"
