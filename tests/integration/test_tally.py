"""A count the public can check (the ballot list and its digest, portalctl
tally verify), results the district can use (exports), and corrections on
the record."""
import csv
import hashlib
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import api, assert_problem, portalctl, sql_value, superuser, wait_until
from test_public import (Voter, new_case, open_voting, published_case, voters_nginx,  # noqa: F401
                         voting_case)


def close(stack, tokens, edition):
    r = api(stack, "POST", f"/api/editions/{edition}/transitions", tokens["reviewer"],
            json={"action": "close"})
    assert r.status_code == 200, r.text


def two_case_edition(stack, tokens):
    """An edition open for votes with two cases: (edition id, number, [case ids])."""
    first, edition, number = published_case(stack, tokens, title="计票案例一")
    second = new_case(stack, tokens, title="计票案例二")
    assert api(stack, "POST", f"/api/cases/{second}/transitions", tokens["shajing"],
               json={"action": "submit"}).status_code == 200
    assert api(stack, "POST", f"/api/cases/{second}/transitions", tokens["reviewer"],
               json={"action": "approve", "edition_id": edition}).status_code == 200
    open_voting(stack, tokens, edition)
    return edition, number, [first, second]


def ballots(stack, number):
    return requests.get(f"{stack.url}/api/public/editions/{number}/ballots.csv", timeout=10)


def fresh_ballots(stack, number, digest_wanted=None):
    """The list once nginx's brief copy has expired and been refreshed."""
    time.sleep(2.2)
    ballots(stack, number)  # (a stale copy, while one request refreshes it)
    return wait_until(lambda: (lambda r: r if digest_wanted is None or
                               digest_of(r.content) != digest_wanted else None)(
                                   ballots(stack, number)), 10, "a fresh ballot list")


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def portalctl_tally(stack, number):
    return portalctl(stack, "tally", "verify", str(number))


def test_twelve_voters_find_their_receipts_in_the_list_whose_digest_was_published(
        stack, tokens, voters_nginx):
    edition, number, cases = two_case_edition(stack, tokens)
    assert_problem(ballots(stack, number), 404, "not-found")  # not before the close
    assert requests.get(f"{stack.url}/api/public/editions/{number}",
                        timeout=10).json()["tally"] is None
    voters = [Voter(stack) for _ in range(12)]
    receipts = {}
    choices = ["满意", "基本满意", "不满意"]
    for i, v in enumerate(voters):
        for case in cases[: 1 + i % 2]:
            r = v.vote(case, choices[i % 3])
            assert r.status_code == 201, r.text
            receipts[r.json()["receipt"]] = (case, choices[i % 3])
    close(stack, tokens, edition)

    # (the 404 from before the close may be kept a moment: it shows within seconds)
    r = wait_until(lambda: (lambda x: x if x.status_code == 200 else None)(
        ballots(stack, number)), 10, "the ballot list")
    assert r.headers["Content-Type"].startswith("text/csv")
    # (nginx may hold the edition as it was before the close for a moment)
    public = wait_until(lambda: (lambda d: d if d["tally"] else None)(requests.get(
        f"{stack.url}/api/public/editions/{number}", timeout=10).json()), 10, "the tally")
    tally = public["tally"]
    assert digest_of(r.content) == tally["digest"]
    assert r.headers["Repr-Digest"] == "sha-256=:" + __import__("base64").b64encode(
        hashlib.sha256(r.content).digest()).decode() + ":"
    text = r.content.decode("utf-8")
    assert not text.startswith("\ufeff") and "\r" not in text
    lines = text.split("\n")
    assert lines[0] == "case_id,choice,receipt" and lines[-1] == ""
    rows = [tuple(l.split(",")) for l in lines[1:-1]]
    assert rows == sorted(rows, key=lambda x: (int(x[0]), x[2])), "not in the documented order"
    assert {row[2]: (int(row[0]), row[1]) for row in rows} == receipts
    assert tally["votes"] == len(rows) == len(receipts)
    # nothing in it names a voter or an address
    for v in voters:
        assert v.cookie.split(".")[1] not in text
    # its counts are the public counts and the stored votes
    for c in public["cases"]:
        for choice, n in c["votes"].items():
            listed = sum(1 for row in rows if int(row[0]) == c["id"] and row[1] == choice)
            stored = sql_value(stack, "SELECT count(*) FROM votes WHERE case_id = %s AND "
                                      "choice = %s", (c["id"], choice))
            assert n == listed == stored == tally["counts"][str(c["id"])][choice]
    # the digest was fixed at close, in a record nobody may change
    conn = superuser(stack)
    try:
        cur = conn.cursor()
        cur.execute("UPDATE edition_tallies SET digest = digest WHERE edition_id = %s", (edition,))
    except Exception as e:  # noqa: BLE001 - the trigger's refusal is what we want
        assert e.pgcode == "42501" and "append-only" in str(e), e
    else:
        raise AssertionError("a recorded tally was changed")
    finally:
        conn.close()
    # the page says how to check it
    page = requests.get(f"{stack.url}/editions/{number}", timeout=10).text
    assert tally["digest"] in page and "sha256sum ballots.csv" in page
    assert f'/api/public/editions/{number}/ballots.csv' in page


