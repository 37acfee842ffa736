"""Each rule kind with a hit and a near miss, the lanes and the random share: pure functions,
no database."""

import datetime
from dataclasses import replace
from decimal import Decimal

import pytest

from clearance.risk.rules import (
    Facts,
    LineFacts,
    Reference,
    Rule,
    Thresholds,
    evaluate,
    pick_lane,
    random_draw,
    validate_params,
)

NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)

LINE = LineFacts(
    description="Wireless bluetooth headphones",
    hs_code="851830",
    quantity=Decimal(2),
    value=Decimal(100000),
    gross_mass_kg=Decimal("0.6"),
    origin_country="CN",
)
FACTS = Facts(
    declaration_id=1,
    version=1,
    submitted_at=NOW,
    customs_value=Decimal(100000),
    seller_name="Shenzhen Audio Ltd",
    seller_country="CN",
    consignee_id="P123",
    consignee_name="Kim Min-jun",
    platform="Shop Example",
    organisation_name="Lee Goods",
    lines=(LINE,),
)
NO_RANDOM = Thresholds(yellow_from=30, red_from=70, random_share=Decimal(0))


def hits(kind, params, facts=FACTS, references=None):
    rule = Rule(id=7, kind=kind, params=params, points=40, reason="{value} / {limit} / {detail}")
    assert validate_params(kind, params) == []
    return evaluate(facts, [rule], NO_RANDOM, references or {}).hits


def with_line(**changes):
    return replace(FACTS, lines=(replace(LINE, **changes),))


def test_hs_prefix_hits_a_listed_prefix_and_misses_its_neighbour():
    assert hits("hs_prefix", {"prefixes": ["8518"]})[0].reason.startswith("851830")
    assert hits("hs_prefix", {"prefixes": ["8519"]}) == ()


def test_origin_hits_the_goods_origin_or_the_route():
    assert hits("origin", {"countries": ["CN"], "basis": "origin"})
    shipped_via = replace(FACTS, seller_country="HK")
    assert hits("origin", {"countries": ["HK"], "basis": "route"}, facts=shipped_via)
    assert hits("origin", {"countries": ["HK"], "basis": "origin"}, facts=shipped_via) == ()


def test_watch_list_hits_consignee_seller_or_platform_ignoring_case():
    assert hits("watch_list", {"party": "consignee", "names": ["kim min-jun"]})
    assert hits("watch_list", {"party": "seller", "names": ["SHENZHEN AUDIO LTD"]})
    assert hits("watch_list", {"party": "platform", "names": ["Shop Example"]})
    assert hits("watch_list", {"party": "seller", "names": ["Shenzhen Audio"]}) == ()


def test_new_filer_hits_its_first_declarations_only():
    assert hits("new_filer", {"first": 3}, facts=replace(FACTS, filer_position=3))
    assert hits("new_filer", {"first": 3}, facts=replace(FACTS, filer_position=4)) == ()
    assert hits("new_filer", {"first": 3}, facts=replace(FACTS, filer_position=None)) == ()


def test_undervaluation_compares_the_price_per_kg_with_enough_samples():
    # 100,000 for 0.6 kg is 166,667 per kg.
    reference = {"851830": Reference(per_kg=Decimal(700000), per_unit=None, samples=10)}
    params = {"ratio": "0.25", "min_samples": 10}
    assert hits("undervaluation", params, references=reference)
    just_above = {"851830": Reference(per_kg=Decimal(666000), per_unit=None, samples=10)}
    assert hits("undervaluation", params, references=just_above) == ()
    too_few = {"851830": Reference(per_kg=Decimal(700000), per_unit=None, samples=9)}
    assert hits("undervaluation", params, references=too_few) == ()


def test_undervaluation_compares_the_price_per_unit():
    # 100,000 for 2 units is 50,000 a unit: a quarter of 200,000 exactly is not below it.
    reference = {"851830": Reference(per_kg=None, per_unit=Decimal(200000), samples=50)}
    assert hits("undervaluation", {"ratio": "0.25"}, references=reference) == ()
    reference = {"851830": Reference(per_kg=None, per_unit=Decimal(200004), samples=50)}
    assert hits("undervaluation", {"ratio": "0.25"}, references=reference)


def test_near_threshold_hits_a_value_just_under_the_limit():
    params = {"limit": "200000", "within_percent": "5"}
    assert hits("near_threshold", params, facts=replace(FACTS, customs_value=Decimal(190000)))
    assert hits("near_threshold", params, facts=replace(FACTS, customs_value=Decimal(189999))) == ()
    assert hits("near_threshold", params, facts=replace(FACTS, customs_value=Decimal(200000))) == ()


def test_near_threshold_uses_the_regime_limit_when_the_rule_names_none():
    facts = replace(FACTS, customs_value=Decimal(198000), threshold=Decimal(200000))
    assert hits("near_threshold", {"within_percent": "5"}, facts=facts)
    assert hits("near_threshold", {"within_percent": "0.5"}, facts=facts) == ()


