"""Property-based tests of the Accept header parser and format=auto's choice: any text parses without raising,
well-formed parts are read exactly, malformed ones are ignored, case never matters and q=0 is a refusal."""

import string

from hypothesis import given
from hypothesis import strategies as st
from imgplat_common.models import RENDITION_MIME_TYPES
from imgplat_retrieval.negotiation import MediaRange, negotiate_format, parse_accept, quality_of

PREFERENCE = ("avif", "webp", "jpeg")
FORMAT_SETS = st.sets(st.sampled_from(PREFERENCE), min_size=1).map(sorted)

token_chars = string.ascii_letters + string.digits + "-+."
tokens = st.text(alphabet=token_chars, min_size=1, max_size=12)
named_types = st.sampled_from(["image/avif", "image/webp", "image/jpeg", "image/png", "text/html", "application/json"])
media_types = st.one_of(
    named_types,
    st.sampled_from(["image/*", "*/*"]),
    st.tuples(tokens, tokens).map("/".join),
)
# Every q-value RFC 9110 allows: 0 to 1, at most three decimals.
q_values = st.integers(min_value=0, max_value=1000).map(lambda thousandths: thousandths / 1000)


def q_text(quality: float) -> str:
    return f"{quality:.3f}".rstrip("0").rstrip(".") if quality not in (0, 1) else str(int(quality))


well_formed_parts = st.tuples(media_types, q_values, st.booleans()).map(
    lambda part: (part[0], part[1], part[0] + (f";q={q_text(part[1])}" if part[2] or part[1] != 1 else ""))
)
malformed_parts = st.sampled_from(
    [
        "",
        "image",
        "/avif",
        "image/",
        "*/avif",
        "image/avif;q=2",
        "image/avif;q=-1",
        "image/avif;q=0.1234",
        "image/avif;q=abc",
        "image/avif;q",
        "image avif",
        "im@ge/avif",
        "image/avif/x",
        "image/\u212avif",
    ]
)


@given(st.text(max_size=300))
def test_any_text_parses_without_raising_into_ranges_of_valid_weight(header):
    for media_range in parse_accept(header):
        assert 0 <= media_range.quality <= 1
        assert media_range.kind == media_range.kind.lower() and media_range.subtype == media_range.subtype.lower()


@given(st.text(max_size=200), FORMAT_SETS)
def test_any_text_chooses_one_of_the_available_formats_or_none(header, available):
    chosen = negotiate_format(header, available, RENDITION_MIME_TYPES, PREFERENCE)
    assert chosen is None or chosen in available


@given(st.lists(well_formed_parts, max_size=8))
def test_well_formed_parts_are_read_exactly_in_order(parts):
    header = ", ".join(text for _, _, text in parts)

    parsed = parse_accept(header)

    assert [(f"{r.kind}/{r.subtype}", r.quality) for r in parsed] == [(name.lower(), q) for name, q, _ in parts]


@given(st.lists(well_formed_parts, max_size=6), st.lists(malformed_parts, min_size=1, max_size=4), st.randoms())
def test_malformed_parts_are_ignored(parts, garbage, random):
    mixed = [text for _, _, text in parts] + garbage
    random.shuffle(mixed)
    cleaned = [text for text in mixed if text not in garbage]

    assert parse_accept(",".join(mixed)) == parse_accept(",".join(cleaned))


@given(st.lists(well_formed_parts, max_size=6), FORMAT_SETS, st.randoms())
def test_case_and_whitespace_change_nothing(parts, available, random):
    header = ",".join(text for _, _, text in parts)
    shouted = "".join(char.upper() if random.random() < 0.5 else char for char in header).replace(",", " ,\t")
    shouted = shouted.replace(";", " ; ").replace("Q=", "q=" if random.random() < 0.5 else "Q=")

    assert parse_accept(shouted) == parse_accept(header)
    assert negotiate_format(shouted, available, RENDITION_MIME_TYPES, PREFERENCE) == negotiate_format(
        header, available, RENDITION_MIME_TYPES, PREFERENCE
    )


@given(st.lists(well_formed_parts, max_size=6), FORMAT_SETS, st.sampled_from(PREFERENCE))
def test_a_format_refused_with_q_0_is_never_chosen(parts, available, refused):
    others = [text for name, _, text in parts if name.lower() != RENDITION_MIME_TYPES[refused]]
    header = ",".join([*others, f"{RENDITION_MIME_TYPES[refused]};q=0"])

    assert negotiate_format(header, available, RENDITION_MIME_TYPES, PREFERENCE) != refused


@given(st.lists(well_formed_parts, max_size=6), FORMAT_SETS)
def test_the_choice_has_the_highest_weight_the_client_gives_any_available_format(parts, available):
    header = ",".join(text for _, _, text in parts)
    ranges = parse_accept(header)

    chosen = negotiate_format(header, available, RENDITION_MIME_TYPES, PREFERENCE)

    weights = {f: quality_of(ranges, RENDITION_MIME_TYPES[f], wildcards=f == "jpeg") for f in available}
    if chosen is None:
        assert all(weight == 0 for weight in weights.values())
    else:
        assert weights[chosen] == max(weights.values()) > 0
        better_ranked = PREFERENCE[: PREFERENCE.index(chosen)]
        assert all(weights[f] < weights[chosen] for f in better_ranked if f in available)


@given(st.lists(well_formed_parts, max_size=6), FORMAT_SETS, st.randoms())
def test_the_order_of_distinct_ranges_does_not_change_the_choice(parts, available, random):
    distinct = list({name.lower(): text for name, _, text in parts}.values())
    shuffled = random.sample(distinct, len(distinct))

    assert negotiate_format(",".join(shuffled), available, RENDITION_MIME_TYPES, PREFERENCE) == negotiate_format(
        ",".join(distinct), available, RENDITION_MIME_TYPES, PREFERENCE
    )


def test_the_most_specific_range_decides_a_types_weight():
    ranges = parse_accept("*/*;q=0.1, image/*;q=0.5, image/avif;q=0.9, image/webp;q=0")

    assert quality_of(ranges, "image/avif") == 0.9
    assert quality_of(ranges, "image/webp") == 0
    assert quality_of(ranges, "image/jpeg") == 0.5
    assert quality_of(ranges, "text/html") == 0.1
    assert quality_of(ranges, "image/jpeg", wildcards=False) == 0
    assert ranges[0] == MediaRange("*", "*", 0.1)