def test_votes_racing_the_close_are_each_in_the_list_and_none_after(stack, tokens, voters_nginx):
    edition, number, cases = two_case_edition(stack, tokens)
    voters = [Voter(stack) for _ in range(60)]
    answers = []
    lock = threading.Lock()
    go = threading.Event()

    def vote(v):
        go.wait()
        r = v.vote(cases[0], "满意")
        with lock:
            answers.append(r)
    with ThreadPoolExecutor(16) as ex:
        futures = [ex.submit(vote, v) for v in voters]
        go.set()
        time.sleep(0.05)
        close(stack, tokens, edition)
        for f in futures:
            f.result()
    counted = [a.json()["receipt"] for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert counted, "no vote was counted before the close"
    assert all(a.status_code == 409 for a in refused), [a.text for a in refused]
    text = wait_until(lambda: (lambda x: x if x.status_code == 200 else None)(
        ballots(stack, number)), 10, "the ballot list").content.decode()
    listed = {line.split(",")[2] for line in text.split("\n")[1:-1]}
    assert listed == set(counted), "an accepted vote is missing from the list, or one is extra"
    assert sql_value(stack, "SELECT count(*) FROM votes WHERE case_id = %s", (cases[0],)) == \
        len(counted)
    # after the close, nobody votes, not even the application role itself
    late = Voter(stack)
    assert_problem(late.vote(cases[1], "满意"), 409, "voting-closed")


def test_a_vote_changed_behind_the_applications_back_is_seen(stack, tokens, voters_nginx):
    edition, number, cases = two_case_edition(stack, tokens)
    receipts = [Voter(stack).vote(cases[0], "满意").json()["receipt"] for _ in range(3)]
    close(stack, tokens, edition)
    honest = portalctl_tally(stack, number)
    assert honest.returncode == 0, honest.stdout + honest.stderr
    assert "OK" in honest.stdout
    recorded = wait_until(lambda: requests.get(f"{stack.url}/api/public/editions/{number}",
                                               timeout=10).json()["tally"], 10,
                          "the tally")["digest"]
    conn = superuser(stack)
    try:
        cur = conn.cursor()
        cur.execute("ALTER TABLE votes DISABLE TRIGGER votes_append_only")
        cur.execute("UPDATE votes SET choice = '不满意' WHERE receipt = %s", (receipts[1],))
        cur.execute("ALTER TABLE votes ENABLE TRIGGER votes_append_only")
    finally:
        conn.close()
    caught = portalctl_tally(stack, number)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "MISMATCH" in caught.stdout
    assert f"- {cases[0]},满意,{receipts[1]}" in caught.stdout
    assert f"+ {cases[0]},不满意,{receipts[1]}" in caught.stdout
    served = fresh_ballots(stack, number, digest_wanted=recorded)
    assert digest_of(served.content) != recorded, "the served list still matches its digest"
    missing = portalctl_tally(stack, 99999)
    assert missing.returncode == 2 and "no recorded tally" in missing.stderr


def test_the_district_exports_results_and_standings(stack, tokens, voters_nginx):
    edition, number, cases = two_case_edition(stack, tokens)
    for choice in ("满意", "满意", "满意", "不满意"):
        assert Voter(stack).vote(cases[0], choice).status_code == 201
    assert Voter(stack).vote(cases[1], "基本满意").status_code == 201
    for who in ("reviewer", "admin"):
        r = api(stack, "GET", f"/api/editions/{edition}/results", tokens[who])
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["total"] == 5 and doc["choices"] == ["满意", "基本满意", "不满意"]
        first = next(c for c in doc["cases"] if c["id"] == cases[0])
        assert first["votes"] == {"满意": 3, "基本满意": 0, "不满意": 1}
        assert first["total"] == 4 and first["first_choice_share"] == 0.75
        r = api(stack, "GET", f"/api/editions/{edition}/results.csv", tokens[who])
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf"), "no BOM: spreadsheets misread Chinese"
        assert "attachment" in r.headers["Content-Disposition"]
        table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        row = next(t for t in table if t["case_id"] == str(cases[0]))
        assert (row["满意"], row["不满意"], row["total"], row["share_满意"]) == \
            ("3", "1", "4", "0.7500")
        assert row["title"] == "计票案例一" and row["street"] == "沙井街道"
    r = api(stack, "GET", "/api/standings", tokens["reviewer"])
    assert r.status_code == 200
    mine = [s for s in r.json() if s["edition_number"] == number]
    assert {s["case_id"]: s["first_choice_share"] for s in mine} == {cases[0]: 0.75, cases[1]: 0}
    ranks = [s["rank"] for s in r.json()]
    assert ranks == sorted(ranks)
    r = api(stack, "GET", "/api/standings.csv", tokens["admin"])
    assert r.content.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:3] == ["rank", "edition", "case_id"]
    for path in (f"/api/editions/{edition}/results", "/api/standings.csv"):
        assert_problem(api(stack, "GET", path, tokens["shajing"]), 403, "forbidden")
        assert_problem(api(stack, "GET", path), 401, "unauthorized")


