"""comodo.study.paper: the authors' numbers, read from the repository's copy and mapped to our names."""

from __future__ import annotations

from comodo.study import paper


def test_file_lives_in_the_repository_with_its_source():
    assert paper.PATH.parts[-3:] == ("data", "paper", "paper_results.json")
    assert paper.PATH.exists()
    assert "Breezelled/COMODO" in paper.source()


def test_rows_use_our_names():
    df = paper.rows()
    assert len(df) == len(paper.load()["rows"])
    assert (df["source"] == "authors").all()
    assert set(df["eval_dataset"]) == {"ego4d", "egoexo4d", "mmea"}
    assert {"comodo", "infonce", "l2", "none", "supervised"} <= set(df["method"])
    assert ((df["acc1"] >= 0) & (df["acc1"] <= df["acc3"]) & (df["acc3"] <= df["acc5"]) & (df["acc5"] <= 1)).all()


def test_filters():
    df = paper.rows(method="comodo", dataset="mmea", student="mantis", teacher="timesformer")
    assert len(df) and (df["method"] == "comodo").all() and (df["eval_dataset"] == "mmea").all()
    assert (df["student"] == "paris-noah/Mantis-8M").all()
    cross = paper.rows(method="comodo", in_domain=False)
    assert len(cross) and (cross["train_dataset"] != cross["eval_dataset"]).all()
    # the untrained student's rows carry no train dataset: they count as in-domain
    assert len(paper.rows(method="none", in_domain=True)) == len(paper.rows(method="none"))


def test_selections_for_the_figures():
    q = paper.queue_size_rows()
    assert set(q["eval_dataset"]) == {"ego4d", "egoexo4d", "mmea"} and (q["queue_size"] >= 256).all()
    m = paper.method_rows()
    assert set(m["method"]) == {"comodo", "infonce", "l2", "none", "supervised"}
    assert len(m) == 15  # 5 methods × 3 datasets
    c = paper.cross_rows()
    assert ((c["train_dataset"] == "ego4d") & (c["eval_dataset"] == "mmea")).any()
    r = paper.reduction_rows("moment")
    assert set(r["reduction"]) == {"concat", "mean"} and len(r) == 6
    assert paper.label().startswith("authors") and "Mantis" in paper.label()
