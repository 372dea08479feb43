"""The caches of encoded pages keep what is asked for again, not every page once asked for
(issue #14: under paging at arbitrary offsets both 64 MB caches filled at about 0.3 MB/s,
the steady growth of the server's resident memory in ``bench/load.py``)."""

from __future__ import annotations

from shudata.lake.reader import BytesLRU


def ask(cache: BytesLRU[bytes], key: object, value: bytes) -> bytes:
    """What a request does: the cached page, or encode it and offer it to the cache."""
    hit = cache.get(key)
    if hit is not None:
        return hit
    cache.put(key, value)
    return value


def test_pages_asked_for_once_are_not_kept():
    cache: BytesLRU[bytes] = BytesLRU(1 << 20)
    for offset in range(5000):
        assert ask(cache, ("v1", offset, 100), b"x" * 100) == b"x" * 100
    assert cache.size == 0 and not cache.items
    assert len(cache.misses) == cache.remember  # the misses it remembers are bounded too


def test_a_page_asked_for_again_is_kept_and_served():
    cache: BytesLRU[bytes] = BytesLRU(1 << 20)
    ask(cache, "first", b"page-1")
    assert cache.get("first") is None  # the second request misses, and its page is stored
    cache.put("first", b"page-1")
    assert cache.get("first") == b"page-1" and cache.size == 6
    assert "first" not in cache.misses


def test_a_forgotten_miss_counts_again_from_one():
    cache: BytesLRU[bytes] = BytesLRU(1 << 20, remember=3)
    ask(cache, "a", b"A")
    for k in "bcd":  # three other misses push "a" out of the remembered ones
        ask(cache, k, b"?")
    ask(cache, "a", b"A")
    assert cache.get("a") is None and cache.size == 0


def test_the_bound_holds_with_sizes_given_for_other_values():
    cache: BytesLRU[tuple[int, bytes]] = BytesLRU(250, admit_after=1)
    for k in range(5):
        cache.put(k, (k, b"y" * 100), nbytes=100)
    assert cache.size == 200 and list(cache.items) == [3, 4]
    assert cache.get(4) == (4, b"y" * 100)
    cache.put("huge", (0, b"z" * 300), nbytes=300)  # larger than the bound: never stored
    assert cache.get("huge") is None and cache.size == 200


def test_admit_after_one_keeps_every_page():
    cache: BytesLRU[bytes] = BytesLRU(1 << 20, admit_after=1)
    ask(cache, "p", b"page")
    assert cache.get("p") == b"page"