def version_of(stack, tokens, cid):
    return {"If-Match": api(stack, "GET", f"/api/cases/{cid}", tokens["reviewer"]).headers["ETag"]}


def test_a_reviewer_corrects_published_text_on_the_record(stack, tokens, voters_nginx):
    cid, edition, number = voting_case(stack, tokens, title="原来的标题")
    assert Voter(stack).vote(cid, "满意").status_code == 201
    before = requests.get(f"{stack.url}/api/public/cases/{cid}", timeout=10).json()
    url = f"/api/cases/{cid}/transitions"
    # refused: an editor, no reason, a draft, content on another action
    assert_problem(api(stack, "POST", url, tokens["shajing"], json={
        "action": "correct", "note": "改", "content": {"title": "x"}}), 403,
        "transition-forbidden")
    assert_problem(api(stack, "POST", url, tokens["reviewer"], json={
        "action": "correct", "note": "改", "content": {"title": "x"}}), 428,
        "precondition-required")  # a correction names the version it corrects
    assert_problem(api(stack, "POST", url, tokens["reviewer"], headers=version_of(
        stack, tokens, cid), json={"action": "correct", "content": {"title": "x"}}), 422,
        "validation-failed")
    assert_problem(api(stack, "POST", url, tokens["reviewer"], headers=version_of(
        stack, tokens, cid), json={"action": "correct", "note": "改", "content": {"title": 5}}),
        422, "validation-failed")
    # a correction leaves the case complete, and must change something
    for blank in ({"title": " "}, {"problem": ""}, {"actions": []},
                  {"testimonial": {"text": "", "speaker": "", "post": ""}}):
        body = assert_problem(api(stack, "POST", url, tokens["reviewer"], headers=version_of(
            stack, tokens, cid), json={"action": "correct", "note": "改", "content": blank}),
            422, "validation-failed")
        assert "still needs" in body["detail"], body
    assert_problem(api(stack, "POST", url, tokens["reviewer"], headers=version_of(
        stack, tokens, cid), json={"action": "correct", "note": "改",
                                   "content": {"title": "原来的标题", "testimonial": {}}}),
        422, "validation-failed")
    stale = version_of(stack, tokens, cid)
    draft = new_case(stack, tokens)
    assert_problem(api(stack, "POST", f"/api/cases/{draft}/transitions", tokens["reviewer"],
                       json={"action": "correct", "note": "改", "content": {"title": "x"}}),
                   404, "not-found")  # a reviewer cannot see a draft at all
    assert_problem(api(stack, "POST", url, tokens["reviewer"], json={
        "action": "close", "note": "x", "content": {"title": "x"}}), 422, "validation-failed")
    assert sql_value(stack, "SELECT title FROM cases WHERE id = %s", (cid,)) == "原来的标题"

    r = api(stack, "POST", url, tokens["reviewer"], headers=version_of(stack, tokens, cid), json={
        "action": "correct", "note": "标题有错别字", "content": {"title": "更正后的标题"}})
    assert r.status_code == 200, r.text
    # a second reviewer who read the case before sees it changed, never overwrites it
    assert_problem(api(stack, "POST", url, tokens["reviewer"], headers=stale, json={
        "action": "correct", "note": "另一处", "content": {"title": "另一个标题"}}), 412,
        "precondition-failed")
    assert r.json()["state"] == "voting"
    case = api(stack, "GET", f"/api/cases/{cid}", tokens["reviewer"]).json()
    assert case["title"] == "更正后的标题"
    events = api(stack, "GET", f"/api/cases/{cid}/events", tokens["reviewer"]).json()
    assert events[-1]["action"] == "correct" and events[-1]["note"] == "标题有错别字"
    assert events[-1]["from"] == events[-1]["to"] == "voting"
    revisions = api(stack, "GET", f"/api/cases/{cid}/revisions", tokens["reviewer"]).json()
    earlier = api(stack, "GET", f"/api/cases/{cid}/revisions/{revisions[-2]['version']}",
                  tokens["reviewer"]).json()
    assert earlier["content"]["title"] == "原来的标题", "the earlier text left the history"

    def shown():
        doc = requests.get(f"{stack.url}/api/public/cases/{cid}", timeout=10).json()
        return doc if doc["title"] == "更正后的标题" else None
    doc = wait_until(shown, 10, "the corrected case")
    assert [c["reason"] for c in doc["corrections"]] == ["标题有错别字"]
    assert doc["votes"] == before["votes"], "a correction touched the votes"
    page = wait_until(lambda: (lambda t: t if "更正" in t else None)(
        requests.get(f"{stack.url}/cases/{cid}", timeout=10).text), 10, "the page's 更正")
    assert "标题有错别字" in page and "更正后的标题" in page


