"""Property-based tests of the RENDITIONS parser: what it accepts can be stored and means what it says."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from imgplat_common.keys import check_rendition_name
from imgplat_processing.rendition_specs import MAX_LONG_EDGE, RenditionSpec, parse_rendition_specs

names = st.text(alphabet=string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=32)
long_edges = st.integers(min_value=1, max_value=MAX_LONG_EDGE)
spec_lists = st.lists(st.tuples(names, long_edges), min_size=1, max_size=8, unique_by=lambda spec: spec[0])
other_digits = st.characters(categories=["Nd", "No"], exclude_characters=string.digits)


def _text(specs: list[tuple[str, int]], gap: str = "") -> str:
    return ",".join(f"{gap}{name}{gap}:{gap}{edge}{gap}" for name, edge in specs)


@given(spec_lists, st.sampled_from(["", " ", "  "]))
def test_every_well_formed_list_parses_to_its_names_and_edges_in_order(specs, gap):
    parsed = parse_rendition_specs(_text(specs, gap))
    assert parsed == tuple(RenditionSpec(name, edge) for name, edge in specs)


@given(st.text(max_size=80))
def test_any_text_is_refused_with_a_value_error_or_parses_to_storable_unique_specs(text):
    try:
        parsed = parse_rendition_specs(text)
    except ValueError:
        return
    assert all(check_rendition_name(spec.name) == spec.name for spec in parsed)
    assert len({spec.name for spec in parsed}) == len(parsed)
    assert all(1 <= spec.long_edge <= MAX_LONG_EDGE for spec in parsed)
    # What parses says exactly what it means: written back plainly, it parses to the same specs.
    assert parse_rendition_specs(_text([(spec.name, spec.long_edge) for spec in parsed])) == parsed


@given(spec_lists, st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=3))
def test_a_name_with_an_upper_case_letter_is_refused_when_the_list_is_read(specs, upper):
    name, edge = specs[0]
    with pytest.raises(ValueError):
        parse_rendition_specs(_text([((upper + name)[:32], edge), *specs[1:]]))


@given(spec_lists, st.text(alphabet=other_digits, min_size=1, max_size=4))
def test_a_long_edge_written_in_other_digits_than_ascii_is_refused(specs, digits):
    # int() reads Arabic-Indic or full-width digits; a config value that means 150 must be written 150.
    name, _ = specs[0]
    with pytest.raises(ValueError, match="name:long_edge"):
        parse_rendition_specs(",".join([f"{name}:{digits}", *(f"{n}:{e}" for n, e in specs[1:])]))