def test_split_shipment_counts_the_consignees_parcels_in_the_window():
    params = {"parcels": 3, "days": 3}
    two_before = (NOW - datetime.timedelta(days=1), NOW - datetime.timedelta(days=2))
    assert hits("split_shipment", params, facts=replace(FACTS, consignee_parcels=two_before))
    one_too_old = (NOW - datetime.timedelta(days=1), NOW - datetime.timedelta(days=4))
    assert hits("split_shipment", params, facts=replace(FACTS, consignee_parcels=one_too_old)) == ()


def test_description_hits_a_vague_word_or_a_text_unlike_its_hs_code():
    params = {"vague_words": ["gift"], "min_letters": 4, "match_hs": True}
    assert hits("description", params, facts=with_line(description="Gift"))
    assert hits("description", params, facts=with_line(description="Car tyres"))
    assert hits("description", params) == ()


def test_description_hits_a_text_with_too_few_letters():
    params = {"min_letters": 4, "match_hs": False}
    assert hits("description", params, facts=with_line(description="ab-123"))
    assert hits("description", params, facts=with_line(description=" 1 a b c "))
    assert hits("description", params, facts=with_line(description="abcd-123")) == ()


def test_weight_value_hits_goods_too_cheap_for_their_weight():
    assert hits("weight_value", {"min_per_kg": "1000"}, facts=with_line(gross_mass_kg=Decimal(101)))
    assert (
        hits("weight_value", {"min_per_kg": "1000"}, facts=with_line(gross_mass_kg=Decimal(99)))
        == ()
    )


def test_other_agency_goods_are_referred_and_never_green():
    params = {"prefixes": ["3004"], "agency": "Ministry of Food and Drug Safety"}
    medicine = with_line(hs_code="300490", description="Vitamin tablets, medicaments")
    rule = Rule(id=1, kind="other_agency", params=params, points=5, reason="{detail}")
    score = evaluate(medicine, [rule], NO_RANDOM, {})
    assert score.refer and score.lane == "yellow"
    assert score.hits[0].reason == "Ministry of Food and Drug Safety"
    assert hits("other_agency", {"prefixes": ["3003"], "agency": "MFDS"}, facts=medicine) == ()


def test_points_add_up_and_thresholds_pick_the_lane():
    rules = [
        Rule(id=1, kind="hs_prefix", params={"prefixes": ["85"]}, points=40, reason="a"),
        Rule(id=2, kind="origin", params={"countries": ["CN"]}, points=30, reason="b"),
    ]
    score = evaluate(FACTS, rules, NO_RANDOM, {})
    assert (score.points, score.lane) == (70, "red")
    assert [h.to_dict()["reason"] for h in score.hits] == ["a", "b"]
    assert evaluate(FACTS, rules[:1], NO_RANDOM, {}).lane == "yellow"
    assert evaluate(FACTS, [], NO_RANDOM, {}).lane == "green"


def test_a_reason_template_with_a_stray_brace_is_shown_as_written():
    rule = Rule(id=1, kind="hs_prefix", params={"prefixes": ["85"]}, points=1, reason="odd {")
    assert evaluate(FACTS, [rule], NO_RANDOM, {}).hits[0].reason == "odd {"


def test_the_random_share_of_green_declarations_goes_to_yellow_within_tolerance():
    thresholds = Thresholds(random_share=Decimal("0.02"))
    picked = [pick_lane(0, thresholds, random_draw(pk, 1)) for pk in range(1, 10_001)]
    selected = sum(1 for lane, random in picked if random)
    assert all(lane == "yellow" for lane, random in picked if random)
    # 2% of 10,000 is 200; three standard deviations (sqrt(196) = 14) either side.
    assert 158 <= selected <= 242


def test_the_random_draw_is_the_same_each_time_a_version_is_scored():
    assert random_draw(42, 3) == random_draw(42, 3)
    assert random_draw(42, 3) != random_draw(42, 4)


def test_a_declaration_above_the_yellow_threshold_is_never_marked_random():
    assert pick_lane(30, Thresholds(random_share=Decimal(1)), 0.0) == ("yellow", False)


@pytest.mark.parametrize(
    ("kind", "params", "problem"),
    [
        ("hs_prefix", {"prefixes": ["85x"]}, "Parameter prefixes is not a valid digits value."),
        ("new_filer", {}, "Parameter first is required."),
        ("new_filer", {"first": 3, "extra": 1}, "Unknown parameter: extra."),
        (
            "watch_list",
            {"party": "nobody", "names": ["a"]},
            "Parameter party is not a valid party value.",
        ),
        ("teleport", {}, "Unknown kind of rule: teleport."),
    ],
)
def test_rule_parameters_are_checked_for_their_kind(kind, params, problem):
    assert problem in validate_params(kind, params)