def submit_and_approve(stack, tokens, cid, number, title):
    """Sends the draft cid to review and approves it into a new edition."""
    assert api(stack, "POST", f"/api/cases/{cid}/transitions", tokens["shajing"],
               json={"action": "submit"}).status_code == 200
    r = api(stack, "POST", "/api/editions", tokens["reviewer"],
            json={"number": number, "title": title})
    assert r.status_code == 201, r.text
    assert api(stack, "POST", f"/api/cases/{cid}/transitions", tokens["reviewer"],
               json={"action": "approve", "edition_id": r.json()["id"]}).status_code == 200
    return r.json()["id"]


def test_a_correction_removes_and_recaptions_published_photos(stack, tokens):
    from conftest import png_bytes, upload
    cid = new_case(stack, tokens, title="照片更正")
    etag = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"]).headers["ETag"]
    r = upload(stack, tokens["shajing"], cid, png_bytes(colour=(7, 8, 9)), etag, caption="第一张")
    assert r.status_code == 201, r.text
    r = upload(stack, tokens["shajing"], cid, png_bytes(colour=(9, 8, 7)), r.headers["ETag"],
               caption="第二张")
    assert r.status_code == 201, r.text
    first, second = [p["id"] for p in r.json()["photos"]]
    submit_and_approve(stack, tokens, cid, 9500 + cid % 400, "照片更正期")
    url = f"/api/cases/{cid}/transitions"
    for bad in ([{"id": first}, {"id": first}], [{"id": 999999}], [{"caption": "x"}], "x"):
        r = api(stack, "POST", url, tokens["reviewer"], headers=version_of(stack, tokens, cid),
                json={"action": "correct", "note": "删图", "content": {"photos": bad}})
        assert_problem(r, 422, "validation-failed")
    assert sql_value(stack, "SELECT count(*) FROM case_photos WHERE case_id = %s", (cid,)) == 2
    r = api(stack, "POST", url, tokens["reviewer"], headers=version_of(stack, tokens, cid), json={
        "action": "correct", "note": "第一张照片含有居民的面部,撤下",
        "content": {"photos": [{"id": second, "caption": "更正后的说明"}]}})
    assert r.status_code == 200, r.text
    doc = wait_until(lambda: (lambda d: d if len(d["photos"]) == 1 else None)(requests.get(
        f"{stack.url}/api/public/cases/{cid}", timeout=10).json()), 10, "the corrected photos")
    assert [(p["id"], p["caption"]) for p in doc["photos"]] == [(second, "更正后的说明")]
    assert doc["corrections"][-1]["reason"] == "第一张照片含有居民的面部,撤下"
    revisions = api(stack, "GET", f"/api/cases/{cid}/revisions", tokens["reviewer"]).json()
    earlier = api(stack, "GET", f"/api/cases/{cid}/revisions/{revisions[-2]['version']}",
                  tokens["reviewer"]).json()
    assert [p["caption"] for p in earlier["content"]["photos"]] == ["第一张", "第二张"]


