"""The Solr subset of package_search (shudata.portal.solr): parsing, refusals, and — by
property tests — random query trees answer exactly what a reference evaluation over the
package_show dicts of the demo datasets gives, and no query string at all ends in a 500."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shudata.core.errors import ShudataError
from shudata.portal import solr
from shudata.portal.ckan import group_name
from shudata.portal.logic.context import Context
from shudata.portal.logic.datastore import encode_result
from shudata.portal.logic.params import Params
from shudata.portal.logic.registry import call_action
from support.portal import CODES

OPEN, PEOPLE, COND = (CODES[k].replace("/", "-") for k in ("open", "people", "cond"))
CKAN_NAME = re.compile(r"[a-z0-9_-]{2,100}")  # CKAN's rule for group and organization names


def act(rt, settings, name, **params):
    with rt.transaction() as s:
        ctx = Context.build(session=s, settings=settings, name=name, base_url="http://portal.test/")
        return orjson.loads(encode_result(call_action(name, ctx, Params(params))))


# -- parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "tree"), [
    ("*:*", solr.All()),
    ("organization:a OR organization:b -groups:x",  # the harvester's include + exclude: (a OR b) AND NOT x
     solr.And((solr.Or((solr.Term("organization", "a"), solr.Term("organization", "b"))),
               solr.Not(solr.Term("groups", "x"))))),
    ("a OR b c", solr.And((solr.Or((solr.Text("a"), solr.Text("b"))), solr.Text("c")))),  # spaces bind loosest
    ("a AND b OR c", solr.Or((solr.And((solr.Text("a"), solr.Text("b"))), solr.Text("c")))),  # AND before OR
    ("tags:(x OR y)", solr.Or((solr.Term("tags", "x"), solr.Term("tags", "y")))),  # a field over a group
    ('+id:"abc" state:active', solr.And((solr.Term("name", "abc"), solr.All()))),  # aliases, constants
    ("state:deleted", solr.Nothing()),  # a constant's other value: nothing
    ("name:30100*", solr.Term("name", "30100", prefix=True)),
    ("tags:*", solr.Term("tags", "", prefix=True)),
    ("num_tags:{1 TO 3]", solr.Span("num_tags", 1.0, 3.0, include_low=False, include_high=True)),
    (r"title:a\:b", solr.Title("a:b")),  # escapes undone
])
def test_parse_builds_the_typed_tree(text, tree):
    assert solr.parse(text, "fq") == tree


@pytest.mark.parametrize("text", [
    "secret:1",  # an unknown field
    "title:foo~2", "foo^3", "/re.x/", "title:(a b)~2",  # fuzzy, boost, regex, proximity
    "tags:a*b", "title:ab*", "*bc",  # wildcards other than a trailing * on name-like fields
    "name:[a TO b]",  # a range on a text field
    "metadata_modified:[yesterday TO *]", "metadata_modified:2024-13-45T00:00:00Z", "num_tags:many",
    "(a", "a AND", "tags:\"open", "a:b:c", "{!lucene}x", "x" * 1001,
    "(" * 40 + "a" + ")" * 40,  # too deep
    " OR ".join(["a"] * 201),  # too many clauses
])
def test_outside_the_subset_is_a_search_query_error(text):
    with pytest.raises(ShudataError) as refused:
        solr.parse(text, "fq")
    assert refused.value.code == "search_query_error" and refused.value.status == 400
    assert refused.value.zh.startswith("fq 无效：")


def test_dates_and_date_math():
    now = dt.datetime(2024, 3, 15, 12, 30, tzinfo=dt.UTC)
    assert solr.parse_date("2024-03-15T12:30:00Z") == now.timestamp()
    assert solr.parse_date("NOW/DAY+1DAY", now=now) == dt.datetime(2024, 3, 16, tzinfo=dt.UTC).timestamp()
    assert solr.parse_date("NOW-1MONTH", now=now) == dt.datetime(2024, 2, 15, 12, 30, tzinfo=dt.UTC).timestamp()
    assert solr.parse_date("2024-01-31T00:00:00Z+1MONTH") == dt.datetime(2024, 2, 29, tzinfo=dt.UTC).timestamp()


# -- random trees against a reference evaluation -----------------------------------------------------

@dataclass(frozen=True)
class Leaf:
    text: str  # as written in the query
    field: str
    value: object  # str, or (low, high, include_low, include_high) for ranges
    kind: str = "exact"  # exact | prefix | range


def _ts(value: str) -> float:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp()


def reference(node, pkg) -> bool:
    """The meaning of a query tree for one package_show dict, written against CKAN's dicts
    (not the snapshot the portal evaluates)."""
    op, *args = node
    if op == "and":
        return all(reference(a, pkg) for a in args)
    if op == "or":
        return any(reference(a, pkg) for a in args)
    if op == "not":
        return not reference(args[0], pkg)
    leaf: Leaf = args[0]
    if leaf.kind == "range":
        low, high, inc_low, inc_high = leaf.value
        v = float(len(pkg[leaf.field])) if leaf.field in ("tags", "resources") else _ts(pkg[leaf.field])
        return (v >= low if inc_low else v > low) and (v <= high if inc_high else v < high)
    values = {"name": [pkg["name"]], "organization": [pkg["organization"]["name"], pkg["organization"]["title"]],
              "groups": [x for g in pkg["groups"] for x in (g["name"], g["title"])],
              "tags": [t["name"] for t in pkg["tags"]], "license_id": [pkg["license_id"]],
              "res_format": [r["format"].lower() for r in pkg["resources"]]}
    if leaf.field == "title":
        return str(leaf.value).casefold() in pkg["title"].casefold()
    want = str(leaf.value).lower() if leaf.field in ("name", "res_format") else str(leaf.value)
    have = values[leaf.field]
    return any(h.startswith(want) for h in have) if leaf.kind == "prefix" else want in have


def render(node, implicit: bool) -> str:
    """A tree as query text, each operation in parentheses; ``implicit``: the parts of an
    "and" joined by spaces (CKAN's q.op=AND) instead of ``AND``."""
    op, *args = node
    if op == "leaf":
        return args[0].text
    if op == "not":
        return f"-{render(args[0], implicit)}" if args[1] == "-" else f"NOT {render(args[0], implicit)}"
    sep = " OR " if op == "or" else (" " if implicit else " AND ")
    return "(" + sep.join(render(a, implicit) for a in args) + ")"


def leaves(pkgs: list[dict]) -> list[Leaf]:
    """Terms on every supported field, from the demo datasets' own values and a few that match
    nothing, and ranges with bounds at, just around and far from their times and counts."""
    out = [Leaf("name:nobody", "name", "nobody"), Leaf("tags:无此标签", "tags", "无此标签"),
           Leaf("res_format:PDF", "res_format", "pdf"), Leaf("res_format:csv", "res_format", "csv"),
           Leaf("license_id:cc-by-4.0", "license_id", "cc-by-4.0"), Leaf("groups:人口", "groups", "人口"),
           Leaf("name:3010*", "name", "3010", "prefix"), Leaf("tags:*", "tags", "", "prefix")]
    for p in pkgs:
        out += [Leaf(f"id:{p['name']}", "name", p["name"]), Leaf(f"organization:{p['organization']['name']}",
                                                                 "organization", p["organization"]["name"]),
                Leaf(f'title:"{p["title"][1:3]}"', "title", p["title"][1:3]),
                Leaf(f"license_id:{p['license_id']}", "license_id", p["license_id"])]
        out += [Leaf(f"groups:{g['name']}", "groups", g["name"]) for g in p["groups"]]
        out += [Leaf(f'tags:"{t["name"]}"', "tags", t["name"]) for t in p["tags"]]
        for field in ("metadata_modified", "metadata_created"):
            t = _ts(p[field])
            for delta in (-3600.0, 0.0, 1.0):
                when = dt.datetime.fromtimestamp(t + delta, dt.UTC).isoformat().replace("+00:00", "Z")
                out += [Leaf(f"{field}:[{when} TO *]", field, (t + delta, float("inf"), True, True), "range"),
                        Leaf(f"{field}:{{* TO {when}}}", field, (float("-inf"), t + delta, True, False), "range")]
    out += [Leaf(f"num_tags:[{n} TO {n + 1}}}", "tags", (n, n + 1, True, False), "range") for n in (0, 1, 2)]
    out += [Leaf("num_resources:[4 TO 4]", "resources", (4, 4, True, True), "range")]
    return out


def trees(pool: list[Leaf]):
    leaf = st.sampled_from(pool).map(lambda x: ("leaf", x))
    return st.recursive(leaf, lambda kids: st.one_of(
        st.tuples(st.just("and"), kids, kids), st.tuples(st.just("or"), kids, kids),
        st.tuples(st.just("and"), kids, kids, kids),
        st.tuples(st.just("not"), kids).map(lambda t: (*t, "-")),
        st.tuples(st.just("not"), kids).map(lambda t: (*t, "NOT"))), max_leaves=6)


def test_random_trees_match_the_reference(rt, settings, published):
    every = {p["name"]: p for p in (act(rt, settings, "package_show", id=n)
                                    for n in act(rt, settings, "package_list"))}
    pool = leaves(list(every.values()))

    @settings_(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(tree=trees(pool), implicit=st.booleans(), where=st.sampled_from(["fq", "q"]))
    def check(tree, implicit, where):
        text = render(tree, implicit)
        got = act(rt, settings, "package_search", rows=100, sort="id asc", **{where: text})
        expected = sorted(n for n, p in every.items() if reference(tree, p))
        assert [p["name"] for p in got["results"]] == expected, text
        assert got["count"] == len(expected)

    check()


settings_ = settings  # the hypothesis decorator (the name `settings` is the app's settings fixture)


LUCENE = st.text(alphabet=st.sampled_from(list('abc人口:*?~^"()[]{}\\/+-!&| TOANDORNOT*0123456789.Z-')),
                 max_size=60)


def test_no_query_string_is_a_server_error(rt, settings, published):
    @settings_(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(fq=LUCENE, q=LUCENE, sort=st.sampled_from(["id asc", "score desc, name desc", "bogus", ""]))
    def check(fq, q, sort):
        try:
            out = act(rt, settings, "package_search", fq=fq, q=q, sort=sort)
        except ShudataError as exc:
            assert 400 <= exc.status < 500 and exc.code in ("search_query_error", "validation_error"), exc
        else:
            assert 0 <= out["count"] <= 3

    check()


def test_text_terms_combine_with_fields(rt, settings, published):
    words = act(rt, settings, "package_search", q="人口")["results"]
    assert [p["name"] for p in words] == [OPEN]
    combined = act(rt, settings, "package_search", q=f"人口 AND groups:{group_name('人口')}")
    assert [p["name"] for p in combined["results"]] == [OPEN]
    assert act(rt, settings, "package_search", q="人口 -tags:人口")["count"] == 0
    assert act(rt, settings, "package_search", q="text:人口 OR tags:法人", sort="id asc")["count"] == 2


@given(theme=st.text(min_size=1, max_size=120))
def test_group_names_are_ckan_slugs(theme):
    name = group_name(theme)
    assert CKAN_NAME.fullmatch(name) and name == group_name(theme)  # CKAN's form, and stable


def test_homophone_themes_get_different_group_names():
    assert group_name("权利").split("-")[0] == group_name("权力").split("-")[0] == "quanli"
    assert group_name("权利") != group_name("权力")
    assert group_name("人口") == "renkou-6909fc"  # fixed: stored by clients, never to change

