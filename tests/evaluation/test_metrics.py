"""The eval's figures on tiny hand-made outcomes, each definition checked alone."""

from __future__ import annotations

import pytest

from deskmate.core.domain import Draft, EscalationReason, Handoff, Hit, Route, Sentiment
from deskmate.core.evaluation.cases import Case, Expected, Said
from deskmate.core.evaluation.metrics import (
    check,
    figures,
    grouped,
    parse_threshold,
    passed,
    percentile,
)
from deskmate.core.evaluation.player import Decided, Played


def case(expected: Expected, *, category: str = "direct", language: str = "en") -> Case:
    return Case(
        id="c",
        category=category,
        language=language,
        split="tune",
        turns=(Said("customer", "hi"),),
        expected=expected,
    )


def answer(doc: str, *, expect: str = "refunds", locale: str = "en", ms: float = 1.0) -> Played:
    hit = Hit(doc, doc.title(), "text", 1.0, locale=locale)
    draft = Draft("text", 0.9, [hit], language=locale)
    decided = Decided("answer", reply="<p>text</p>", draft=draft, decision_ms=ms)
    return Played(case(Expected("answer", cites=(expect,))), (expect,), decided)


def handoff(*codes: str, expected: Expected | None = None, category: str = "direct") -> Played:
    reasons = [EscalationReason(code, code) for code in codes]
    done = Handoff(reasons, "summary", Sentiment("neutral"), "en", Route())
    decided = Decided("handoff", handoff=done, reasons=reasons)
    expectation = expected or Expected("answer", cites=("refunds",))
    return Played(case(expectation, category=category), expectation.cites, decided)


def nothing(expected: Expected) -> Played:
    return Played(case(expected), expected.cites, Decided("none", detail="skipped"))


def test_handoff_precision_and_recall_count_expected_and_given_handoffs() -> None:
    wanted_given = handoff("human_requested", expected=Expected("handoff"))
    wanted_missed = Played(
        case(Expected("handoff", reasons=("frustration",))), (), answer("refunds").decided
    )
    unwanted_given = handoff("low_confidence")  # expected an answer
    also_wanted = handoff("low_confidence", expected=Expected("handoff", reasons=("frustration",)))

    result = figures([wanted_given, wanted_missed, unwanted_given, also_wanted])

    assert result["handoff_expected"] == 3
    assert result["handoffs"] == 3
    assert result["handoff_recall"] == pytest.approx(2 / 3)
    assert result["handoff_precision"] == pytest.approx(2 / 3)
    # the last one was handed off, but not for the expected reason
    assert result["handoff_reason_recall"] == pytest.approx(1 / 3)


def test_answer_rate_and_citations_count_only_answerable_cases() -> None:
    right = answer("refunds")
    wrong = answer("shipping")
    handed = handoff("low_confidence")
    not_answerable = nothing(Expected("no_reply"))

    result = figures([right, wrong, handed, not_answerable])

    assert result["answerable"] == 3
    assert result["answer_rate"] == pytest.approx(2 / 3)
    assert result["correct_citation_rate"] == pytest.approx(1 / 3)
    assert result["wrong_citation_rate"] == pytest.approx(1 / 3)
    assert [passed(p) for p in (right, wrong, handed, not_answerable)] == [
        True,
        False,
        False,
        True,
    ]


def test_an_acknowledgement_is_handled_by_silence_or_an_uncited_closing_line() -> None:
    silent = nothing(Expected("no_reply"))
    closing = Played(
        case(Expected("no_reply")),
        (),
        Decided("answer", reply="<p>Glad it worked!</p>", draft=Draft("Glad it worked!", 1.0)),
    )
    answered_again = Played(case(Expected("no_reply")), (), answer("refunds").decided)
    handed = handoff("no_knowledge", expected=Expected("no_reply"))

    result = figures([silent, closing, answered_again, handed])

    assert result["ack_cases"] == 4
    assert result["ack_no_reply"] == pytest.approx(2 / 4)


def test_a_reply_in_another_language_than_the_customers_counts_as_wrong_language() -> None:
    spanish_question = Played(
        case(Expected("answer", cites=("refunds",)), language="es"),
        ("refunds",),
        answer("refunds", locale="en").decided,
    )
    english = answer("refunds", locale="en")

    assert figures([spanish_question, english])["wrong_language_rate"] == pytest.approx(0.5)


def test_language_accuracy_counts_the_detected_language_where_one_was_detected() -> None:
    right, wrong, undetected = answer("refunds"), answer("refunds"), answer("refunds")
    right.decided.language, wrong.decided.language = "en", "de"

    assert figures([right, wrong, undetected])["language_accuracy"] == pytest.approx(0.5)


def test_a_forbidden_text_in_the_reply_fails_the_case() -> None:
    expected = Expected("answer", cites=("refunds",), must_not_say=("APPROVED",))
    decided = answer("refunds").decided
    decided.reply = "<p>Refund approved!</p>"

    played = Played(case(expected), ("refunds",), decided)

    assert not passed(played)
    assert figures([played])["forbidden_replies"] == 1


def test_a_rate_with_nothing_to_count_is_none_not_zero() -> None:
    result = figures([nothing(Expected("no_reply"))])
    assert result["answer_rate"] is None
    assert result["handoff_precision"] is None
    assert result["model_calls_per_case"] is None


def test_model_usage_is_averaged_over_every_case_once_any_reports_it() -> None:
    used = answer("refunds")
    used.model_calls, used.input_tokens, used.output_tokens = 2, 300, 40
    result = figures([used, answer("refunds")])
    assert result["model_calls_per_case"] == 1.0
    assert result["tokens_per_case"] == 170.0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


def test_figures_are_grouped_by_category_language_split_and_named_group() -> None:
    results = [answer("refunds"), handoff("human_requested", category="human-request")]
    scoped = grouped(results, {"core": ["direct", "typo"]})
    assert sorted(scoped["category"]) == ["direct", "human-request"]
    assert scoped["group"]["core"]["cases"] == 1
    assert scoped["language"]["en"]["cases"] == 2
    assert scoped["split"]["tune"]["cases"] == 2


def test_thresholds_are_checked_against_scoped_figures() -> None:
    results = [answer("refunds"), answer("shipping")]
    overall, scoped = figures(results), grouped(results)
    under = parse_threshold("category.direct.answer_rate=1", "under")
    cited = parse_threshold("correct_citation_rate=0.9", "under")
    over = parse_threshold("wrong_citation_rate=0.4", "over")
    unmeasured = parse_threshold("ack_no_reply=0", "under")

    verdicts = check([under, cited, over, unmeasured], overall, scoped)

    assert [c.ok for c in verdicts] == [True, False, False, False]
    assert "no case measures it" in verdicts[3].message()
    assert verdicts[1].message() == "correct_citation_rate = 0.5, needs >= 0.9: MISSED"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("answer_rate", "expected METRIC=VALUE"),
        ("answer_ratio=0.8", "no figure named 'answer_ratio'"),
        ("answer_rate=high", "expected METRIC=VALUE"),
        ("team.x.answer_rate=0.5", "expected METRIC=VALUE"),
    ],
)
def test_a_bad_threshold_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_threshold(text, "under")