def test_a_reviewer_replaces_a_published_picture_on_the_record(stack, tokens):
    from conftest import png_bytes, upload
    cid = new_case(stack, tokens, title="换图")
    etag = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"]).headers["ETag"]
    assert upload(stack, tokens["shajing"], cid, png_bytes(colour=(200, 1, 1)), etag,
                  caption="拍错的照片").status_code == 201
    submit_and_approve(stack, tokens, cid, 9950 + cid % 40, "换图期")
    old = api(stack, "GET", f"/api/cases/{cid}", tokens["reviewer"]).json()["photos"]
    assert [p["caption"] for p in old] == ["拍错的照片"]
    new_picture = png_bytes(colour=(3, 141, 59))
    etag = version_of(stack, tokens, cid)["If-Match"]
    path = f"/api/cases/{cid}/photos?caption=新照片"
    # a reason is required; an editor may not; a reviewer cannot reach a draft
    assert_problem(api(stack, "POST", path, tokens["reviewer"], data=new_picture,
                       headers={"Content-Type": "image/png", "If-Match": etag}), 422,
                   "validation-failed")
    # the reason is checked as a correction's note is, and kept short enough
    # for the request line (500 characters)
    from urllib.parse import quote
    for bad in ("换图\x07理由", "长" * 501):
        body = assert_problem(api(stack, "POST", path + "&reason=" + quote(bad), tokens["reviewer"],
                                  data=new_picture,
                                  headers={"Content-Type": "image/png", "If-Match": etag}),
                              422)
        assert [e["field"] for e in body["errors"]] == ["reason"], body
    assert api(stack, "GET", f"/api/cases/{cid}", tokens["reviewer"]).json()["photos"] == old, \
        "a refused picture changed the case"
    assert version_of(stack, tokens, cid)["If-Match"] == etag, "a refused picture made a version"
    assert_problem(upload(stack, tokens["shajing"], cid, new_picture, etag), 409, "not-editable")
    draft = new_case(stack, tokens)
    assert_problem(api(stack, "POST", f"/api/cases/{draft}/photos?reason=x", tokens["reviewer"],
                       data=new_picture, headers={"Content-Type": "image/png", "If-Match": '"1"'}),
                   404, "not-found")
    r = api(stack, "POST", path + "&reason=原照片拍错了社区", tokens["reviewer"], data=new_picture,
            headers={"Content-Type": "image/png", "If-Match": etag})
    assert r.status_code == 201, r.text
    added = [p for p in r.json()["photos"] if p["caption"] == "新照片"]
    assert len(added) == 1
    keep = [{"id": added[0]["id"]}]
    r = api(stack, "POST", f"/api/cases/{cid}/transitions", tokens["reviewer"],
            headers={"If-Match": r.headers["ETag"]},
            json={"action": "correct", "note": "撤下拍错的照片", "content": {"photos": keep}})
    assert r.status_code == 200, r.text
    doc = wait_until(lambda: (lambda d: d if [p["caption"] for p in d["photos"]] == ["新照片"]
                              else None)(requests.get(f"{stack.url}/api/public/cases/{cid}",
                                                      timeout=10).json()), 10, "the new picture")
    assert requests.get(stack.url + doc["photos"][0]["url"], timeout=10).content == new_picture
    assert [c["reason"] for c in doc["corrections"]][-2:] == ["原照片拍错了社区", "撤下拍错的照片"]
    events = api(stack, "GET", f"/api/cases/{cid}/events", tokens["reviewer"]).json()
    assert [e["action"] for e in events][-2:] == ["correct", "correct"]
    assert all(p["id"] != added[0]["id"] for p in old)


