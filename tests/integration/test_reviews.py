"""Blind review bookkeeping on the real database: order is hidden, answers map to real/twin, numbers add up."""

import pytest

from doppel.config import Settings
from doppel.db import Database
from doppel.evaluation.reviews import ReviewError, next_pair, save_pairs, submit_review

PAIRS = [{"pair_id": f"p{i}", "prompt": f"prompt {i}", "real": f"real {i}", "twin": f"twin {i}"} for i in range(4)]


@pytest.fixture
def db(database_url, tmp_path):
    database = Database(Settings(home=tmp_path / "home", database_url=database_url))
    database.ensure_schema()
    return database


def test_a_reviewer_walks_every_pair_once_and_the_numbers_follow(db, tmp_path):
    folder = tmp_path / "evaluation"
    save_pairs(folder, PAIRS)
    seen, orders = [], set()
    for _ in range(len(PAIRS)):
        pair = next_pair(db, folder, "t", "v1.0", "ana")
        assert not pair["done"] and pair["remaining"] == len(PAIRS) - len(seen)
        texts = {r["label"]: r["text"] for r in pair["replies"]}
        real_label = next(label for label, text in texts.items() if text.startswith("real"))
        orders.add(real_label)
        # Ana always picks the twin's reply: she could not tell.
        twin_label = "2" if real_label == "1" else "1"
        result = submit_review(
            db, folder, "t", "v1.0", pair_id=pair["pair_id"], reviewer="ana", picked=twin_label, score=8
        )
        assert result["verdict"] == "twin" and result["real"] == real_label
        seen.append(pair["pair_id"])
    assert sorted(seen) == sorted(p["pair_id"] for p in PAIRS)
    assert next_pair(db, folder, "t", "v1.0", "ana") == {
        "done": True,
        "twin": "t",
        "version": "v1.0",
        "remaining": 0,
        "total": 4,
    }
    human = result["human"]
    assert human["reviews"] == 4 and human["share_fooled"] == 1.0 and human["mean_score"] == 8.0
    assert human["small_sample"] is True and human["reviewers"] == 1

    # A second reviewer who always spots the real one pulls the share down; answering again replaces.
    pair = next_pair(db, folder, "t", "v1.0", "bo")
    real_label = next(r["label"] for r in pair["replies"] if r["text"].startswith("real"))
    submit_review(db, folder, "t", "v1.0", pair_id=pair["pair_id"], reviewer="bo", picked="cant_tell", score=2)
    again = submit_review(db, folder, "t", "v1.0", pair_id=pair["pair_id"], reviewer="bo", picked=real_label, score=4)
    assert again["verdict"] == "real"
    assert again["human"]["reviews"] == 5 and again["human"]["share_fooled"] == pytest.approx(4 / 5)
    assert again["human"]["mean_score"] == pytest.approx((8 * 4 + 4) / 5)


def test_the_blind_order_varies_and_is_stable(db, tmp_path):
    folder = tmp_path / "evaluation"
    save_pairs(folder, [{"pair_id": f"p{i}", "prompt": "q", "real": "R", "twin": "T"} for i in range(40)])
    firsts = set()
    for reviewer in ("a", "b", "c"):
        pair = next_pair(db, folder, "t", "v1.0", reviewer)
        assert pair == next_pair(db, folder, "t", "v1.0", reviewer)  # the same until answered
        firsts.add(pair["pair_id"])
    # The real reply is first for some pairs and second for others.
    labels = set()
    for i in range(40):
        submit = submit_review(db, folder, "t", "v1.0", pair_id=f"p{i}", reviewer="z", picked="1", score=5)
        labels.add(submit["verdict"])
    assert labels == {"real", "twin"}
    # Saving pairs again (a re-evaluation) keeps the salt, so answers in flight keep their meaning.
    salt = (folder / "pairs.json").read_text()
    save_pairs(folder, [{"pair_id": "p0", "prompt": "q", "real": "R", "twin": "T"}])
    assert salt.split('"salt": ')[1][:34] in (folder / "pairs.json").read_text()


def test_bad_answers_and_unevaluated_versions(db, tmp_path):
    with pytest.raises(ReviewError, match="not been evaluated") as err:
        next_pair(db, tmp_path / "nothing", "t", "v1.0", "ana")
    assert err.value.status == 404
    folder = tmp_path / "evaluation"
    save_pairs(folder, PAIRS)
    for kwargs, field in (
        ({"picked": "3", "score": 5}, "picked"),
        ({"picked": "1", "score": 11}, "score"),
        ({"picked": "1", "score": 5, "reviewer": " "}, "reviewer"),
    ):
        with pytest.raises(ReviewError) as err:
            submit_review(db, folder, "t", "v1.0", pair_id="p0", **{"reviewer": "ana", **kwargs})
        assert err.value.field == field
    with pytest.raises(ReviewError) as err:
        submit_review(db, folder, "t", "v1.0", pair_id="nope", reviewer="ana", picked="1", score=5)
    assert err.value.status == 404 and err.value.field == "pair_id"