def test_a_reviewer_replaces_a_picture_in_place_in_one_correction(stack, tokens):
    """?replaces= puts the upload in the old photo's place (position, and
    caption unless given) as one event and one revision: the public never
    sees both pictures, nor two 更正 for one change. A bad replaces, another
    case's photo, the same picture again, an editor's replaces or a stale
    version is refused and changes nothing."""
    from urllib.parse import quote
    from conftest import png_bytes, upload
    cid = new_case(stack, tokens, title="原地换图")
    etag = api(stack, "GET", f"/api/cases/{cid}", tokens["shajing"]).headers["ETag"]
    pictures = [png_bytes(colour=(11, 22, c)) for c in (1, 2, 3)]
    for n, picture in enumerate(pictures):
        r = upload(stack, tokens["shajing"], cid, picture, etag, caption=f"第{n + 1}张")
        assert r.status_code == 201, r.text
        etag = r.headers["ETag"]
    submit_and_approve(stack, tokens, cid, 9900 + cid % 50, "原地换图期")
    other = new_case(stack, tokens, title="别的案例")
    r = upload(stack, tokens["shajing"], other, png_bytes(colour=(5, 5, 5)),
               api(stack, "GET", f"/api/cases/{other}", tokens["shajing"]).headers["ETag"])
    assert r.status_code == 201, r.text
    others_photo = r.json()["photos"][0]["id"]
    old = api(stack, "GET", f"/api/cases/{cid}", tokens["reviewer"]).json()["photos"]
    middle = old[1]["id"]
    etag = version_of(stack, tokens, cid)["If-Match"]
    events = len(api(stack, "GET", f"/api/cases/{cid}/events", tokens["reviewer"]).json())
    new_picture = png_bytes(colour=(200, 100, 50))
    reason = "&reason=" + quote("第二张照片拍错了地方")

    def send(query, picture=new_picture, token=tokens["reviewer"], version=etag):
        return api(stack, "POST", f"/api/cases/{cid}/photos?{query}", token, data=picture,
                   headers={"Content-Type": "image/png", "If-Match": version})

    for query, picture, field in (
            (f"replaces=abc{reason}", new_picture, "replaces"),
            (f"replaces=0{reason}", new_picture, "replaces"),
            (f"replaces=99999999999999999999{reason}", new_picture, "replaces"),
            (f"replaces=999999999{reason}", new_picture, "replaces"),
            (f"replaces={others_photo}{reason}", new_picture, "replaces"),
            # named, but not as one id: never added beside the old one instead
            (f"replaces={reason}", new_picture, "replaces"),
            (f"replaces{reason}", new_picture, "replaces"),
            (f"replaces=%zz{reason}", new_picture, "replaces"),
            (f"replaces={middle}%00{reason}", new_picture, "replaces"),
            (f"replaces={middle}&replaces={old[0]['id']}{reason}", new_picture, "replaces"),
            (f"replaces={middle}{reason}", pictures[1], "replaces")):  # the same picture again
        body = assert_problem(send(query, picture), 422, "validation-failed")
        assert [e["field"] for e in body["errors"]] == [field], (query, body)
    assert_problem(send(f"replaces={middle}{reason}", version='"1"'), 412)
    body = assert_problem(api(stack, "POST", f"/api/cases/{other}/photos?replaces",
                              tokens["shajing"], data=new_picture,
                              headers={"Content-Type": "image/png",
                                       "If-Match": api(stack, "GET", f"/api/cases/{other}",
                                                       tokens["shajing"]).headers["ETag"]}),
                          422, "validation-failed")
    assert [e["field"] for e in body["errors"]] == ["replaces"]
    assert api(stack, "GET", f"/api/cases/{cid}", tokens["reviewer"]).json()["photos"] == old, \
        "a refused replacement changed the case"
    assert version_of(stack, tokens, cid)["If-Match"] == etag, "a refused replacement made a version"
    assert len(api(stack, "GET", f"/api/cases/{cid}/events", tokens["reviewer"]).json()) == events

    r = send(f"replaces={middle}{reason}")
    assert r.status_code == 201, r.text
    now = r.json()["photos"]
    assert [p["caption"] for p in now] == ["第1张", "第2张", "第3张"], "the caption was not kept"
    assert [p["id"] for p in now][0::2] == [old[0]["id"], old[2]["id"]]
    assert now[1]["id"] not in [p["id"] for p in old]
    doc = wait_until(lambda: (lambda d: d if d["photos"][1]["id"] == now[1]["id"] else None)(
        requests.get(f"{stack.url}/api/public/cases/{cid}", timeout=10).json()), 10,
        "the replaced picture")
    assert requests.get(stack.url + doc["photos"][1]["url"], timeout=10).content == new_picture
    assert [c["reason"] for c in doc["corrections"]] == ["第二张照片拍错了地方"]
    history = api(stack, "GET", f"/api/cases/{cid}/events", tokens["reviewer"]).json()
    assert len(history) == events + 1 and history[-1]["action"] == "correct"
    revisions = api(stack, "GET", f"/api/cases/{cid}/revisions", tokens["reviewer"]).json()
    earlier = api(stack, "GET", f"/api/cases/{cid}/revisions/{revisions[-2]['version']}",
                  tokens["reviewer"]).json()
    assert ["/api/photos/" + p["sha256"] for p in earlier["content"]["photos"]] == \
        [p["url"] for p in old], "the revision before the replacement lost the old picture"
    # a caption given with the replacement is the new picture's
    r = send(f"replaces={now[1]['id']}&caption={quote('换过的说明')}{reason}",
             picture=png_bytes(colour=(1, 2, 250)), version=r.headers["ETag"])
    assert r.status_code == 201, r.text
    assert [p["caption"] for p in r.json()["photos"]] == ["第1张", "换过的说明", "第3张"]


def test_a_portald_from_before_replaces_can_still_send_a_correction_upload(stack):
    """Between `portalctl migrate` and a restart, a portald built before
    migration 0018 calls case_photo_correct with nine arguments: it must
    find the function (here: a case no one can see, so not_found), not fail
    with 'function does not exist'."""
    from conftest import app_conn
    with app_conn(stack, "reviewer") as (conn, cur):
        cur.execute("SELECT outcome FROM case_photo_correct(%s::bigint, %s, 'image/png', 1, 1, "
                    "'\\x00'::bytea, NULL, 'x', 1)", (2 ** 62, "0" * 64))
        assert cur.fetchone() == ("not_found",)
